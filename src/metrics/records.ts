// Records the engine (live) and the simulator (virtual) emit, and everything in metrics/ and
// econ/ is computed from. Times are seconds on the run's clock (wall clock for the live engine,
// virtual time in the simulator), measured from the start of the run.

/** One engine step: a batch of sequences advanced together in one submission. */
export interface StepRecord {
  /** Index of the step in its run (and GPU, in the simulator). */
  index: number;
  /** Which GPU of a fleet ran it (0 for the live engine). */
  gpu: number;
  start: number;
  end: number;
  /**
   * GPU execution time of the step, s: from timestamp queries, or submit->done wall time, or the
   * simulator's step-time model (see `timing`).
   */
  busy: number;
  timing: 'timestamp' | 'wall' | 'model';
  /** Sequences in the step. */
  batchSize: number;
  /** Sequences that decoded one token. */
  decodeTokens: number;
  /**
   * Output tokens sampled by the step: one per decoding sequence plus one per prefill chunk that
   * ended its sequence's known tokens (a request's first token, or the next token after a
   * recompute prefill following a preemption). Summed over steps it equals the tokens sampled.
   */
  outputTokens: number;
  /** Prompt tokens processed (all prefill chunks). */
  prefillTokens: number;
  /** Sum over the step's sequences of their context length after the step. */
  contextTokens: number;
  /** Requests waiting in the queue when the step began. */
  queueDepth: number;
  /** KV blocks in use after the step, and the total. */
  kvBlocksUsed: number;
  kvBlocksTotal: number;
}

export type RequestStatus = 'finished' | 'rejected' | 'aborted' | 'running' | 'queued';

/** One request's life. */
export interface RequestRecord {
  id: number;
  tenant: number;
  arrival: number;
  /** First output token produced (undefined until then). */
  firstToken?: number;
  /** Last output token produced / request finished. */
  finish?: number;
  promptTokens: number;
  /** Output tokens produced. */
  outputTokens: number;
  /** Output tokens asked for. */
  maxOutputTokens: number;
  status: RequestStatus;
  /** Times the request was preempted (its KV dropped, to be recomputed). */
  preemptions: number;
  /** Why it was rejected, when it was. */
  rejectReason?: string;
}
