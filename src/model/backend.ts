// The interface both forward passes (CPU reference, GPU) implement. One call to step() is one
// engine step: every listed sequence is advanced by its tokens (1 for decode, several for a
// prefill chunk) and the next token of each entry is sampled from the logits of its last token.
// The caller decides where K/V goes (StepEntry.blocks): a backend keeps no block allocator.
import type { ModelConfig } from './config.js';

export interface StepEntry {
  /** Sequence id from newSequence(). */
  seq: number;
  /** Tokens appended at the sequence's current length, in order. */
  tokens: number[];
  /** Sampling for this entry (see src/ops/reference.ts `sample`): temperature <= 0 is greedy. */
  temperature: number;
  topP: number;
  /** Uniform random number in [0, 1) used by the sampler. */
  u: number;
  /**
   * The sequence's KV block table, from whoever owns the cache's blocks (the scheduler, through
   * Engine): physical block ids in position order, covering positions [0, length + tokens) at
   * least. A paged backend (GpuBackend) writes and reads this sequence's K/V only there, and
   * without a table uses a fixed per-sequence range of its own (see GpuBackend); a backend with
   * contiguous caches (CpuBackend) ignores it.
   */
  blocks?: ArrayLike<number>;
}

export interface StepResult {
  /** Next token per entry, sampled from the logits of the entry's last token. */
  next: Uint32Array;
  /** (entries, vocab) logits of each entry's last token, when asked for. */
  logits?: Float32Array;
}

export interface Backend {
  readonly kind: 'cpu' | 'gpu';
  readonly config: ModelConfig;
  /** Maximum number of sequences that can be alive at once. */
  readonly maxSequences: number;
  /** Allocates a sequence (empty context) and returns its id. */
  newSequence(): number;
  /** Frees a sequence and its KV cache. */
  freeSequence(seq: number): void;
  /** Current length (tokens in the KV cache) of a sequence. */
  length(seq: number): number;
  step(entries: StepEntry[], options?: { wantLogits?: boolean }): Promise<StepResult>;
  /**
   * Busy time of the last step() in seconds, where the backend measures it (the GPU backend: GPU
   * timestamps, or submit-to-done wall time labelled 'wall').
   */
  readonly lastStepMeasure?: { busy: number; timing: 'timestamp' | 'wall' };
  destroy(): void;
}
