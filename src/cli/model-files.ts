// Node side of model loading for the CLI and benchmarks: the shipped default model, device
// acquisition, and a backend (GPU or CPU reference) for a loaded model.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadModelFiles } from '../model/load-node.js';
import type { Model } from '../model/config.js';
import type { Tokenizer } from '../model/tokenizer.js';
import type { Backend } from '../model/backend.js';
import { CpuBackend } from '../model/cpu-forward.js';
import { GpuBackend, type GpuBackendOptions } from '../model/gpu-forward.js';
import { acquireNodeGpu } from '../gpu/node.js';
import { adapterLabel, type GpuContext } from '../gpu/device.js';

const MODELS_DIR = fileURLToPath(new URL('../../models/', import.meta.url));

/** The model shipped in models/ (see its MODEL_CARD.md). */
export const DEFAULT_MODEL = {
  name: 'mx-tiny',
  checkpoint: `${MODELS_DIR}mx-tiny/model.bin`,
  tokenizer: `${MODELS_DIR}mx-tiny/tokenizer.bin`,
};

export interface OpenedModel {
  model: Model;
  tokenizer: Tokenizer;
  backend: Backend;
  /** The device in words: adapter description, or "CPU reference". */
  label: string;
  gpu?: GpuContext;
}

/**
 * Loads a checkpoint and tokenizer (the shipped model when neither is given) and opens a backend.
 * On the GPU, the device is acquired first so the checkpoint is checked against its limits before
 * any GPU allocation.
 */
export async function openModel(
  paths: { model?: string; tokenizer?: string },
  device: 'gpu' | 'cpu',
  options: GpuBackendOptions = {},
): Promise<OpenedModel> {
  if ((paths.model === undefined) !== (paths.tokenizer === undefined)) {
    throw new Error('--model and --tokenizer go together: give both, or neither for the shipped model');
  }
  const ckpt = paths.model ?? DEFAULT_MODEL.checkpoint;
  const tok = paths.tokenizer ?? DEFAULT_MODEL.tokenizer;
  for (const f of [ckpt, tok]) if (!existsSync(f)) throw new Error(`file not found: ${f}`);
  if (device === 'cpu') {
    const { model, tokenizer } = await loadModelFiles(ckpt, tok);
    return { model, tokenizer, backend: new CpuBackend(model, { maxSequences: options.maxSequences }), label: 'CPU reference' };
  }
  const gpu = await acquireNodeGpu({
    onLost: (info) => {
      if (info.reason !== 'destroyed') process.stderr.write(`GPU device lost: ${info.message}\n`);
    },
  });
  try {
    const { model, tokenizer } = await loadModelFiles(ckpt, tok, {
      maxStorageBufferBindingSize: gpu.device.limits.maxStorageBufferBindingSize,
      maxBufferSize: gpu.device.limits.maxBufferSize,
    });
    const inner = new GpuBackend(gpu, model, options);
    // Destroying the backend also releases the device this function acquired.
    const backend: Backend = Object.assign(Object.create(inner) as GpuBackend, {
      destroy() {
        inner.destroy();
        gpu.destroy();
      },
    });
    return { model, tokenizer, backend, label: `${adapterLabel(gpu.adapter)}${gpu.adapter.software ? ' (software)' : ''}`, gpu };
  } catch (e) {
    gpu.destroy();
    throw e;
  }
}
