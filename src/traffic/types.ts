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
  /** Model the request was sent to, when the source says (BurstGPT's `Model`). */
  model?: string;
  /** Number of KV-cache block hashes the source lists (Mooncake's `hash_ids` length). */
  hashBlocks?: number;
  /** The source records this request as failed (BurstGPT: `Response tokens` 0); kept only on request. */
  failed?: boolean;
}

/** Usable rows a parser left out on purpose (a filter or a policy), counted so none vanish silently. */
export interface SkippedRows {
  reason: string;
  count: number;
  /** The first few line numbers (1-based, header included), for messages. */
  firstLines: number[];
}

/** A parsed trace: its requests sorted by arrival, and what was wrong with the input. */
export interface Trace {
  /** Where it came from (file name or generator description), for messages and the UI. */
  source: string;
  format: 'azure' | 'mooncake' | 'burstgpt' | 'json' | 'generated';
  requests: TraceRequest[];
  /** Rows that could not be used, with their line numbers (1-based, header included) and why. */
  badRows: { line: number; reason: string; text: string }[];
  /**
   * Length of the window the trace covers, s, when the source says (generators, project JSON);
   * otherwise the trace ends at its last arrival.
   */
  durationS?: number;
  /** Good rows left out by a filter or policy (BurstGPT model filter, failed requests). */
  skipped?: SkippedRows[];
  /** Other things a reader should know (e.g. "input was not in arrival order; sorted"). */
  notes?: string[];
}
