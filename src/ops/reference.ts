// Plain TypeScript CPU references for every GPU kernel. Each function states the exact
// semantics the WGSL kernel must reproduce; the GPU tests compare against these on seeded random
// shapes, and the CPU reference forward pass (src/model/cpu-forward.ts) is built from them.
// All matrices are row-major float32.

/** y(M, N) = x(M, K) · w(N, K)ᵀ [+ residual(M, N)]. Weights are stored (out, in) as in llama2.c. */
export function matmul(
  x: Float32Array,
  w: Float32Array,
  M: number,
  N: number,
  K: number,
  residual?: Float32Array,
): Float32Array {
  const y = new Float32Array(M * N);
  for (let m = 0; m < M; m++) {
    const xo = m * K;
    for (let n = 0; n < N; n++) {
      const wo = n * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += x[xo + k]! * w[wo + k]!;
      y[m * N + n] = residual ? s + residual[m * N + n]! : s;
    }
  }
  return y;
}

/** out(rows, dim) = x · weight / sqrt(mean(x²) + eps), row by row. */
export function rmsnorm(x: Float32Array, weight: Float32Array, rows: number, dim: number, eps = 1e-5): Float32Array {
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += x[r * dim + i]! ** 2;
    const inv = 1 / Math.sqrt(ss / dim + eps);
    for (let i = 0; i < dim; i++) out[r * dim + i] = x[r * dim + i]! * inv * weight[i]!;
  }
  return out;
}

/**
 * Rotary position embedding, in place, llama2.c convention: within each head, the pair
 * (2i, 2i+1) is rotated by angle pos · theta^(-2i/headDim). x is (rows, nHeads·headDim) and
 * positions[r] is row r's position.
 */
export function rope(
  x: Float32Array,
  positions: ArrayLike<number>,
  rows: number,
  nHeads: number,
  headDim: number,
  theta = 10000,
): Float32Array {
  const width = nHeads * headDim;
  for (let r = 0; r < rows; r++) {
    const pos = positions[r]!;
    for (let h = 0; h < nHeads; h++) {
      for (let i = 0; i < headDim; i += 2) {
        const freq = 1 / Math.pow(theta, i / headDim);
        const a = pos * freq;
        const c = Math.cos(a);
        const s = Math.sin(a);
        const o = r * width + h * headDim + i;
        const v0 = x[o]!;
        const v1 = x[o + 1]!;
        x[o] = v0 * c - v1 * s;
        x[o + 1] = v0 * s + v1 * c;
      }
    }
  }
  return x;
}

/** out = silu(gate) · up, elementwise; silu(g) = g / (1 + e^-g). */
export function swiglu(gate: Float32Array, up: Float32Array): Float32Array {
  const out = new Float32Array(gate.length);
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i]!;
    out[i] = (g / (1 + Math.exp(-g))) * up[i]!;
  }
  return out;
}

/** out(T, dim) = table[tokens[t]] (table is (vocab, dim)). */
export function embedding(table: Float32Array, tokens: ArrayLike<number>, dim: number): Float32Array {
  const out = new Float32Array(tokens.length * dim);
  for (let t = 0; t < tokens.length; t++) out.set(table.subarray(tokens[t]! * dim, (tokens[t]! + 1) * dim), t * dim);
  return out;
}

/** Elementwise a + b. */
export function add(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + b[i]!;
  return out;
}

/** Numerically stable softmax of x[0..n), in place. */
export function softmaxInPlace(x: Float32Array, n = x.length): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (x[i]! > max) max = x[i]!;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp(x[i]! - max);
    x[i] = e;
    sum += e;
  }
  for (let i = 0; i < n; i++) x[i] = x[i]! / sum;
  return x;
}

/**
 * Paged KV cache layout shared by the GPU kernels and this reference.
 * kCache, vCache: (numBlocks, blockSize, nKvHeads, headDim) for one layer.
 * blockTable: (maxSeqs, maxBlocksPerSeq) u32, physical block of each logical block of a slot.
 */
export interface PagedLayout {
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  blockSize: number;
  maxBlocksPerSeq: number;
}

/** Offset (in floats) of position `pos` of slot `slot`, kv head `kvh`, in a paged cache. */
export function pagedOffset(L: PagedLayout, blockTable: Uint32Array, slot: number, pos: number, kvh: number): number {
  const block = blockTable[slot * L.maxBlocksPerSeq + Math.floor(pos / L.blockSize)]!;
  return ((block * L.blockSize + (pos % L.blockSize)) * L.nKvHeads + kvh) * L.headDim;
}

/**
 * Writes k, v rows (T, nKvHeads·headDim) into the paged cache at each token's (slot, pos).
 */
export function kvWrite(
  L: PagedLayout,
  k: Float32Array,
  v: Float32Array,
  kCache: Float32Array,
  vCache: Float32Array,
  blockTable: Uint32Array,
  tokSlot: ArrayLike<number>,
  tokPos: ArrayLike<number>,
): void {
  const kvDim = L.nKvHeads * L.headDim;
  for (let t = 0; t < tokSlot.length; t++) {
    for (let h = 0; h < L.nKvHeads; h++) {
      const o = pagedOffset(L, blockTable, tokSlot[t]!, tokPos[t]!, h);
      for (let d = 0; d < L.headDim; d++) {
        kCache[o + d] = k[t * kvDim + h * L.headDim + d]!;
        vCache[o + d] = v[t * kvDim + h * L.headDim + d]!;
      }
    }
  }
}

/**
 * Causal attention over a paged cache. Query row t (T, nHeads·headDim) belongs to slot
 * tokSlot[t] at position tokPos[t] and attends to positions 0..tokPos[t] inclusive of its slot
 * (whose K/V must already be in the cache). Query head h reads kv head floor(h / (nHeads/nKvHeads)).
 * Scores are scaled by 1/sqrt(headDim). Decode (one query per sequence) and prefill chunks
 * (consecutive positions of one sequence) are both instances of this.
 */
export function attentionPaged(
  L: PagedLayout,
  q: Float32Array,
  kCache: Float32Array,
  vCache: Float32Array,
  blockTable: Uint32Array,
  tokSlot: ArrayLike<number>,
  tokPos: ArrayLike<number>,
): Float32Array {
  const { nHeads, headDim } = L;
  const group = nHeads / L.nKvHeads;
  const out = new Float32Array(tokSlot.length * nHeads * headDim);
  const scale = 1 / Math.sqrt(headDim);
  for (let t = 0; t < tokSlot.length; t++) {
    const slot = tokSlot[t]!;
    const pos = tokPos[t]!;
    const scores = new Float32Array(pos + 1);
    for (let h = 0; h < nHeads; h++) {
      const kvh = Math.floor(h / group);
      const qo = (t * nHeads + h) * headDim;
      for (let p = 0; p <= pos; p++) {
        const ko = pagedOffset(L, blockTable, slot, p, kvh);
        let s = 0;
        for (let d = 0; d < headDim; d++) s += q[qo + d]! * kCache[ko + d]!;
        scores[p] = s * scale;
      }
      softmaxInPlace(scores, pos + 1);
      for (let p = 0; p <= pos; p++) {
        const vo = pagedOffset(L, blockTable, slot, p, kvh);
        const a = scores[p]!;
        for (let d = 0; d < headDim; d++) out[qo + d] = out[qo + d]! + a * vCache[vo + d]!;
      }
    }
  }
  return out;
}

/** Index of the largest value; the lowest index wins ties. */
export function argmax(x: ArrayLike<number>, offset = 0, n = x.length - offset): number {
  let best = 0;
  let bv = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = x[offset + i]!;
    if (v > bv) {
      bv = v;
      best = i;
    }
  }
  return best;
}

/**
 * Sampling, defined exactly so that the GPU kernel can reproduce it:
 * - temperature <= 0: argmax.
 * - otherwise p = softmax(logits / temperature). With 0 < topP < 1 the candidate set is the
 *   nucleus S = { i : p_i >= tau }, where tau is the largest value such that the mass of S is at
 *   least topP (the smallest set of most likely tokens reaching topP, ties included); otherwise S
 *   is every token. The token is the first i of S, in index order, whose running sum of p over S
 *   exceeds u · mass(S), where u in [0, 1) is the caller's uniform random number.
 */
export function sample(logits: ArrayLike<number>, temperature: number, topP: number, u: number): number {
  const n = logits.length;
  if (temperature <= 0) return argmax(logits);
  const p = new Float32Array(n);
  for (let i = 0; i < n; i++) p[i] = logits[i]! / temperature;
  softmaxInPlace(p);
  let tau = 0;
  if (topP > 0 && topP < 1) {
    const sorted = Float32Array.from(p).sort().reverse();
    let cum = 0;
    tau = sorted[n - 1]!;
    for (let i = 0; i < n; i++) {
      cum += sorted[i]!;
      if (cum >= topP) {
        tau = sorted[i]!;
        break;
      }
    }
  }
  let mass = 0;
  for (let i = 0; i < n; i++) if (p[i]! >= tau) mass += p[i]!;
  const target = u * mass;
  let cum = 0;
  let last = 0;
  for (let i = 0; i < n; i++) {
    if (p[i]! < tau) continue;
    cum += p[i]!;
    last = i;
    if (cum > target) return i;
  }
  return last;
}
