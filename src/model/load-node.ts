// Node-only loading helpers (node:fs); browser code imports load.ts, never this file.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Model } from './config.js';
import type { CheckpointLimits } from './checkpoint.js';
import { loadModel } from './load.js';
import type { Tokenizer } from './tokenizer.js';

/** Reads a whole file into an ArrayBuffer of exactly its size (offset 0, so views stay aligned). */
export async function readFileBuffer(path: string): Promise<ArrayBuffer> {
  const b = await readFile(path);
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer) {
    return b.buffer;
  }
  return new Uint8Array(b).buffer; // copy out of Node's shared pool
}

/** Loads a checkpoint and tokenizer from files; messages name the files (base names). */
export async function loadModelFiles(
  checkpointPath: string,
  tokenizerPath: string,
  limits?: CheckpointLimits,
): Promise<{ model: Model; tokenizer: Tokenizer }> {
  const [checkpoint, tokenizer] = await Promise.all([readFileBuffer(checkpointPath), readFileBuffer(tokenizerPath)]);
  return loadModel({
    checkpoint,
    tokenizer,
    checkpointName: basename(checkpointPath),
    tokenizerName: basename(tokenizerPath),
    limits,
  });
}
