// Datacenter GPU and model specs for the roofline step-time model: one table each, with where
// every figure comes from. Peak FLOPs are dense (NVIDIA datasheets quote sparse figures, twice
// the dense ones, in the headline column; we halve them and say so). Bandwidth and memory are
// per GPU. These are the vendors' peaks: the roofline model multiplies them by efficiency
// factors (see step-time.ts), because no real kernel reaches them.
import type { GpuPriceId } from '../econ/cost.js';

export interface GpuSpec {
  id: string;
  label: string;
  /** HBM/GDDR bandwidth, bytes/s. */
  memoryBandwidth: number;
  /** Dense bf16 tensor-core peak, FLOP/s. */
  bf16Flops: number;
  /** Dense fp8 tensor-core peak, FLOP/s (undefined: no fp8 tensor cores; fp8 weights compute in bf16). */
  fp8Flops?: number;
  /** Device memory, bytes. */
  memoryBytes: number;
  /** The econ price preset for this part, when there is one. */
  price?: GpuPriceId;
  source: string;
}

const TB = 1e12;
const T = 1e12;
const GB = 1e9;

export const GPU_SPECS: readonly GpuSpec[] = [
  {
    id: 'h100-sxm',
    label: 'NVIDIA H100 SXM 80GB',
    memoryBandwidth: 3.35 * TB,
    bf16Flops: 989 * T,
    fp8Flops: 1979 * T,
    memoryBytes: 80 * GB,
    price: 'h100',
    source: 'NVIDIA H100 Tensor Core GPU datasheet (SXM column): 3.35 TB/s HBM3; BF16 1,979 and FP8 3,958 TFLOPS with sparsity, halved for dense.',
  },
  {
    id: 'h200',
    label: 'NVIDIA H200 SXM 141GB',
    memoryBandwidth: 4.8 * TB,
    bf16Flops: 989 * T,
    fp8Flops: 1979 * T,
    memoryBytes: 141 * GB,
    price: 'h200',
    source: 'NVIDIA H200 Tensor Core GPU datasheet (SXM column): 141 GB HBM3e at 4.8 TB/s; same tensor cores as H100 SXM (sparse figures halved).',
  },
  {
    id: 'a100-80gb',
    label: 'NVIDIA A100 SXM 80GB',
    memoryBandwidth: 2.039 * TB,
    bf16Flops: 312 * T,
    memoryBytes: 80 * GB,
    price: 'a100-80gb',
    source: 'NVIDIA A100 Tensor Core GPU datasheet (80GB SXM): 2,039 GB/s HBM2e; BF16 312 TFLOPS dense; no FP8 tensor cores.',
  },
  {
    id: 'l40s',
    label: 'NVIDIA L40S 48GB',
    memoryBandwidth: 864 * GB,
    bf16Flops: 362 * T,
    fp8Flops: 733 * T,
    memoryBytes: 48 * GB,
    price: 'l40s',
    source: 'NVIDIA L40S datasheet: 864 GB/s GDDR6; BF16 733 and FP8 1,466 TFLOPS with sparsity, halved for dense.',
  },
  {
    id: 'l4',
    label: 'NVIDIA L4 24GB',
    memoryBandwidth: 300 * GB,
    bf16Flops: 121 * T,
    fp8Flops: 242 * T,
    memoryBytes: 24 * GB,
    price: 'l4',
    source: 'NVIDIA L4 datasheet: 300 GB/s GDDR6; BF16 242 and FP8 485 TFLOPS with sparsity, halved for dense.',
  },
  {
    id: 'a10',
    label: 'NVIDIA A10 24GB',
    memoryBandwidth: 600 * GB,
    bf16Flops: 125 * T,
    memoryBytes: 24 * GB,
    price: 'a10g',
    source: 'NVIDIA A10 datasheet: 600 GB/s GDDR6; BF16 125 TFLOPS dense. Priced as AWS A10G (a close variant, an assumption).',
  },
  {
    id: 'b200',
    label: 'NVIDIA B200 180GB',
    memoryBandwidth: 8 * TB,
    bf16Flops: 2250 * T,
    fp8Flops: 4500 * T,
    memoryBytes: 180 * GB,
    price: 'b200',
    source: 'NVIDIA DGX B200 datasheet (8 GPUs: 1,440 GB, 64 TB/s, FP8 72 PFLOPS and BF16 36 PFLOPS sparse) divided by 8, sparse halved for dense.',
  },
  {
    id: 'mi300x',
    label: 'AMD Instinct MI300X 192GB',
    memoryBandwidth: 5.3 * TB,
    bf16Flops: 1307 * T,
    fp8Flops: 2615 * T,
    memoryBytes: 192 * GB,
    source: 'AMD Instinct MI300X datasheet: 5.3 TB/s HBM3; BF16 1,307.4 and FP8 2,614.9 TFLOPS dense. No econ price preset: give price.dollarsPerGpuHour.',
  },
];

export interface ModelSpec {
  id: string;
  label: string;
  /** Parameters (all weights, embeddings included). */
  params: number;
  layers: number;
  /** Model (hidden) dimension: query heads × head dim. */
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Context the model supports; the simulator's default maxContext is min(this, 8192). */
  maxContext: number;
  source: string;
}

export const MODEL_SPECS: readonly ModelSpec[] = [
  {
    id: 'llama-3.2-1b',
    label: 'Llama 3.2 1B',
    params: 1.24e9,
    layers: 16,
    hidden: 2048,
    heads: 32,
    kvHeads: 8,
    headDim: 64,
    maxContext: 131072,
    source: 'meta-llama/Llama-3.2-1B config.json (hidden 2048, 16 layers, 32 heads, 8 KV heads); 1.24B parameters.',
  },
  {
    id: 'llama-3.2-3b',
    label: 'Llama 3.2 3B',
    params: 3.21e9,
    layers: 28,
    hidden: 3072,
    heads: 24,
    kvHeads: 8,
    headDim: 128,
    maxContext: 131072,
    source: 'meta-llama/Llama-3.2-3B config.json (hidden 3072, 28 layers, 24 heads, 8 KV heads); 3.21B parameters.',
  },
  {
    id: 'llama-3.1-8b',
    label: 'Llama 3.1 8B',
    params: 8.03e9,
    layers: 32,
    hidden: 4096,
    heads: 32,
    kvHeads: 8,
    headDim: 128,
    maxContext: 131072,
    source: 'meta-llama/Llama-3.1-8B config.json (hidden 4096, 32 layers, 32 heads, 8 KV heads); 8.03B parameters.',
  },
  {
    id: 'llama-3.1-70b',
    label: 'Llama 3.1 70B',
    params: 70.6e9,
    layers: 80,
    hidden: 8192,
    heads: 64,
    kvHeads: 8,
    headDim: 128,
    maxContext: 131072,
    source: 'meta-llama/Llama-3.1-70B config.json (hidden 8192, 80 layers, 64 heads, 8 KV heads); 70.6B parameters.',
  },
];

/** Short names accepted for models and GPUs in configs. */
const MODEL_ALIASES: Record<string, string> = {
  '1b': 'llama-3.2-1b',
  '3b': 'llama-3.2-3b',
  '8b': 'llama-3.1-8b',
  '70b': 'llama-3.1-70b',
  'llama-8b': 'llama-3.1-8b',
  'llama-70b': 'llama-3.1-70b',
};
const GPU_ALIASES: Record<string, string> = { h100: 'h100-sxm', a100: 'a100-80gb' };

export function findGpu(id: string): GpuSpec | undefined {
  const key = GPU_ALIASES[id] ?? id;
  return GPU_SPECS.find((g) => g.id === key);
}

export function findModel(id: string): ModelSpec | undefined {
  const key = MODEL_ALIASES[id] ?? id;
  return MODEL_SPECS.find((m) => m.id === key);
}

export function gpuSpec(id: string): GpuSpec {
  const g = findGpu(id);
  if (!g) throw new RangeError(`unknown GPU '${id}' (known: ${GPU_SPECS.map((x) => x.id).join(', ')})`);
  return g;
}

export function modelSpec(id: string): ModelSpec {
  const m = findModel(id);
  if (!m) throw new RangeError(`unknown model '${id}' (known: ${MODEL_SPECS.map((x) => x.id).join(', ')})`);
  return m;
}

export type WeightDtype = 'bf16' | 'fp8';

export const DTYPE_BYTES: Record<WeightDtype, number> = { bf16: 2, fp8: 1 };

/** KV cache bytes per token (K and V, every layer), over all tensor-parallel shards. */
export function kvBytesPerToken(m: ModelSpec, kvDtype: WeightDtype): number {
  return 2 * m.layers * m.kvHeads * m.headDim * DTYPE_BYTES[kvDtype];
}

