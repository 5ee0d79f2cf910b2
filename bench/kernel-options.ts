// The options of `npm run bench:kernels`, checked once for both modes (Node, and --browser: the
// kernel view in Chromium). A bad value is a UsageError with a one-line message.
import { UsageError, floatArg, intArg } from '../src/cli/args.js';
import { BENCH_BATCHES } from '../src/gpu/kernel-bench.js';

/** For parseBenchArgs (node:util parseArgs). */
export const KERNEL_BENCH_ARGS = {
  model: { type: 'string' },
  tokenizer: { type: 'string' },
  batches: { type: 'string' },
  'decode-batches': { type: 'string' },
  variants: { type: 'string' },
  'target-ms': { type: 'string' },
  'no-ops': { type: 'boolean' },
  'no-decode': { type: 'boolean' },
  'no-ort': { type: 'boolean' },
  tuned: { type: 'boolean' },
  cache: { type: 'string' },
  out: { type: 'string' },
  browser: { type: 'boolean' },
  'timeout-s': { type: 'string' },
} as const;

export type KernelBenchValues = { [K in keyof typeof KERNEL_BENCH_ARGS]?: (typeof KERNEL_BENCH_ARGS)[K]['type'] extends 'boolean' ? boolean : string };

export interface KernelBenchOptions {
  /** Checkpoint and tokenizer files; both or neither (the shipped model). */
  model?: string;
  tokenizer?: string;
  /** Batch sizes M of the matmul shapes and the other kernels. */
  batches: number[];
  /** Batch sizes of the decode step breakdown. */
  decodeBatches: number[];
  variants: 'all' | 'default';
  /** Timing budget per matmul configuration, ms. */
  targetMs: number;
  ops: boolean;
  decode: boolean;
  ort: boolean;
  tuned: boolean;
  cache?: string;
  out?: string;
  /** Run in Chromium through the kernel view (onnxruntime-web on WebGPU) instead of Node. */
  browser: boolean;
  /** Limit on the whole browser run, seconds. */
  timeoutS: number;
}

/** The kernel view's URL parameters take batch sizes up to this. */
export const VIEW_MAX_BATCH = 1024;

function list(name: string, s: string | undefined, def: readonly number[], max: number): number[] {
  if (s === undefined) return [...def];
  const xs = s.split(',').map((x) => intArg(name, x, 1, 1, max));
  if (xs.length === 0) throw new UsageError(`--${name} needs at least one batch size`);
  return xs;
}

/** Checks the parsed command line; throws UsageError (one line) on a bad or conflicting value. */
export function kernelBenchOptions(v: KernelBenchValues): KernelBenchOptions {
  const browser = !!v.browser;
  const max = browser ? VIEW_MAX_BATCH : 4096;
  const variants = v.variants ?? 'all';
  if (variants !== 'all' && variants !== 'default') throw new UsageError(`--variants must be all or default, got "${variants}"`);
  if ((v.model === undefined) !== (v.tokenizer === undefined)) throw new UsageError('--model and --tokenizer go together: give both, or neither for the shipped model');
  if (browser && v.tuned) throw new UsageError('--tuned is for the Node mode only: the kernel view measures decode with the default matmul rule');
  if (browser && v.cache !== undefined) throw new UsageError("--cache is for the Node mode only: in the browser the autotuner's table lives in the page's localStorage");
  if (!browser && v['timeout-s'] !== undefined) throw new UsageError('--timeout-s applies to --browser only');
  return {
    model: v.model,
    tokenizer: v.tokenizer,
    batches: list('batches', v.batches, BENCH_BATCHES, max),
    decodeBatches: list('decode-batches', v['decode-batches'], [1, 16, 64], max),
    variants,
    targetMs: floatArg('target-ms', v['target-ms'], 40, browser ? 1 : Number.MIN_VALUE, browser ? 10_000 : Infinity),
    ops: !v['no-ops'],
    decode: !v['no-decode'],
    ort: !v['no-ort'],
    tuned: !!v.tuned,
    cache: v.cache,
    out: v.out,
    browser,
    timeoutS: floatArg('timeout-s', v['timeout-s'], 900, 1),
  };
}
