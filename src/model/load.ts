// Loading checkpoints and tokenizers: from a URL (streamed fetch with progress), from a browser
// File/Blob (progress too), or from an ArrayBuffer already in memory. Browser-safe: the Node file
// helper lives in load-node.ts.
import type { Model } from './config.js';
import { parseCheckpoint, type CheckpointLimits } from './checkpoint.js';
import { parseTokenizer, type Tokenizer } from './tokenizer.js';

export interface LoadProgress {
  /** Bytes received so far. */
  loaded: number;
  /** Total bytes when known (content-length or Blob size), else undefined. */
  total?: number;
  /** The bytes came from the browser's model cache, not the network. */
  cached?: boolean;
}

export interface LoadOptions {
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
  /**
   * Name of a Cache API cache to keep downloads in (browser only; ignored where `caches` does
   * not exist). A URL found there is read without a request.
   */
  cache?: string;
}

/** The Cache API cache the app keeps downloaded models in. */
export const MODEL_CACHE = 'multiplex-models-v1';

function cacheStorage(): CacheStorage | undefined {
  return (globalThis as { caches?: CacheStorage }).caches;
}

/** Removes a URL (or, without one, every model) from the model cache. */
export async function evictCached(url?: string, cache = MODEL_CACHE): Promise<void> {
  const cs = cacheStorage();
  if (!cs) return;
  if (url === undefined) await cs.delete(cache);
  else await (await cs.open(cache)).delete(url);
}

/** A failed download or read; the message names the URL or file. */
export class LoadError extends Error {
  constructor(
    readonly source: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'LoadError';
  }
}

function isAbort(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError';
}

/** Reads a byte stream to one ArrayBuffer, reporting progress after every chunk. */
async function readStream(
  stream: ReadableStream<Uint8Array>,
  total: number | undefined,
  opts: LoadOptions,
): Promise<ArrayBuffer> {
  const reader = stream.getReader();
  const onAbort = (): void => {
    reader.cancel(opts.signal?.reason).catch(() => {});
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    // With a known size, fill one buffer in place; otherwise keep chunks and join them at the end.
    let buf = total !== undefined ? new Uint8Array(total) : undefined;
    const chunks: Uint8Array[] = [];
    let loaded = 0;
    opts.onProgress?.({ loaded, total });
    for (;;) {
      opts.signal?.throwIfAborted();
      const { done, value } = await reader.read();
      opts.signal?.throwIfAborted();
      if (done) break;
      if (buf && loaded + value.length > buf.length) {
        // More bytes than announced (e.g. content-length of a compressed body): switch to chunks.
        chunks.push(buf.slice(0, loaded));
        buf = undefined;
      }
      if (buf) buf.set(value, loaded);
      else chunks.push(value);
      loaded += value.length;
      opts.onProgress?.({ loaded, total });
    }
    if (buf) return loaded === buf.length ? buf.buffer : buf.slice(0, loaded).buffer;
    const out = new Uint8Array(loaded);
    let o = 0;
    for (const c of chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out.buffer;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    reader.releaseLock();
  }
}

/**
 * Downloads `url` to an ArrayBuffer, streaming so that onProgress sees every chunk.
 * HTTP errors and network failures throw LoadError naming the URL (and the status);
 * an abort through `signal` rejects with the signal's reason (an AbortError by default).
 */
export async function fetchBuffer(url: string, opts: LoadOptions = {}): Promise<ArrayBuffer> {
  const cs = opts.cache ? cacheStorage() : undefined;
  let cache: Cache | undefined;
  if (cs && opts.cache) {
    try {
      cache = await cs.open(opts.cache);
      const hit = await cache.match(url);
      if (hit) {
        const buf = await hit.arrayBuffer();
        opts.onProgress?.({ loaded: buf.byteLength, total: buf.byteLength, cached: true });
        return buf;
      }
    } catch {
      cache = undefined; // storage unavailable (private mode, quota): download as usual
    }
  }
  const buf = await download(url, opts);
  if (cache) {
    try {
      await cache.put(url, new Response(buf.slice(0), { headers: { 'content-length': String(buf.byteLength) } }));
    } catch (e) {
      console.warn(`could not keep ${url} in the model cache: ${(e as Error).message}`);
    }
  }
  return buf;
}

async function download(url: string, opts: LoadOptions): Promise<ArrayBuffer> {
  let res: Response;
  try {
    res = await fetch(url, { signal: opts.signal });
  } catch (e) {
    if (isAbort(e) || opts.signal?.aborted) throw e;
    throw new LoadError(url, `could not fetch ${url}: ${(e as Error).message}`);
  }
  if (!res.ok) {
    res.body?.cancel().catch(() => {});
    const status = res.statusText ? `${res.status} ${res.statusText}` : `${res.status}`;
    throw new LoadError(url, `HTTP ${status} fetching ${url}`, res.status);
  }
  const header = res.headers.get('content-length');
  // A content-length counts encoded bytes; with a content-encoding the body size is unknown.
  const encoded = (res.headers.get('content-encoding') ?? 'identity') !== 'identity';
  const len = header !== null && !encoded ? Number(header) : NaN;
  const total = Number.isSafeInteger(len) && len >= 0 ? len : undefined;
  if (!res.body) {
    const buf = await res.arrayBuffer();
    opts.onProgress?.({ loaded: buf.byteLength, total: buf.byteLength });
    return buf;
  }
  let buf: ArrayBuffer;
  try {
    buf = await readStream(res.body, total, opts);
  } catch (e) {
    if (isAbort(e) || opts.signal?.aborted) throw e;
    throw new LoadError(url, `download of ${url} failed: ${(e as Error).message}`);
  }
  if (total !== undefined && buf.byteLength !== total) {
    throw new LoadError(url, `download of ${url} ended after ${buf.byteLength} of ${total} bytes`);
  }
  return buf;
}

/** Name of a Blob for messages: a File's name, else "blob (N bytes)". */
export function blobName(blob: Blob): string {
  const name = (blob as Partial<File>).name;
  return typeof name === 'string' && name !== '' ? name : `blob (${blob.size} bytes)`;
}

/** Reads a File/Blob to an ArrayBuffer, with progress. */
export async function readBlob(blob: Blob, opts: LoadOptions = {}): Promise<ArrayBuffer> {
  opts.signal?.throwIfAborted();
  try {
    return await readStream(blob.stream(), blob.size, opts);
  } catch (e) {
    if (isAbort(e) || opts.signal?.aborted) throw e;
    const name = blobName(blob);
    throw new LoadError(name, `could not read ${name}: ${(e as Error).message}`);
  }
}

/** Where a file comes from: bytes already in memory, a URL, or a browser File/Blob. */
export type ByteSource = ArrayBuffer | string | Blob;

/** Loads any ByteSource to an ArrayBuffer; returns it with the name used in messages. */
export async function loadBytes(
  src: ByteSource,
  opts: LoadOptions & { name?: string } = {},
): Promise<{ buffer: ArrayBuffer; source: string }> {
  if (typeof src === 'string') return { buffer: await fetchBuffer(src, opts), source: opts.name ?? src };
  if (src instanceof ArrayBuffer) {
    opts.onProgress?.({ loaded: src.byteLength, total: src.byteLength });
    return { buffer: src, source: opts.name ?? `ArrayBuffer (${src.byteLength} bytes)` };
  }
  return { buffer: await readBlob(src, opts), source: opts.name ?? blobName(src) };
}

export interface LoadModelOptions {
  checkpoint: ByteSource;
  tokenizer: ByteSource;
  /** Names for messages (default: the URL, the file name, or "ArrayBuffer (N bytes)"). */
  checkpointName?: string;
  tokenizerName?: string;
  /** Device limits every tensor must fit (see parseCheckpoint). */
  limits?: CheckpointLimits;
  /** Progress of each file separately. */
  onProgress?: (p: LoadProgress & { file: 'checkpoint' | 'tokenizer' }) => void;
  /** Cache API cache for URL sources (see LoadOptions.cache). */
  cache?: string;
  signal?: AbortSignal;
}

/**
 * Loads and parses a checkpoint and its tokenizer (both validated; the tokenizer's token count
 * must equal the model's vocab_size). Errors name the file or URL at fault.
 */
export async function loadModel(opts: LoadModelOptions): Promise<{ model: Model; tokenizer: Tokenizer }> {
  const progress = (file: 'checkpoint' | 'tokenizer') =>
    opts.onProgress ? (p: LoadProgress) => opts.onProgress!({ ...p, file }) : undefined;
  const [ck, tk] = await Promise.all([
    loadBytes(opts.checkpoint, { name: opts.checkpointName, signal: opts.signal, cache: opts.cache, onProgress: progress('checkpoint') }),
    loadBytes(opts.tokenizer, { name: opts.tokenizerName, signal: opts.signal, cache: opts.cache, onProgress: progress('tokenizer') }),
  ]);
  const model = parseCheckpoint(ck.buffer, ck.source, opts.limits);
  const tokenizer = parseTokenizer(tk.buffer, tk.source, model.config.vocabSize);
  return { model, tokenizer };
}
