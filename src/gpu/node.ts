// Node-only: WebGPU through the `webgpu` package (Dawn). On a machine without a GPU, Dawn finds
// no adapter unless the Vulkan loader is pointed at SwiftShader, which Debian's chromium package
// ships. We try the machine's own drivers first and fall back to SwiftShader, so a real GPU is
// used where there is one. MULTIPLEX_GPU=swiftshader forces the fallback.
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
    // Mesa's Vulkan drivers complain on stderr when this is unset (headless machines, CI).
    if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = tmpdir();
    dawn = (await import('webgpu')) as unknown as DawnModule;
    // GPUBufferUsage, GPUMapMode, ... are globals in a browser; Dawn exports them.
    for (const [k, v] of Object.entries(dawn.globals)) {
      if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
    }
  }
  return dawn;
}

const ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];

/**
 * Whether the machine has a Vulkan driver other than a software one (Mesa's lavapipe, which Dawn
 * rejects anyway, or SwiftShader). Without one we go straight to SwiftShader instead of letting
 * Dawn probe and print warnings.
 */
function hasHardwareVulkanDriver(): boolean {
  if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES) return true; // the user chose
  // A hardware driver needs a device node: a DRM render node or NVIDIA's.
  let renderNodes: string[] = [];
  try {
    renderNodes = readdirSync('/dev/dri').filter((f) => f.startsWith('renderD'));
  } catch {
    /* no /dev/dri */
  }
  if (renderNodes.length === 0 && !existsSync('/dev/nvidia0')) return false;
  for (const dir of ICD_DIRS) {
    let files: string[] = [];
    try {
      files = readdirSync(dir);
    } catch {
      continue;
    }
    if (files.some((f) => f.endsWith('.json') && !/lvp|lavapipe|swiftshader/i.test(f))) return true;
  }
  return false;
}

/** Returns a GPU object for Node, or undefined when no adapter can be found at all. */
export async function nodeGpu(): Promise<GPU | undefined> {
  const d = await loadDawn();
  const force = process.env.MULTIPLEX_GPU === 'swiftshader';
  if (!force && hasHardwareVulkanDriver()) {
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
  const ctx = await acquireGpu({ ...options, gpu });
  const cell = new Int32Array(new SharedArrayBuffer(4));
  ctx.sleepSync = (ms: number) => {
    if (ms > 0) Atomics.wait(cell, 0, 0, ms);
  };
  return ctx;
}
