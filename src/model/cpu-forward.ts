// CPU reference forward pass (llama2.c run.c semantics) built from the reference ops, and the
// CPU Backend. The GPU forward pass is checked against this one.
//
// State by lifetime (STYLE 7): Config and Weights come from the Model (read-only); each sequence
// owns a contiguous KV cache (SequenceKv); activations are scratch, allocated per call.
import type { Backend, StepEntry, StepResult } from './backend.js';
import { headDim, kvDim, type Model, type ModelConfig } from './config.js';
import { embedding, matmul, rmsnorm, rope, sample, softmaxInPlace, swiglu } from '../ops/reference.js';

/**
 * One sequence's KV cache, contiguous per layer: k[layer], v[layer]: (capacity, kvDim), row p
 * holding position p. Grown on demand (doubling) up to seqLen.
 */
export class SequenceKv {
  /** Tokens already in the cache. */
  length = 0;
  capacity = 0;
  k: Float32Array[] = [];
  v: Float32Array[] = [];

  constructor(readonly config: ModelConfig) {}

  /** Makes room for `n` positions in all (n <= seqLen). */
  reserve(n: number): void {
    if (n <= this.capacity) return;
    const cap = Math.min(this.config.seqLen, Math.max(n, 2 * this.capacity, 16));
    const kd = kvDim(this.config);
    const grow = (old: Float32Array | undefined): Float32Array => {
      const a = new Float32Array(cap * kd);
      if (old) a.set(old.subarray(0, this.length * kd));
      return a;
    };
    for (let l = 0; l < this.config.nLayers; l++) {
      this.k[l] = grow(this.k[l]);
      this.v[l] = grow(this.v[l]);
    }
    this.capacity = cap;
  }
}

/** Throws unless `tokens` are valid ids that fit in the sequence after its `length` tokens. */
export function checkTokens(c: ModelConfig, length: number, tokens: ArrayLike<number>, what = 'sequence'): void {
  if (tokens.length === 0) throw new Error(`${what}: no tokens to process`);
  if (length + tokens.length > c.seqLen) {
    throw new Error(
      `${what}: ${length} + ${tokens.length} tokens would exceed the model's context seq_len=${c.seqLen}`,
    );
  }
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (!Number.isInteger(t) || t < 0 || t >= c.vocabSize) {
      throw new RangeError(`${what}: token id ${t} out of range [0, ${c.vocabSize})`);
    }
  }
}

/**
 * Causal grouped-query attention of T query rows at positions start..start+T-1 over a
 * contiguous cache: q (T, nHeads·headDim), k/v cache (capacity, nKvHeads·headDim), positions
 * 0..pos inclusive; query head h reads kv head floor(h / (nHeads / nKvHeads)); scores scaled by
 * 1/sqrt(headDim). Returns (T, nHeads·headDim).
 */
export function attentionContiguous(
  c: ModelConfig,
  q: Float32Array,
  kCache: Float32Array,
  vCache: Float32Array,
  T: number,
  start: number,
): Float32Array {
  const hd = headDim(c);
  const kd = kvDim(c);
  const group = c.nHeads / c.nKvHeads;
  const scale = 1 / Math.sqrt(hd);
  const out = new Float32Array(T * c.dim);
  const scores = new Float32Array(start + T);
  for (let t = 0; t < T; t++) {
    const pos = start + t;
    for (let h = 0; h < c.nHeads; h++) {
      const qo = t * c.dim + h * hd;
      const kvo = Math.floor(h / group) * hd;
      for (let p = 0; p <= pos; p++) {
        const ko = p * kd + kvo;
        let s = 0;
        for (let d = 0; d < hd; d++) s += q[qo + d]! * kCache[ko + d]!;
        scores[p] = s * scale;
      }
      softmaxInPlace(scores, pos + 1);
      for (let p = 0; p <= pos; p++) {
        const vo = p * kd + kvo;
        const a = scores[p]!;
        for (let d = 0; d < hd; d++) out[qo + d] = out[qo + d]! + a * vCache[vo + d]!;
      }
    }
  }
  return out;
}

/**
 * Runs `tokens` through the model at positions kv.length.., appending their K/V to the cache.
 * Returns the logits (vocab) of the last token, or (T, vocab) of every token with allLogits.
 */
export function forward(
  model: Model,
  kv: SequenceKv,
  tokens: ArrayLike<number>,
  options: { allLogits?: boolean } = {},
): Float32Array {
  const c = model.config;
  const w = model.weights;
  checkTokens(c, kv.length, tokens);
  const T = tokens.length;
  const start = kv.length;
  const dim = c.dim;
  const kd = kvDim(c);
  const hd = headDim(c);
  const positions = Array.from({ length: T }, (_, t) => start + t);
  kv.reserve(start + T);

  let x = embedding(w.tokenEmbedding, tokens, dim); // (T, dim)
  for (let l = 0; l < c.nLayers; l++) {
    const lw = w.layers[l]!;
    // Attention block.
    let xb = rmsnorm(x, lw.rmsAtt, T, dim, c.normEps); // (T, dim)
    const q = matmul(xb, lw.wq, T, dim, dim); // (T, dim)
    const k = matmul(xb, lw.wk, T, kd, dim); // (T, kvDim)
    const v = matmul(xb, lw.wv, T, kd, dim); // (T, kvDim)
    rope(q, positions, T, c.nHeads, hd, c.ropeTheta);
    rope(k, positions, T, c.nKvHeads, hd, c.ropeTheta);
    kv.k[l]!.set(k, start * kd);
    kv.v[l]!.set(v, start * kd);
    const att = attentionContiguous(c, q, kv.k[l]!, kv.v[l]!, T, start); // (T, dim)
    x = matmul(att, lw.wo, T, dim, dim, x); // residual
    // Feed-forward block (SwiGLU).
    xb = rmsnorm(x, lw.rmsFfn, T, dim, c.normEps);
    const gate = matmul(xb, lw.w1, T, c.hiddenDim, dim); // (T, hidden)
    const up = matmul(xb, lw.w3, T, c.hiddenDim, dim); // (T, hidden)
    x = matmul(swiglu(gate, up), lw.w2, T, dim, c.hiddenDim, x); // residual
  }
  kv.length = start + T;

  const rows = options.allLogits ? T : 1;
  const last = options.allLogits ? x : x.subarray((T - 1) * dim, T * dim);
  const xf = rmsnorm(last, w.rmsFinal, rows, dim, c.normEps);
  return matmul(xf, w.wcls, rows, c.vocabSize, dim); // (rows, vocab)
}

export interface CpuBackendOptions {
  /** Sequences alive at once (default 64). */
  maxSequences?: number;
}

/** The CPU Backend: one SequenceKv per sequence, entries processed one after another. */
export class CpuBackend implements Backend {
  readonly kind = 'cpu' as const;
  readonly config: ModelConfig;
  readonly maxSequences: number;
  private readonly seqs = new Map<number, SequenceKv>();
  private nextId = 0;

  constructor(
    readonly model: Model,
    options: CpuBackendOptions = {},
  ) {
    this.config = model.config;
    this.maxSequences = options.maxSequences ?? 64;
  }

  newSequence(): number {
    if (this.seqs.size >= this.maxSequences) {
      throw new Error(`CpuBackend: all ${this.maxSequences} sequences are in use`);
    }
    const id = this.nextId++;
    this.seqs.set(id, new SequenceKv(this.config));
    return id;
  }

  freeSequence(seq: number): void {
    if (!this.seqs.delete(seq)) throw new Error(`CpuBackend: unknown sequence ${seq}`);
  }

  length(seq: number): number {
    return this.get(seq).length;
  }

  private get(seq: number): SequenceKv {
    const s = this.seqs.get(seq);
    if (!s) throw new Error(`CpuBackend: unknown sequence ${seq}`);
    return s;
  }

  async step(entries: StepEntry[], options: { wantLogits?: boolean } = {}): Promise<StepResult> {
    // Validate every entry before touching any cache, so a bad step changes nothing.
    const seen = new Set<number>();
    for (const e of entries) {
      const s = this.get(e.seq);
      if (seen.has(e.seq)) throw new Error(`CpuBackend: sequence ${e.seq} appears twice in one step`);
      seen.add(e.seq);
      checkTokens(this.config, s.length, e.tokens, `CpuBackend sequence ${e.seq}`);
    }
    const V = this.config.vocabSize;
    const next = new Uint32Array(entries.length);
    const logits = options.wantLogits ? new Float32Array(entries.length * V) : undefined;
    entries.forEach((e, i) => {
      const out = forward(this.model, this.get(e.seq), e.tokens);
      next[i] = sample(out, e.temperature, e.topP, e.u);
      logits?.set(out, i * V);
    });
    return logits ? { next, logits } : { next };
  }

  destroy(): void {
    this.seqs.clear();
  }
}
