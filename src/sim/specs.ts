// Datacenter GPU and model specs for the roofline step-time model: one table each, with where
// every figure comes from. Peak FLOPs are dense (NVIDIA datasheets quote sparse figures, twice
// the dense ones, in the headline column; we halve them and say so). Bandwidth and memory are
// per GPU. These are the vendors' peaks: the roofline model multiplies them by efficiency
// factors (see step-time.ts and docs/roofline.md), because no real kernel reaches them. Memory is
// what the driver reports, in bytes; link bandwidth is per direction.
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
  /**
   * Device memory the driver reports (nvidia-smi memory.total, rocm-smi VRAM total), bytes: what
   * vLLM's gpu_memory_utilization is a fraction of. The vendors' "80GB" on HBM parts is binary
   * (an A100 80GB reports 81,920 MiB = 80 GiB); see each part's source.
   */
  memoryBytes: number;
  /**
   * GPU-to-GPU bandwidth in each direction, bytes/s (NVLink, Infinity Fabric or PCIe): datasheets
   * quote the bidirectional sum, halved here, because a ring collective sends and receives at once.
   */
  linkBandwidth: number;
  /** The econ price preset for this part, when there is one. */
  price?: GpuPriceId;
  source: string;
}

const TB = 1e12;
const T = 1e12;
const GB = 1e9;
const MiB = 2 ** 20;

export const GPU_SPECS: readonly GpuSpec[] = [
  {
    id: 'h100-sxm',
    label: 'NVIDIA H100 SXM 80GB',
    memoryBandwidth: 3.35 * TB,
    bf16Flops: 989 * T,
    fp8Flops: 1979 * T,
    memoryBytes: 81559 * MiB,
    linkBandwidth: 450 * GB,
    price: 'h100',
    source:
      'NVIDIA H100 Tensor Core GPU datasheet (SXM column): 3.35 TB/s HBM3; BF16 1,979 and FP8 3,958 TFLOPS with sparsity, halved for dense; NVLink 900 GB/s (bidirectional). Memory: nvidia-smi reports 81,559 MiB (79.6 GiB) for "80GB".',
  },
  {
    id: 'h200',
    label: 'NVIDIA H200 SXM 141GB',
    memoryBandwidth: 4.8 * TB,
    bf16Flops: 989 * T,
    fp8Flops: 1979 * T,
    memoryBytes: 143771 * MiB,
    linkBandwidth: 450 * GB,
    price: 'h200',
    source:
      'NVIDIA H200 Tensor Core GPU datasheet (SXM column): 141 GB HBM3e at 4.8 TB/s; same tensor cores and NVLink (900 GB/s bidirectional) as H100 SXM (sparse figures halved). Memory: nvidia-smi reports 143,771 MiB (140.4 GiB, 150.8·10⁹ bytes), so the "141 GB" is close to GiB, not 141·10⁹ bytes.',
  },
  {
    id: 'a100-80gb',
    label: 'NVIDIA A100 SXM 80GB',
    memoryBandwidth: 2.039 * TB,
    bf16Flops: 312 * T,
    memoryBytes: 81920 * MiB,
    linkBandwidth: 300 * GB,
    price: 'a100-80gb',
    source:
      'NVIDIA A100 Tensor Core GPU datasheet (80GB SXM): 2,039 GB/s HBM2e; BF16 312 TFLOPS dense; no FP8 tensor cores; NVLink 600 GB/s (bidirectional). Memory: nvidia-smi reports 81,920 MiB = 80 GiB.',
  },
  {
    id: 'l40s',
    label: 'NVIDIA L40S 48GB',
    memoryBandwidth: 864 * GB,
    bf16Flops: 362 * T,
    fp8Flops: 733 * T,
    memoryBytes: 46068 * MiB,
    linkBandwidth: 32 * GB,
    price: 'l40s',
    source:
      'NVIDIA L40S datasheet: 864 GB/s GDDR6; BF16 733 and FP8 1,466 TFLOPS with sparsity, halved for dense; no NVLink: PCIe Gen4 x16, 64 GB/s bidirectional. Memory: nvidia-smi reports 46,068 MiB (ECC on).',
  },
  {
    id: 'l4',
    label: 'NVIDIA L4 24GB',
    memoryBandwidth: 300 * GB,
    bf16Flops: 121 * T,
    fp8Flops: 242 * T,
    memoryBytes: 23034 * MiB,
    linkBandwidth: 32 * GB,
    price: 'l4',
    source:
      'NVIDIA L4 datasheet: 300 GB/s GDDR6; BF16 242 and FP8 485 TFLOPS with sparsity, halved for dense; PCIe Gen4 x16, 64 GB/s bidirectional. Memory: nvidia-smi reports 23,034 MiB.',
  },
  {
    id: 'a10',
    label: 'NVIDIA A10 24GB',
    memoryBandwidth: 600 * GB,
    bf16Flops: 125 * T,
    memoryBytes: 23028 * MiB,
    linkBandwidth: 32 * GB,
    price: 'a10g',
    source:
      'NVIDIA A10 datasheet: 600 GB/s GDDR6; BF16 125 TFLOPS dense; PCIe Gen4 x16, 64 GB/s bidirectional. Memory: nvidia-smi reports 23,028 MiB. Priced as AWS A10G (a close variant, an assumption).',
  },
  {
    id: 'b200',
    label: 'NVIDIA B200 180GB',
    memoryBandwidth: 8 * TB,
    bf16Flops: 2250 * T,
    fp8Flops: 4500 * T,
    memoryBytes: 183359 * MiB,
    linkBandwidth: 900 * GB,
    price: 'b200',
    source:
      'NVIDIA DGX B200 datasheet (8 GPUs: 1,440 GB, 64 TB/s, FP8 72 PFLOPS and BF16 36 PFLOPS sparse, NVLink 14.4 TB/s) divided by 8, sparse halved for dense; NVLink 5 1.8 TB/s bidirectional per GPU. Memory: nvidia-smi reports 183,359 MiB (179 GiB).',
  },
  {
    id: 'mi300x',
    label: 'AMD Instinct MI300X 192GB',
    memoryBandwidth: 5.3 * TB,
    bf16Flops: 1307 * T,
    fp8Flops: 2615 * T,
    memoryBytes: 205822885888,
    linkBandwidth: 448 * GB,
    source:
      'AMD Instinct MI300X datasheet: 5.3 TB/s HBM3; BF16 1,307.4 and FP8 2,614.9 TFLOPS dense; 7 Infinity Fabric links, 896 GB/s bidirectional in all. Memory: rocm-smi reports 205,822,885,888 bytes (191.7 GiB). No econ price preset: give price.dollarsPerGpuHour.',
  },
];

/** A decoder-only transformer (Llama layout: GQA attention, SwiGLU MLP, RMSNorm), from its config.json. */
export interface ModelSpec {
  id: string;
  label: string;
  /** Parameters as published (all weights, embeddings included); the roofline counts from the shapes. */
  params: number;
  layers: number;
  /** Model (hidden) dimension: query heads × head dim. */
  hidden: number;
  /** MLP intermediate size (gate, up: hidden → intermediate; down: intermediate → hidden). */
  intermediate: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  /** The LM head shares the token-embedding matrix (tie_word_embeddings). */
  tiedEmbeddings: boolean;
  /** Context the model supports; the simulator's default maxContext is min(this, 8192). */
  maxContext: number;
  source: string;
}

const LLAMA3_70B = { layers: 80, hidden: 8192, intermediate: 28672, heads: 64, kvHeads: 8, headDim: 128, vocab: 128256, tiedEmbeddings: false } as const;

export const MODEL_SPECS: readonly ModelSpec[] = [
  {
    id: 'llama-3.2-1b',
    label: 'Llama 3.2 1B',
    params: 1.24e9,
    layers: 16,
    hidden: 2048,
    intermediate: 8192,
    heads: 32,
    kvHeads: 8,
    headDim: 64,
    vocab: 128256,
    tiedEmbeddings: true,
    maxContext: 131072,
    source: 'meta-llama/Llama-3.2-1B config.json (hidden 2048, intermediate 8192, 16 layers, 32 heads, 8 KV heads, vocab 128256, tied embeddings); 1.24B parameters.',
  },
  {
    id: 'llama-3.2-3b',
    label: 'Llama 3.2 3B',
    params: 3.21e9,
    layers: 28,
    hidden: 3072,
    intermediate: 8192,
    heads: 24,
    kvHeads: 8,
    headDim: 128,
    vocab: 128256,
    tiedEmbeddings: true,
    maxContext: 131072,
    source: 'meta-llama/Llama-3.2-3B config.json (hidden 3072, intermediate 8192, 28 layers, 24 heads, 8 KV heads, vocab 128256, tied embeddings); 3.21B parameters.',
  },
  {
    id: 'llama-3.1-8b',
    label: 'Llama 3.1 8B',
    params: 8.03e9,
    layers: 32,
    hidden: 4096,
    intermediate: 14336,
    heads: 32,
    kvHeads: 8,
    headDim: 128,
    vocab: 128256,
    tiedEmbeddings: false,
    maxContext: 131072,
    source: 'meta-llama/Llama-3.1-8B config.json (hidden 4096, intermediate 14336, 32 layers, 32 heads, 8 KV heads, vocab 128256, untied LM head); 8.03B parameters.',
  },
  {
    id: 'llama-3.1-70b',
    label: 'Llama 3.1 70B',
    params: 70.6e9,
    ...LLAMA3_70B,
    maxContext: 131072,
    source: 'meta-llama/Llama-3.1-70B config.json (hidden 8192, intermediate 28672, 80 layers, 64 heads, 8 KV heads, vocab 128256, untied LM head); 70.6B parameters.',
  },
  {
    id: 'llama-3-70b',
    label: 'Llama 3 70B',
    params: 70.6e9,
    ...LLAMA3_70B,
    maxContext: 8192,
    source: 'meta-llama/Meta-Llama-3-70B config.json: the shapes of Llama 3.1 70B (hidden 8192, intermediate 28672, 80 layers, 64 heads, 8 KV heads, vocab 128256) with an 8,192-token context.',
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
  'llama3-70b': 'llama-3-70b',
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

/** KV cache bytes per token (K and V, every layer), over all tensor-parallel shards (none replicated). */
export function kvBytesPerToken(m: ModelSpec, kvDtype: WeightDtype): number {
  return 2 * m.layers * m.kvHeads * m.headDim * DTYPE_BYTES[kvDtype];
}

