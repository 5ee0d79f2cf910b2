// Browser loader: Vite inlines every kernels/*.wgsl file as text at build time.
import { kernelNameFromPath, registerKernelSources } from './kernel-sources.js';

const files = import.meta.glob('../../kernels/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<
  string,
  string
>;

export function registerBrowserKernelSources(): void {
  const map: Record<string, string> = {};
  for (const [path, code] of Object.entries(files)) map[kernelNameFromPath(path)] = code;
  registerKernelSources(map);
}
