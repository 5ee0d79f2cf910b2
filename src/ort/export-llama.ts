// ONNX export of a loaded llama2.c model with the same weights, built from standard ONNX ops
// (opset 17, default domain only) so onnxruntime-web can run it as an independent engine.
//
// The math is the CPU reference's (src/model/cpu-forward.ts): RMSNorm x·w/sqrt(mean(x²)+eps);
// RoPE rotating pairs (2i, 2i+1) of every head by pos·theta^(-2i/headDim); grouped-query
// attention (query head h reads kv head floor(h/group)) scaled by 1/sqrt(headDim) under a causal
// mask; SwiGLU silu(x·w1ᵀ)·(x·w3ᵀ)·w2ᵀ; residual adds; classifier on the final RMSNorm.
//
// Graph interface (batch 1; T tokens this call, P tokens already cached, S = P + T):
//   input_ids        int64 (1, T)
//   position_ids     int64 (1, T)              kvCache only: positions P..P+T-1
//   past_key.<l>     f32   (1, nKvHeads, P, hd) kvCache only, one per layer; P may be 0
//   past_value.<l>   f32   (1, nKvHeads, P, hd)
//   logits           f32   (1, T, vocab)       every token's logits
//   present_key.<l>  f32   (1, nKvHeads, S, hd) kvCache only: past with this call's K appended
//   present_value.<l>f32   (1, nKvHeads, S, hd)
// Without a KV cache the positions are 0..T-1 and the graph recomputes the whole prefix.
//
// Weights: every matrix becomes a (in, out) initializer (the transpose of llama2.c's (out, in)),
// so each projection is one MatMul(x, Wᵀ). The classifier gets its own transposed copy even when
// it shares the token embedding. RoPE cos/sin tables (seqLen, hd/2) and an additive causal mask
// (seqLen, seqLen) are initializers gathered by position id.
import { headDim, kvDim, type Model } from '../model/config.js';
import { attr, GraphBuilder } from './onnx-writer.js';

export interface ExportOptions {
  /** Incremental decode: past/present K/V per layer and explicit position ids. */
  kvCache: boolean;
}

/** Additive mask value for future positions: exp(score − 1e9 − max) is exactly 0 in f32. */
const MASKED = -1e9;

/** Names of the graph's inputs and outputs, for callers that feed it. */
export const OnnxNames = {
  inputIds: 'input_ids',
  positionIds: 'position_ids',
  logits: 'logits',
  pastKey: (l: number): string => `past_key.${l}`,
  pastValue: (l: number): string => `past_value.${l}`,
  presentKey: (l: number): string => `present_key.${l}`,
  presentValue: (l: number): string => `present_value.${l}`,
};

/** (rows, cols) row-major → (cols, rows) row-major. */
function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = a[o + c]!;
  }
  return out;
}

/** Serialises `model` as an ONNX model (see the header for its inputs and outputs). */
export function exportLlamaOnnx(model: Model, options: ExportOptions): Uint8Array {
  const c = model.config;
  const w = model.weights;
  const hd = headDim(c);
  const kd = kvDim(c);
  const half = hd / 2;
  const group = c.nHeads / c.nKvHeads;
  if (!Number.isInteger(hd) || hd % 2 !== 0) throw new Error(`${model.source}: head dim ${hd} must be an even integer`);
  if (!Number.isInteger(group)) throw new Error(`${model.source}: nHeads ${c.nHeads} is not a multiple of nKvHeads ${c.nKvHeads}`);

  const g = new GraphBuilder(`llama2c_${options.kvCache ? 'kv' : 'full'}`);
  const i64 = (...v: number[]): string => g.int64s(v);

  // ---- Inputs and positions.
  const inputIds = g.input(OnnxNames.inputIds, 'INT64', [1, 'T']); // (1, T)
  let positionIds: string; // (1, T) int64
  if (options.kvCache) {
    positionIds = g.input(OnnxNames.positionIds, 'INT64', [1, 'T']);
  } else {
    // positions 0..T-1 from the input's shape
    const shape = g.op('Shape', [inputIds], undefined, 'ids_shape'); // (2)
    const T = g.op('Gather', [shape, g.initializer('one', 'INT64', [], BigInt64Array.of(1n))], { axis: attr.int(0) }, 'T');
    const range = g.op('Range', [g.initializer('zero', 'INT64', [], BigInt64Array.of(0n)), T, g.initializer('step', 'INT64', [], BigInt64Array.of(1n))], undefined, 'positions'); // (T)
    positionIds = g.op('Unsqueeze', [range, i64(0)], undefined, 'position_ids'); // (1, T)
  }

  // ---- Tables gathered by position: RoPE cos/sin (seqLen, hd/2) and the causal mask (seqLen, seqLen).
  const cosT = new Float32Array(c.seqLen * half);
  const sinT = new Float32Array(c.seqLen * half);
  for (let p = 0; p < c.seqLen; p++) {
    for (let i = 0; i < half; i++) {
      const a = p * (1 / Math.pow(c.ropeTheta, (2 * i) / hd));
      cosT[p * half + i] = Math.cos(a);
      sinT[p * half + i] = Math.sin(a);
    }
  }
  const mask = new Float32Array(c.seqLen * c.seqLen);
  for (let p = 0; p < c.seqLen; p++) mask.fill(MASKED, p * c.seqLen + p + 1, (p + 1) * c.seqLen);
  // (1, T, 1, hd/2, 1): broadcast over heads and over the pair's two members.
  const ropeShape = i64(1, -1, 1, half, 1);
  const cos = g.op('Reshape', [g.op('Gather', [g.floats('rope_cos', [c.seqLen, half], cosT), positionIds], { axis: attr.int(0) }), ropeShape], undefined, 'cos');
  const sin = g.op('Reshape', [g.op('Gather', [g.floats('rope_sin', [c.seqLen, half], sinT), positionIds], { axis: attr.int(0) }), ropeShape], undefined, 'sin');
  const maskRows = g.op('Gather', [g.floats('causal_mask', [c.seqLen, c.seqLen], mask), positionIds], { axis: attr.int(0) }, 'mask_rows'); // (1, T, seqLen)

  const eps = g.scalar(c.normEps);
  const rmsnorm = (x: string, weight: Float32Array, name: string): string => {
    const ms = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: attr.ints([-1]), keepdims: attr.int(1) }, `${name}_ms`);
    const inv = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [ms, eps])])], undefined, `${name}_inv`);
    return g.op('Mul', [g.op('Mul', [x, inv]), g.floats(name, [c.dim], weight)], undefined, `${name}_out`);
  };
  /** x (1, T, in) · W(out, in)ᵀ → (1, T, out). */
  const linear = (x: string, wt: Float32Array, out: number, inDim: number, name: string): string =>
    g.op('MatMul', [x, g.floats(name, [inDim, out], transpose(wt, out, inDim))], undefined, `${name}_out`);
  /** x (1, T, heads·hd) → RoPE'd (1, T, heads, hd). */
  const rope = (x: string, heads: number, name: string): string => {
    const pairs = g.op('Reshape', [x, i64(1, -1, heads, half, 2)], undefined, `${name}_pairs`); // (1, T, heads, hd/2, 2)
    const x0 = g.op('Slice', [pairs, i64(0), i64(1), i64(4)], undefined, `${name}_x0`); // (1, T, heads, hd/2, 1)
    const x1 = g.op('Slice', [pairs, i64(1), i64(2), i64(4)], undefined, `${name}_x1`);
    const r0 = g.op('Sub', [g.op('Mul', [x0, cos]), g.op('Mul', [x1, sin])], undefined, `${name}_r0`); // x0·cos − x1·sin
    const r1 = g.op('Add', [g.op('Mul', [x0, sin]), g.op('Mul', [x1, cos])], undefined, `${name}_r1`); // x0·sin + x1·cos
    const rot = g.op('Concat', [r0, r1], { axis: attr.int(4) }, `${name}_rot`);
    return g.op('Reshape', [rot, i64(1, -1, heads, hd)], undefined, `${name}_rope`);
  };

  // ---- Layers.
  let x = g.op('Gather', [g.floats('tok_embeddings', [c.vocabSize, c.dim], w.tokenEmbedding), inputIds], { axis: attr.int(0) }, 'x'); // (1, T, dim)
  let keyLength: string | undefined; // (1) int64: S
  let maskS: string | undefined; // (1, T, S)
  const scale = g.scalar(1 / Math.sqrt(hd));
  for (let l = 0; l < c.nLayers; l++) {
    const lw = w.layers[l]!;
    const p = `layers.${l}`;
    // Attention block.
    const xb = rmsnorm(x, lw.rmsAtt, `${p}.attention_norm`);
    const q = rope(linear(xb, lw.wq, c.dim, c.dim, `${p}.wq`), c.nHeads, `${p}.q`); // (1, T, nHeads, hd)
    const k = rope(linear(xb, lw.wk, kd, c.dim, `${p}.wk`), c.nKvHeads, `${p}.k`); // (1, T, nKv, hd)
    const v = g.op('Reshape', [linear(xb, lw.wv, kd, c.dim, `${p}.wv`), i64(1, -1, c.nKvHeads, hd)], undefined, `${p}.v`);
    const qh = g.op('Transpose', [q], { perm: attr.ints([0, 2, 1, 3]) }, `${p}.qh`); // (1, nHeads, T, hd)
    let kh = g.op('Transpose', [k], { perm: attr.ints([0, 2, 1, 3]) }, `${p}.kh`); // (1, nKv, T, hd)
    let vh = g.op('Transpose', [v], { perm: attr.ints([0, 2, 1, 3]) }, `${p}.vh`);
    if (options.kvCache) {
      const pk = g.input(OnnxNames.pastKey(l), 'FLOAT', [1, c.nKvHeads, 'P', hd]);
      const pv = g.input(OnnxNames.pastValue(l), 'FLOAT', [1, c.nKvHeads, 'P', hd]);
      kh = g.op('Concat', [pk, kh], { axis: attr.int(2) }, `${p}.present_k`); // (1, nKv, S, hd)
      vh = g.op('Concat', [pv, vh], { axis: attr.int(2) }, `${p}.present_v`);
      g.output(kh, OnnxNames.presentKey(l), 'FLOAT', [1, c.nKvHeads, 'S', hd]);
      g.output(vh, OnnxNames.presentValue(l), 'FLOAT', [1, c.nKvHeads, 'S', hd]);
    }
    if (!keyLength || !maskS) {
      keyLength = g.op('Shape', [kh], { start: attr.int(2), end: attr.int(3) }, 'key_length'); // (1): S
      maskS = g.op('Slice', [maskRows, i64(0), keyLength, i64(2)], undefined, 'mask'); // (1, T, S)
    }
    if (group > 1) {
      // (1, nKv, S, hd) → (1, nKv, group, S, hd) → (1, nHeads, S, hd): query head h reads kv head h / group.
      const rep = (t: string, name: string): string =>
        g.op('Reshape', [g.op('Expand', [g.op('Unsqueeze', [t, i64(2)]), i64(1, 1, group, 1, 1)]), i64(1, c.nHeads, -1, hd)], undefined, name);
      kh = rep(kh, `${p}.k_rep`);
      vh = rep(vh, `${p}.v_rep`);
    }
    const kt = g.op('Transpose', [kh], { perm: attr.ints([0, 1, 3, 2]) }, `${p}.kt`); // (1, nHeads, hd, S)
    const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [qh, kt]), scale]), maskS], undefined, `${p}.scores`); // (1, nHeads, T, S)
    const probs = g.op('Softmax', [scores], { axis: attr.int(-1) }, `${p}.probs`);
    const att = g.op('Transpose', [g.op('MatMul', [probs, vh])], { perm: attr.ints([0, 2, 1, 3]) }, `${p}.att`); // (1, T, nHeads, hd)
    const attFlat = g.op('Reshape', [att, i64(1, -1, c.dim)], undefined, `${p}.att_flat`); // (1, T, dim)
    x = g.op('Add', [x, linear(attFlat, lw.wo, c.dim, c.dim, `${p}.wo`)], undefined, `${p}.x_att`);
    // Feed-forward block (SwiGLU).
    const xf = rmsnorm(x, lw.rmsFfn, `${p}.ffn_norm`);
    const gate = linear(xf, lw.w1, c.hiddenDim, c.dim, `${p}.w1`); // (1, T, hidden)
    const up = linear(xf, lw.w3, c.hiddenDim, c.dim, `${p}.w3`);
    const h = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up], undefined, `${p}.swiglu`);
    x = g.op('Add', [x, linear(h, lw.w2, c.dim, c.hiddenDim, `${p}.w2`)], undefined, `${p}.x_ffn`);
  }

  const xn = rmsnorm(x, w.rmsFinal, 'norm');
  const logits = linear(xn, w.wcls, c.vocabSize, c.dim, 'output');
  g.output(logits, OnnxNames.logits, 'FLOAT', [1, 'T', c.vocabSize]);
  return g.encode({ docString: `${model.source} (llama2.c architecture), exported by Multiplex` });
}
