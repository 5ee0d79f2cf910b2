import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelFormatError, writeCheckpointV1 } from '../../src/model/checkpoint.js';
import {
  LoadError,
  fetchBuffer,
  loadModel,
  readBlob,
  type LoadProgress,
} from '../../src/model/load.js';
import { loadModelFiles, readFileBuffer } from '../../src/model/load-node.js';
import { writeTokenizer } from '../../src/model/tokenizer.js';
import { STORIES260K, TOK512 } from '../helpers/data.js';
import { expectSameFloats, randomModel, storiesTest, syntheticVocab } from './helpers.js';

// A model whose vocab matches a llama2.c-style tokenizer (3 specials + 256 bytes + 2 pieces).
const { vocab, scores } = syntheticVocab([
  [' ', -1],
  ['a', -2],
]);
const model = randomModel(9, { dim: 32, hiddenDim: 64, vocabSize: vocab.length, sharedClassifier: false });
const checkpoint = writeCheckpointV1(model); // ~110 KB: several chunks over HTTP
const tokenizer = writeTokenizer(vocab, scores);

let server: Server;
let base = '';
/** Requests that stalled (for the abort test), released in afterAll. */
const stalled: (() => void)[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const send = (buf: ArrayBuffer, chunked = false): void => {
      const bytes = Buffer.from(buf);
      if (!chunked) res.setHeader('content-length', bytes.length);
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      // Write 16 KiB pieces a few ms apart so the client sees several chunks.
      void (async () => {
        for (let o = 0; o < bytes.length; o += 16384) {
          res.write(bytes.subarray(o, o + 16384));
          await new Promise((r) => setTimeout(r, 2));
        }
        res.end();
      })();
    };
    if (req.url === '/model.bin') send(checkpoint);
    else if (req.url === '/chunked/model.bin') send(checkpoint, true);
    else if (req.url === '/tok.bin') send(tokenizer);
    else if (req.url === '/stall') {
      res.writeHead(200, { 'content-length': '1000' });
      res.write(Buffer.alloc(10));
      stalled.push(() => res.destroy());
    } else {
      res.writeHead(404, 'Not Found');
      res.end('no such file');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const s of stalled) s();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Byte equality without a deep-equal walk over every element (slow on large arrays). */
function expectSameBytes(a: ArrayBuffer, b: ArrayBuffer): void {
  expect(a.byteLength).toBe(b.byteLength);
  expect(Buffer.compare(new Uint8Array(a), new Uint8Array(b))).toBe(0);
}

function expectMonotone(events: LoadProgress[], size: number, total: number | undefined): void {
  expect(events.length).toBeGreaterThan(2);
  for (let i = 1; i < events.length; i++) expect(events[i]!.loaded).toBeGreaterThanOrEqual(events[i - 1]!.loaded);
  expect(events[0]!.loaded).toBe(0);
  expect(events.at(-1)!.loaded).toBe(size);
  for (const e of events) expect(e.total).toBe(total);
}

describe('fetchBuffer', () => {
  it('downloads with progress from content-length', async () => {
    const events: LoadProgress[] = [];
    const buf = await fetchBuffer(`${base}/model.bin`, { onProgress: (p) => events.push(p) });
    expectSameBytes(buf, checkpoint);
    expectMonotone(events, checkpoint.byteLength, checkpoint.byteLength);
  });

  it('reports an unknown total without content-length', async () => {
    const events: LoadProgress[] = [];
    const buf = await fetchBuffer(`${base}/chunked/model.bin`, { onProgress: (p) => events.push(p) });
    expectSameBytes(buf, checkpoint);
    expectMonotone(events, checkpoint.byteLength, undefined);
  });

  it('names the status and URL of HTTP errors', async () => {
    const url = `${base}/missing.bin`;
    const err = await fetchBuffer(url).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LoadError);
    expect((err as LoadError).message).toBe(`HTTP 404 Not Found fetching ${url}`);
    expect((err as LoadError).status).toBe(404);
  });

  it('names the URL of network failures', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const url = `http://127.0.0.1:${port}/x.bin`;
    await expect(fetchBuffer(url)).rejects.toThrow(`could not fetch ${url}`);
  });

  it('stops on abort', async () => {
    const ctl = new AbortController();
    const p = fetchBuffer(`${base}/stall`, {
      signal: ctl.signal,
      onProgress: (e) => {
        if (e.loaded > 0) ctl.abort();
      },
    });
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    const before = new AbortController();
    before.abort();
    await expect(fetchBuffer(`${base}/model.bin`, { signal: before.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });
});

describe('readBlob', () => {
  it('reads a Blob with progress', async () => {
    const events: LoadProgress[] = [];
    const buf = await readBlob(new Blob([checkpoint]), { onProgress: (p) => events.push(p) });
    expectSameBytes(buf, checkpoint);
    expect(events.at(-1)).toEqual({ loaded: checkpoint.byteLength, total: checkpoint.byteLength });
  });
});

describe('loadModel', () => {
  it('loads from URLs, Blobs and ArrayBuffers alike', async () => {
    const files: string[] = [];
    const fromUrl = await loadModel({
      checkpoint: `${base}/model.bin`,
      tokenizer: `${base}/tok.bin`,
      onProgress: (p) => files.push(p.file),
    });
    expect(fromUrl.model.source).toBe(`${base}/model.bin`);
    expect(fromUrl.model.config).toEqual(model.config);
    expectSameFloats(fromUrl.model.weights.wcls, model.weights.wcls);
    expect(fromUrl.tokenizer.source).toBe(`${base}/tok.bin`);
    expect(fromUrl.tokenizer.encode('a')).toEqual([259, 260]);
    expect(new Set(files)).toEqual(new Set(['checkpoint', 'tokenizer']));

    const fromBlob = await loadModel({ checkpoint: new File([checkpoint], 'tiny.bin'), tokenizer });
    expect(fromBlob.model.source).toBe('tiny.bin');
    expectSameFloats(fromBlob.model.weights.layers[1]!.w3, model.weights.layers[1]!.w3);
    expect(fromBlob.tokenizer.vocabSize).toBe(vocab.length);
  });

  it('names the file at fault', async () => {
    const cut = new File([checkpoint.slice(0, 1000)], 'cut.bin');
    await expect(loadModel({ checkpoint: cut, tokenizer })).rejects.toThrow(/^cut\.bin: truncated: /);
    const wrongVocab = writeTokenizer(vocab.slice(0, -1), scores.slice(0, -1));
    const err = await loadModel({ checkpoint, tokenizer: wrongVocab, tokenizerName: 'tok.bin' }).catch((e) => e);
    expect(err).toBeInstanceOf(ModelFormatError);
    expect(err.message).toBe(
      `tok.bin: tokenizer has ${vocab.length - 1} tokens but the model's vocab_size is ${vocab.length} (truncated or mismatched)`,
    );
    await expect(loadModel({ checkpoint: `${base}/nope.bin`, tokenizer })).rejects.toThrow(
      `HTTP 404 Not Found fetching ${base}/nope.bin`,
    );
    await expect(
      loadModel({ checkpoint: new ArrayBuffer(3), tokenizer }),
    ).rejects.toThrow(/^ArrayBuffer \(3 bytes\): file too short/);
  });
});

describe('Node file helpers', () => {
  it('reads a file into an ArrayBuffer of its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'multiplex-load-'));
    try {
      const small = join(dir, 'small.bin');
      writeFileSync(small, Buffer.from([1, 2, 3, 4, 5]));
      const buf = await readFileBuffer(small);
      expect(buf.byteLength).toBe(5);
      expect([...new Uint8Array(buf)]).toEqual([1, 2, 3, 4, 5]);
      const ck = join(dir, 'model.bin');
      const tk = join(dir, 'tok.bin');
      writeFileSync(ck, new Uint8Array(checkpoint));
      writeFileSync(tk, new Uint8Array(tokenizer));
      const { model: m } = await loadModelFiles(ck, tk);
      expect(m.source).toBe('model.bin');
      expectSameFloats(m.weights.rmsFinal, model.weights.rmsFinal);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  storiesTest('loads stories260K from its files', async () => {
    const { model: m, tokenizer: t } = await loadModelFiles(STORIES260K, TOK512);
    expect(m.config.dim).toBe(64);
    expect(m.source).toBe('stories260K.bin');
    expect(t.vocabSize).toBe(512);
  });
});
