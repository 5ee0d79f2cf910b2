// llama2.c checkpoints: parsing (with validation at the file boundary) and writing.
//
// Two formats are read:
// - legacy (run.c / export.py legacy_export): header of 7 int32
//     (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len),
//   vocab_size < 0 meaning an unshared classifier; then fp32 weights in run.c's
//   memory_map_weights order:
//     token_embedding (vocab, dim), rms_att (layer, dim), wq (layer, dim, dim),
//     wk (layer, kvDim, dim), wv (layer, kvDim, dim), wo (layer, dim, dim), rms_ffn (layer, dim),
//     w1 (layer, hidden, dim), w2 (layer, dim, hidden), w3 (layer, hidden, dim), rms_final (dim),
//     freq_cis_real (seq_len, headDim/2), freq_cis_imag (seq_len, headDim/2)  [skipped],
//     wcls (vocab, dim)  [only when unshared].
// - version 1 (export.py version1_export): 256-byte header: uint32 magic 0x616b3432, int32
//   version = 1, the same 7 int32 (vocab_size positive), uint8 shared_classifier, zero padding;
//   then fp32: rms_att (layer, dim), rms_ffn (layer, dim), rms_final (dim), token_embedding,
//   wq, wk, wv, wo, w1, w2, w3 (each (layer, ...)), then wcls when unshared.
// Version 2 (int8, grouped quantization) is recognised and refused.
//
// Weights are Float32Array views into the given buffer (zero copy; every offset is a multiple
// of 4 bytes in both formats). Files are little-endian, as written by export.py.
import type { LayerWeights, Model, ModelConfig } from './config.js';

export const CHECKPOINT_MAGIC = 0x616b3432; // "ak42" as a little-endian uint32
export const LEGACY_HEADER_BYTES = 7 * 4;
export const V1_HEADER_BYTES = 256;

/** Upper bounds beyond which a header value is taken as corruption, not as a model. */
export const MAX_DIMS = {
  dim: 1 << 16,
  hiddenDim: 1 << 18,
  nLayers: 1024,
  vocabSize: 1 << 22,
  seqLen: 1 << 20,
} as const;

/** Device limits a model's tensors must respect (GPUSupportedLimits names). */
export interface CheckpointLimits {
  maxStorageBufferBindingSize?: number;
  maxBufferSize?: number;
}

/** A checkpoint or tokenizer file that cannot be used; the message names the source. */
export class ModelFormatError extends Error {
  constructor(
    readonly source: string,
    readonly problem: string,
  ) {
    super(`${source}: ${problem}`);
    this.name = 'ModelFormatError';
  }
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export type CheckpointFormat = 'legacy' | 'v1';

interface Header {
  format: CheckpointFormat;
  headerBytes: number;
  config: ModelConfig;
}

/** Tensor shapes of one model: name, element count, and [rows, cols] for messages. */
interface TensorShape {
  name: string;
  rows: number;
  cols: number;
}

function shapes(c: ModelConfig): { perLayer: TensorShape[]; global: TensorShape[] } {
  const kv = (c.dim * c.nKvHeads) / c.nHeads;
  return {
    perLayer: [
      { name: 'rms_att_weight', rows: 1, cols: c.dim },
      { name: 'wq', rows: c.dim, cols: c.dim },
      { name: 'wk', rows: kv, cols: c.dim },
      { name: 'wv', rows: kv, cols: c.dim },
      { name: 'wo', rows: c.dim, cols: c.dim },
      { name: 'rms_ffn_weight', rows: 1, cols: c.dim },
      { name: 'w1', rows: c.hiddenDim, cols: c.dim },
      { name: 'w2', rows: c.dim, cols: c.hiddenDim },
      { name: 'w3', rows: c.hiddenDim, cols: c.dim },
    ],
    global: [
      { name: 'token_embedding_table', rows: c.vocabSize, cols: c.dim },
      { name: 'rms_final_weight', rows: 1, cols: c.dim },
      ...(c.sharedClassifier ? [] : [{ name: 'wcls', rows: c.vocabSize, cols: c.dim }]),
    ],
  };
}

/** Number of float32 values the weights of a checkpoint in `format` hold (freq_cis included). */
export function checkpointFloats(c: ModelConfig, format: CheckpointFormat): number {
  const { perLayer, global } = shapes(c);
  let n = 0;
  for (const t of perLayer) n += c.nLayers * t.rows * t.cols;
  for (const t of global) n += t.rows * t.cols;
  if (format === 'legacy') n += c.seqLen * (c.dim / c.nHeads); // freq_cis real + imag halves
  return n;
}

/** Expected file size in bytes of a checkpoint of this configuration. */
export function checkpointBytes(c: ModelConfig, format: CheckpointFormat): number {
  return (format === 'legacy' ? LEGACY_HEADER_BYTES : V1_HEADER_BYTES) + 4 * checkpointFloats(c, format);
}

function describe(c: ModelConfig): string {
  return (
    `dim=${c.dim} hidden_dim=${c.hiddenDim} n_layers=${c.nLayers} n_heads=${c.nHeads} ` +
    `n_kv_heads=${c.nKvHeads} vocab_size=${c.vocabSize} seq_len=${c.seqLen} ` +
    `${c.sharedClassifier ? 'shared' : 'unshared'} classifier`
  );
}

function readHeader(buf: ArrayBuffer, source: string): Header {
  const fail = (p: string): never => {
    throw new ModelFormatError(source, p);
  };
  const n = buf.byteLength;
  if (n < LEGACY_HEADER_BYTES) {
    fail(`file too short for a llama2.c checkpoint header: ${n} bytes, need at least ${LEGACY_HEADER_BYTES}`);
  }
  const dv = new DataView(buf);
  let format: CheckpointFormat = 'legacy';
  let off = 0;
  let shared: boolean | undefined;
  if (dv.getUint32(0, true) === CHECKPOINT_MAGIC) {
    if (n < V1_HEADER_BYTES) {
      fail(`file too short for a versioned checkpoint header: ${n} bytes, need ${V1_HEADER_BYTES} (truncated)`);
    }
    const version = dv.getInt32(4, true);
    if (version === 2) {
      fail(
        'version 2 (int8-quantized) checkpoints are not supported; export the model as version 1 (fp32) ' +
          'or in the legacy format',
      );
    }
    if (version !== 1) fail(`unknown checkpoint version ${version} (supported: legacy and version 1)`);
    format = 'v1';
    off = 8;
    const flag = dv.getUint8(8 + 7 * 4);
    if (flag > 1) fail(`shared_classifier flag is ${flag}, expected 0 or 1`);
    shared = flag === 1;
  }
  const p = Array.from({ length: 7 }, (_, i) => dv.getInt32(off + 4 * i, true));
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, rawVocab, seqLen] = p as [
    number, number, number, number, number, number, number,
  ];
  if (format === 'legacy' && (dim <= 0 || dim > MAX_DIMS.dim)) {
    // A legacy file begins with dim; an implausible one is most often another kind of file.
    fail(
      dim <= 0
        ? `dim=${dim} must be positive`
        : `dim=${dim} is absurd (max ${MAX_DIMS.dim}); not a legacy checkpoint, and not a versioned one ` +
            `either: wrong magic 0x${(dv.getUint32(0, true) >>> 0).toString(16)} (expected 0x${CHECKPOINT_MAGIC.toString(16)})`,
    );
  }
  if (format === 'v1' && rawVocab < 0) fail(`vocab_size=${rawVocab} must be positive in a version-1 header`);
  const vocabSize = Math.abs(rawVocab);
  const config: ModelConfig = {
    dim,
    hiddenDim,
    nLayers,
    nHeads,
    nKvHeads,
    vocabSize,
    seqLen,
    sharedClassifier: shared ?? rawVocab > 0,
    normEps: 1e-5,
    ropeTheta: 10000,
  };
  validateConfig(config, source);
  return { format, headerBytes: format === 'legacy' ? LEGACY_HEADER_BYTES : V1_HEADER_BYTES, config };
}

/** Throws ModelFormatError when the dimensions cannot describe a llama2.c model. */
export function validateConfig(c: ModelConfig, source: string): void {
  const fail = (p: string): never => {
    throw new ModelFormatError(source, p);
  };
  const bounded: [string, number, number][] = [
    ['dim', c.dim, MAX_DIMS.dim],
    ['hidden_dim', c.hiddenDim, MAX_DIMS.hiddenDim],
    ['n_layers', c.nLayers, MAX_DIMS.nLayers],
    ['n_heads', c.nHeads, MAX_DIMS.dim],
    ['n_kv_heads', c.nKvHeads, MAX_DIMS.dim],
    ['vocab_size', c.vocabSize, MAX_DIMS.vocabSize],
    ['seq_len', c.seqLen, MAX_DIMS.seqLen],
  ];
  for (const [name, v, max] of bounded) {
    if (!Number.isInteger(v) || v <= 0) fail(`${name}=${v} must be a positive integer`);
    if (v > max) fail(`${name}=${v} is absurd (max ${max})`);
  }
  if (c.dim % c.nHeads !== 0) fail(`n_heads=${c.nHeads} does not divide dim=${c.dim}`);
  if (c.nHeads % c.nKvHeads !== 0) fail(`n_kv_heads=${c.nKvHeads} does not divide n_heads=${c.nHeads}`);
  const hd = c.dim / c.nHeads;
  if (hd % 2 !== 0) fail(`head size dim/n_heads=${hd} is odd; RoPE rotates pairs and needs it even`);
}

function checkLimits(c: ModelConfig, source: string, limits: CheckpointLimits): void {
  const { perLayer, global } = shapes(c);
  const checks: [string, number | undefined][] = [
    ['maxStorageBufferBindingSize', limits.maxStorageBufferBindingSize],
    ['maxBufferSize', limits.maxBufferSize],
  ];
  for (const t of [...global, ...perLayer]) {
    const bytes = 4 * t.rows * t.cols;
    for (const [name, limit] of checks) {
      if (limit !== undefined && bytes > limit) {
        const shape = t.rows === 1 ? `(${t.cols})` : `(${t.rows}, ${t.cols})`;
        throw new ModelFormatError(
          source,
          `tensor ${t.name} ${shape} is ${bytes} bytes, above ${name} ${limit}: the model does not fit this GPU's limits`,
        );
      }
    }
  }
}

function checkFinite(a: Float32Array, name: string, source: string): void {
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]!)) {
      throw new ModelFormatError(source, `${name}[${i}] is ${a[i]} (corrupted weights)`);
    }
  }
}

/**
 * Parses a llama2.c checkpoint (legacy or version 1) into a Model whose weights are views into
 * `buf`. Everything is validated before any view is made: header, dimensions, exact file size,
 * and (when given) per-tensor device limits; the norm weights are checked for NaN/Inf.
 */
export function parseCheckpoint(buf: ArrayBuffer, source: string, limits: CheckpointLimits = {}): Model {
  if (!LITTLE_ENDIAN_HOST) throw new ModelFormatError(source, 'big-endian hosts are not supported');
  const { format, headerBytes, config: c } = readHeader(buf, source);
  const expected = checkpointBytes(c, format);
  const found = buf.byteLength;
  if (found < expected) {
    throw new ModelFormatError(
      source,
      `truncated: ${describe(c)} needs ${expected} bytes, found ${found} (${expected - found} missing)`,
    );
  }
  if (found > expected) {
    throw new ModelFormatError(
      source,
      `${found - expected} trailing bytes: ${describe(c)} needs ${expected} bytes, found ${found}`,
    );
  }
  checkLimits(c, source, limits);

  const kv = (c.dim * c.nKvHeads) / c.nHeads;
  const L = c.nLayers;
  let off = headerBytes;
  const take = (n: number): Float32Array => {
    const a = new Float32Array(buf, off, n);
    off += 4 * n;
    return a;
  };
  // Per-layer stacks, split into per-layer views below.
  let tokenEmbedding: Float32Array;
  let rmsFinal: Float32Array;
  let stacks: Record<'rmsAtt' | 'wq' | 'wk' | 'wv' | 'wo' | 'rmsFfn' | 'w1' | 'w2' | 'w3', Float32Array>;
  if (format === 'legacy') {
    tokenEmbedding = take(c.vocabSize * c.dim);
    const rmsAtt = take(L * c.dim);
    const wq = take(L * c.dim * c.dim);
    const wk = take(L * kv * c.dim);
    const wv = take(L * kv * c.dim);
    const wo = take(L * c.dim * c.dim);
    const rmsFfn = take(L * c.dim);
    const w1 = take(L * c.hiddenDim * c.dim);
    const w2 = take(L * c.dim * c.hiddenDim);
    const w3 = take(L * c.hiddenDim * c.dim);
    rmsFinal = take(c.dim);
    off += 4 * c.seqLen * (c.dim / c.nHeads); // freq_cis_real, freq_cis_imag: unused (RoPE is computed)
    stacks = { rmsAtt, wq, wk, wv, wo, rmsFfn, w1, w2, w3 };
  } else {
    const rmsAtt = take(L * c.dim);
    const rmsFfn = take(L * c.dim);
    rmsFinal = take(c.dim);
    tokenEmbedding = take(c.vocabSize * c.dim);
    const wq = take(L * c.dim * c.dim);
    const wk = take(L * kv * c.dim);
    const wv = take(L * kv * c.dim);
    const wo = take(L * c.dim * c.dim);
    const w1 = take(L * c.hiddenDim * c.dim);
    const w2 = take(L * c.dim * c.hiddenDim);
    const w3 = take(L * c.hiddenDim * c.dim);
    stacks = { rmsAtt, wq, wk, wv, wo, rmsFfn, w1, w2, w3 };
  }
  const wcls = c.sharedClassifier ? tokenEmbedding : take(c.vocabSize * c.dim);
  if (off !== expected) throw new Error(`internal: checkpoint layout read ${off} of ${expected} bytes`);

  checkFinite(stacks.rmsAtt, 'rms_att_weight', source);
  checkFinite(stacks.rmsFfn, 'rms_ffn_weight', source);
  checkFinite(rmsFinal, 'rms_final_weight', source);

  const layers: LayerWeights[] = [];
  for (let l = 0; l < L; l++) {
    const view = (a: Float32Array): Float32Array => {
      const n = a.length / L;
      return a.subarray(l * n, (l + 1) * n);
    };
    layers.push({
      rmsAtt: view(stacks.rmsAtt),
      wq: view(stacks.wq),
      wk: view(stacks.wk),
      wv: view(stacks.wv),
      wo: view(stacks.wo),
      rmsFfn: view(stacks.rmsFfn),
      w1: view(stacks.w1),
      w2: view(stacks.w2),
      w3: view(stacks.w3),
    });
  }
  return { source, config: c, weights: { tokenEmbedding, layers, rmsFinal, wcls } };
}

// ---------------------------------------------------------------------------------------------
// Writers (tests build synthetic checkpoints with these; the training tool exports with them).

function checkWeights(model: Model): void {
  const c = model.config;
  validateConfig(c, model.source);
  const w = model.weights;
  const kv = (c.dim * c.nKvHeads) / c.nHeads;
  const want = (a: Float32Array, n: number, name: string): void => {
    if (a.length !== n) throw new Error(`${model.source}: ${name} has ${a.length} values, expected ${n}`);
  };
  if (w.layers.length !== c.nLayers) {
    throw new Error(`${model.source}: ${w.layers.length} layers, expected n_layers=${c.nLayers}`);
  }
  want(w.tokenEmbedding, c.vocabSize * c.dim, 'token_embedding_table');
  want(w.rmsFinal, c.dim, 'rms_final_weight');
  want(w.wcls, c.vocabSize * c.dim, 'wcls');
  w.layers.forEach((lw, l) => {
    want(lw.rmsAtt, c.dim, `layer ${l} rms_att_weight`);
    want(lw.wq, c.dim * c.dim, `layer ${l} wq`);
    want(lw.wk, kv * c.dim, `layer ${l} wk`);
    want(lw.wv, kv * c.dim, `layer ${l} wv`);
    want(lw.wo, c.dim * c.dim, `layer ${l} wo`);
    want(lw.rmsFfn, c.dim, `layer ${l} rms_ffn_weight`);
    want(lw.w1, c.hiddenDim * c.dim, `layer ${l} w1`);
    want(lw.w2, c.dim * c.hiddenDim, `layer ${l} w2`);
    want(lw.w3, c.hiddenDim * c.dim, `layer ${l} w3`);
  });
}

function writeParams(dv: DataView, off: number, c: ModelConfig, vocab: number): void {
  [c.dim, c.hiddenDim, c.nLayers, c.nHeads, c.nKvHeads, vocab, c.seqLen].forEach((v, i) =>
    dv.setInt32(off + 4 * i, v, true),
  );
}

function writer(buf: ArrayBuffer, start: number): (a: Float32Array) => void {
  const f = new Float32Array(buf);
  let at = start / 4;
  return (a) => {
    f.set(a, at);
    at += a.length;
  };
}

/** Serialises a model in export.py's version-1 format (fp32, 256-byte header). */
export function writeCheckpointV1(model: Model): ArrayBuffer {
  checkWeights(model);
  const c = model.config;
  const w = model.weights;
  const buf = new ArrayBuffer(checkpointBytes(c, 'v1'));
  const dv = new DataView(buf);
  dv.setUint32(0, CHECKPOINT_MAGIC, true);
  dv.setInt32(4, 1, true);
  writeParams(dv, 8, c, c.vocabSize);
  dv.setUint8(8 + 7 * 4, c.sharedClassifier ? 1 : 0);
  const put = writer(buf, V1_HEADER_BYTES);
  for (const l of w.layers) put(l.rmsAtt);
  for (const l of w.layers) put(l.rmsFfn);
  put(w.rmsFinal);
  put(w.tokenEmbedding);
  for (const k of ['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3'] as const) for (const l of w.layers) put(l[k]);
  if (!c.sharedClassifier) put(w.wcls);
  return buf;
}

/** Serialises a model in llama2.c's legacy format (negative vocab_size when unshared). */
export function writeCheckpointLegacy(model: Model): ArrayBuffer {
  checkWeights(model);
  const c = model.config;
  const w = model.weights;
  const buf = new ArrayBuffer(checkpointBytes(c, 'legacy'));
  const dv = new DataView(buf);
  writeParams(dv, 0, c, c.sharedClassifier ? c.vocabSize : -c.vocabSize);
  const put = writer(buf, LEGACY_HEADER_BYTES);
  put(w.tokenEmbedding);
  for (const k of ['rmsAtt', 'wq', 'wk', 'wv', 'wo', 'rmsFfn', 'w1', 'w2', 'w3'] as const) {
    for (const l of w.layers) put(l[k]);
  }
  put(w.rmsFinal);
  // freq_cis (seq_len, headDim/2) real then imaginary, as export.py wrote them; readers skip them.
  const hd = c.dim / c.nHeads;
  const half = hd / 2;
  const re = new Float32Array(c.seqLen * half);
  const im = new Float32Array(c.seqLen * half);
  for (let p = 0; p < c.seqLen; p++) {
    for (let i = 0; i < half; i++) {
      const a = p / Math.pow(c.ropeTheta, (2 * i) / hd);
      re[p * half + i] = Math.cos(a);
      im[p * half + i] = Math.sin(a);
    }
  }
  put(re);
  put(im);
  if (!c.sharedClassifier) put(w.wcls);
  return buf;
}
