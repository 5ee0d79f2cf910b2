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

/** Binds buffers to @binding(0..n-1) of group 0, in order. */
export function bindBuffers(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  buffers: (GPUBuffer | GPUBufferBinding)[],
  label?: string,
): GPUBindGroup {
  return device.createBindGroup({
    label,
    layout: pipeline.getBindGroupLayout(0),
    entries: buffers.map((b, i) => ({ binding: i, resource: 'buffer' in b ? b : { buffer: b } })),
  });
}

export function ceilDiv(a: number, b: number): number {
  return Math.floor((a + b - 1) / b);
}
