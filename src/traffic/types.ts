// A request as traffic describes it, before any engine sees it.

export interface TraceRequest {
  /** Arrival time in seconds from the start of the trace. */
  arrival: number;
  /** Prompt (context) tokens. */
  promptTokens: number;
  /** Output (generated) tokens. */
  outputTokens: number;
  /** Tenant id, when the source says (generators and multi-tenant mixes set it). */
  tenant?: number;
}

/** A parsed trace: its requests sorted by arrival, and what was wrong with the input. */
export interface Trace {
  /** Where it came from (file name or generator description), for messages and the UI. */
  source: string;
  format: 'azure' | 'mooncake' | 'burstgpt' | 'json' | 'generated';
  requests: TraceRequest[];
  /** Rows that could not be used, with their line numbers (1-based, header included) and why. */
  badRows: { line: number; reason: string; text: string }[];
}
