// Node-only: WebGPU through the `webgpu` package (Dawn). On a machine without a GPU, Dawn finds
// no adapter unless the Vulkan loader is pointed at SwiftShader, which Debian's chromium package
// ships. We try the machine's own drivers first and fall back to SwiftShader, so a real GPU is
// used where there is one. MULTIPLEX_GPU=swiftshader forces the fallback.
import { existsSync } from 'node:fs';
import { acquireGpu, type AcquireOptions, type GpuContext } from './device.js';
import { registerKernelSources } from './kernel-sources.js';
import { loadKernelSourcesFromDisk } from './kernel-sources-node.js';

export const SWIFTSHADER_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
];

type DawnModule = { create(flags: string[]): GPU; globals: Record<string, unknown> };
let dawn: DawnModule | undefined;

async function loadDawn(): Promise<DawnModule> {
  if (!dawn) {
    dawn = (await import('webgpu')) as unknown as DawnModule;
    // GPUBufferUsage, GPUMapMode, ... are globals in a browser; Dawn exports them.
    for (const [k, v] of Object.entries(dawn.globals)) {
      if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
    }
  }
  return dawn;
}

/** Returns a GPU object for Node, or undefined when no adapter can be found at all. */
export async function nodeGpu(): Promise<GPU | undefined> {
  const d = await loadDawn();
  const force = process.env.MULTIPLEX_GPU === 'swiftshader';
  if (!force) {
    const gpu = d.create([]);
    if (await gpu.requestAdapter()) return gpu;
  }
  const icd = SWIFTSHADER_ICDS.find((p) => existsSync(p));
  if (!icd) return undefined;
  process.env.VK_ICD_FILENAMES = icd;
  const gpu = d.create([]);
  return (await gpu.requestAdapter()) ? gpu : undefined;
}

/** acquireGpu for Node: also registers the WGSL sources from the kernels/ folder. */
export async function acquireNodeGpu(options: Omit<AcquireOptions, 'gpu'> = {}): Promise<GpuContext> {
  registerKernelSources(loadKernelSourcesFromDisk());
  const gpu = await nodeGpu();
  if (!gpu) {
    const { GpuUnavailableError } = await import('./device.js');
    throw new GpuUnavailableError(
      'no-adapter',
      'No WebGPU adapter in Node: Dawn found no Vulkan driver, and SwiftShader ' +
        `(${SWIFTSHADER_ICDS[0]}, from Debian's chromium package) is not installed. ` +
        'Install it with `apt-get install chromium libvulkan1`.',
    );
  }
  return acquireGpu({ ...options, gpu });
}
