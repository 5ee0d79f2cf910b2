// A Backend whose step times the test sets: each step advances a fake millisecond clock by the
// calibrated model's time of the step's shape (a + b·decode + c·prefill + d·context + e·[prefill],
// seconds) times `factor`, and times `mixedFactor` for a step that decodes and prefills together
// (a cost the linear model cannot fit). No arithmetic is done on tokens. It checks what a real backend would
// refuse: unknown sequences, more sequences than maxSequences, positions past the context.
import type { Backend, StepEntry, StepResult } from '../../src/model/backend.js';
import type { ModelConfig } from '../../src/model/config.js';

export interface FakeTimes {
  a: number;
  b: number;
  c: number;
  d: number;
  e: number;
}

export class FakeBackend implements Backend {
  readonly kind = 'cpu' as const;
  readonly config: ModelConfig;
  readonly maxSequences: number;
  readonly numBlocks: number;
  readonly blockSize = 16;
  /** Fake time, ms: calibrate's `now`. */
  ms = 0;
  /** Multiplies every step's time (a test changes it between rounds). */
  factor = 1;
  /** Multiplies the time of steps with both decodes and prompt tokens (default 1). */
  mixedFactor = 1;
  steps = 0;
  private readonly lengths = new Map<number, number>();
  private nextSeq = 1;

  constructor(
    readonly times: FakeTimes,
    options: { maxSequences: number; seqLen?: number; numBlocks?: number },
  ) {
    this.maxSequences = options.maxSequences;
    const seqLen = options.seqLen ?? 256;
    this.config = { dim: 16, hiddenDim: 32, nLayers: 1, nHeads: 2, nKvHeads: 1, vocabSize: 64, seqLen, sharedClassifier: true, normEps: 1e-5, ropeTheta: 10000 };
    this.numBlocks = options.numBlocks ?? this.maxSequences * Math.ceil(seqLen / this.blockSize);
  }

  now = (): number => this.ms;

  newSequence(): number {
    if (this.lengths.size >= this.maxSequences) throw new Error(`fake backend: more than ${this.maxSequences} sequences at once`);
    const id = this.nextSeq++;
    this.lengths.set(id, 0);
    return id;
  }

  freeSequence(seq: number): void {
    this.lengths.delete(seq);
  }

  /** Sequences alive now. */
  get sequences(): number {
    return this.lengths.size;
  }

  length(seq: number): number {
    const n = this.lengths.get(seq);
    if (n === undefined) throw new Error(`fake backend: unknown sequence ${seq}`);
    return n;
  }

  /** Seconds of a step of this shape, before `factor`. */
  shapeSeconds(decode: number, prefill: number, context: number): number {
    const t = this.times;
    return t.a + t.b * decode + t.c * prefill + t.d * context + (prefill > 0 ? t.e : 0);
  }

  async step(entries: StepEntry[]): Promise<StepResult> {
    let decode = 0;
    let prefill = 0;
    let context = 0;
    for (const e of entries) {
      const len = this.length(e.seq);
      const after = len + e.tokens.length;
      if (after > this.config.seqLen) throw new Error(`fake backend: sequence ${e.seq} would reach ${after} positions (context ${this.config.seqLen})`);
      if (e.tokens.length === 1 && len > 0) decode++;
      else prefill += e.tokens.length;
      context += after;
      this.lengths.set(e.seq, after);
    }
    const mixed = decode > 0 && prefill > 0 ? this.mixedFactor : 1;
    this.ms += 1000 * this.factor * mixed * this.shapeSeconds(decode, prefill, context);
    this.steps++;
    return { next: new Uint32Array(entries.length).fill(5) };
  }

  destroy(): void {}
}

/** Step times like mx-tiny's on SwiftShader (seconds). */
export const SWIFTSHADER_LIKE: FakeTimes = { a: 0.005, b: 0.0004, c: 0.0008, d: 1e-5, e: 0.02 };
