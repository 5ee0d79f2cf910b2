// Pipeline cache: one compiled pipeline per (kernel, entry point, override constants) and device.
// Tile and workgroup sizes are WGSL `override` constants passed here, never copied into TS.
import { kernelSource } from './kernel-sources.js';

export type KernelConstants = Record<string, number>;

export function pipelineKey(kernel: string, constants: KernelConstants = {}, entryPoint = 'main'): string {
  const c = Object.keys(constants)
    .sort()
    .map((k) => `${k}=${constants[k]}`)
    .join(',');
  return `${kernel}#${entryPoint}{${c}}`;
}

const caches = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();
const modules = new WeakMap<GPUDevice, Map<string, GPUShaderModule>>();

function shaderModule(device: GPUDevice, kernel: string): GPUShaderModule {
  let m = modules.get(device);
  if (!m) modules.set(device, (m = new Map()));
  let mod = m.get(kernel);
  if (!mod) {
    mod = device.createShaderModule({ label: kernel, code: kernelSource(kernel) });
    m.set(kernel, mod);
  }
  return mod;
}

/** Returns the cached pipeline for this kernel and constants, compiling it on first use. */
export function getPipeline(
  device: GPUDevice,
  kernel: string,
  constants: KernelConstants = {},
  entryPoint = 'main',
): GPUComputePipeline {
  let cache = caches.get(device);
  if (!cache) caches.set(device, (cache = new Map()));
  const key = pipelineKey(kernel, constants, entryPoint);
  let p = cache.get(key);
  if (!p) {
    p = device.createComputePipeline({
      label: key,
      layout: 'auto',
      compute: { module: shaderModule(device, kernel), entryPoint, constants },
    });
    cache.set(key, p);
  }
  return p;
}

/** Number of pipelines compiled so far on this device (for tests and the kernel view). */
export function pipelineCount(device: GPUDevice): number {
  return caches.get(device)?.size ?? 0;
}

// Bind groups are cached per pipeline and reused from step to step: a decode step binds the same
// buffers at the same uniform-arena offsets every time, and creating ~40 bind groups (and as many
// layout wrappers) a step made enough native garbage for V8 to run a full mark-compact about once a
// second, each of which stalled the step in flight for 40-100 ms (seen in the fidelity test).
const layouts = new WeakMap<GPUComputePipeline, GPUBindGroupLayout>();
const groups = new WeakMap<GPUComputePipeline, Map<string, GPUBindGroup>>();
const bufferIds = new WeakMap<GPUBuffer, number>();
let nextBufferId = 1;
/**
 * Bind groups kept per pipeline; past this the pipeline's cache starts afresh (it only fills when
 * buffers come and go, as in the kernel bench, and then holds groups of destroyed buffers).
 */
export const BIND_GROUP_CACHE_SIZE = 512;

function bufferId(b: GPUBuffer): number {
  let id = bufferIds.get(b);
  if (id === undefined) bufferIds.set(b, (id = nextBufferId++));
  return id;
}

/** Binds buffers to the given @binding numbers of group 0 (a cached group when one matches). */
export function bindEntries(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  entries: [binding: number, resource: GPUBuffer | GPUBufferBinding][],
  label?: string,
): GPUBindGroup {
  let key = '';
  for (const [binding, r] of entries) {
    const b = 'buffer' in r ? r : { buffer: r };
    // A new buffer object gets a new id, so a group never outlives the buffers it names.
    key += `${binding}:${bufferId(b.buffer)}:${b.offset ?? 0}:${b.size ?? -1};`;
  }
  let cache = groups.get(pipeline);
  if (!cache) groups.set(pipeline, (cache = new Map()));
  let group = cache.get(key);
  if (!group) {
    let layout = layouts.get(pipeline);
    if (!layout) layouts.set(pipeline, (layout = pipeline.getBindGroupLayout(0)));
    group = device.createBindGroup({
      label,
      layout,
      entries: entries.map(([binding, r]) => ({ binding, resource: 'buffer' in r ? r : { buffer: r } })),
    });
    if (cache.size >= BIND_GROUP_CACHE_SIZE) cache.clear();
    cache.set(key, group);
  }
  return group;
}

/** Binds buffers to @binding(0..n-1) of group 0, in order (cached: see bindEntries). */
export function bindBuffers(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  buffers: (GPUBuffer | GPUBufferBinding)[],
  label?: string,
): GPUBindGroup {
  return bindEntries(
    device,
    pipeline,
    buffers.map((b, i) => [i, b]),
    label,
  );
}

/** Bind groups cached for a pipeline (for tests). */
export function cachedBindGroups(pipeline: GPUComputePipeline): number {
  return groups.get(pipeline)?.size ?? 0;
}

export function ceilDiv(a: number, b: number): number {
  return Math.floor((a + b - 1) / b);
}
