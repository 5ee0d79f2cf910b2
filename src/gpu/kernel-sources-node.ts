// Node loader for kernels/*.wgsl (the browser build imports them as `?raw` text instead).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { kernelNameFromPath } from './kernel-sources.js';

export const KERNELS_DIR = fileURLToPath(new URL('../../kernels/', import.meta.url));

export function loadKernelSourcesFromDisk(dir = KERNELS_DIR): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir)) {
    if (f.endsWith('.wgsl')) out[kernelNameFromPath(f)] = readFileSync(join(dir, f), 'utf8');
  }
  return out;
}
