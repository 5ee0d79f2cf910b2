// The lab's capacity in the simulator's unit of useful work (DESIGN.md "Work of a request"): a
// request's work is the GPU-seconds it costs this device running at its saturated efficiency,
// from the lab's calibration. Capacity utilization = work served ÷ wall time (one GPU).

/** Work of lab requests on this device, s. */
export interface RequestWorkModel {
  /** Work of a whole prompt of `promptTokens` tokens (prefilled at full-chunk speed). */
  prefillS(promptTokens: number): number;
  /** Work of each output token after the first, for a request of P prompt and M output tokens. */
  decodeS(promptTokens: number, outputTokens: number): number;
}
