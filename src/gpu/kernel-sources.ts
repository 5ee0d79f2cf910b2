// WGSL sources live in the top-level kernels/ folder, one op per file. The browser build imports
// them as text through Vite (kernel-sources-browser.ts); Node reads them from disk
// (kernel-sources-node.ts). Both register here, and pipelines look sources up by file name.

const sources = new Map<string, string>();

/** Registers sources keyed by kernel name (the file name without `.wgsl`). */
export function registerKernelSources(map: Record<string, string>): void {
  for (const [name, code] of Object.entries(map)) sources.set(name, code);
}

/**
 * Kernels that extend another: compiled as a WGSL `enable` directive, the base kernel's source, then
 * their own file (entry points that need a feature, beside the base's helpers, without copying
 * them). Only a device with the feature may compile them.
 */
export const KERNEL_EXTENSIONS: Readonly<Record<string, { enable: GPUFeatureName; base: string }>> = {
  matmul_vec4_sg: { enable: 'subgroups' as GPUFeatureName, base: 'matmul_vec4' },
};

function registered(name: string): string {
  const code = sources.get(name);
  if (code === undefined) {
    const known = [...sources.keys()].sort().join(', ') || 'none';
    throw new Error(`No WGSL source registered for kernel "${name}" (registered: ${known}).`);
  }
  return code;
}

export function kernelSource(name: string): string {
  const ext = KERNEL_EXTENSIONS[name];
  if (!ext) return registered(name);
  return `enable ${ext.enable};\n${registered(ext.base)}\n${registered(name)}`;
}

/** Maps a path like `/kernels/matmul.wgsl` or `../kernels/matmul.wgsl` to `matmul`. */
export function kernelNameFromPath(path: string): string {
  const file = path.split('/').pop() ?? path;
  return file.replace(/\.wgsl$/, '');
}
