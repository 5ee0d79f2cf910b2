// Model configuration and weights, split by lifetime (llama2.c's run.c habit):
// Config (shape), Weights (read-only, from the checkpoint), per-sequence KV state and scratch
// live with whichever forward pass uses them (cpu-forward.ts, gpu-forward.ts).

export interface ModelConfig {
  dim: number; // transformer width
  hiddenDim: number; // FFN inner width
  nLayers: number;
  nHeads: number; // query heads
  nKvHeads: number; // key/value heads (grouped-query attention when < nHeads)
  vocabSize: number;
  seqLen: number; // maximum context
  /** The classifier reuses the token embedding (llama2.c: positive vocab_size in legacy header). */
  sharedClassifier: boolean;
  normEps: number; // RMSNorm epsilon (llama2.c: 1e-5)
  ropeTheta: number; // RoPE base (llama2.c: 10000)
}

export function headDim(c: ModelConfig): number {
  return c.dim / c.nHeads;
}

export function kvDim(c: ModelConfig): number {
  return (c.dim * c.nKvHeads) / c.nHeads;
}

/** One layer's weights; matrices are (out, in) row-major as in llama2.c. */
export interface LayerWeights {
  rmsAtt: Float32Array; // (dim)
  wq: Float32Array; // (dim, dim)
  wk: Float32Array; // (kvDim, dim)
  wv: Float32Array; // (kvDim, dim)
  wo: Float32Array; // (dim, dim)
  rmsFfn: Float32Array; // (dim)
  w1: Float32Array; // (hiddenDim, dim)  gate
  w2: Float32Array; // (dim, hiddenDim)  down
  w3: Float32Array; // (hiddenDim, dim)  up
}

export interface ModelWeights {
  tokenEmbedding: Float32Array; // (vocab, dim)
  layers: LayerWeights[];
  rmsFinal: Float32Array; // (dim)
  wcls: Float32Array; // (vocab, dim); the same array as tokenEmbedding when shared
}

export interface Model {
  /** Where the model came from (file name or URL), for messages. */
  source: string;
  config: ModelConfig;
  weights: ModelWeights;
}
