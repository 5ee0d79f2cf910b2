// The model cache path of fetchBuffer: a URL is downloaded once (with progress) and then read from
// the Cache API without a request. Node has no Cache API, so a small in-memory CacheStorage stands
// in; the browser test (tests/browser/model-cache.test.ts) checks the real one.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evictCached, fetchBuffer, type LoadProgress } from '../../src/model/load.js';

class MemoryCache {
  readonly entries = new Map<string, ArrayBuffer>();
  async match(url: string): Promise<Response | undefined> {
    const b = this.entries.get(url);
    return b ? new Response(b.slice(0)) : undefined;
  }
  async put(url: string, res: Response): Promise<void> {
    this.entries.set(url, await res.arrayBuffer());
  }
  async delete(url: string): Promise<boolean> {
    return this.entries.delete(url);
  }
}

class MemoryCacheStorage {
  readonly caches = new Map<string, MemoryCache>();
  async open(name: string): Promise<MemoryCache> {
    let c = this.caches.get(name);
    if (!c) this.caches.set(name, (c = new MemoryCache()));
    return c;
  }
  async delete(name: string): Promise<boolean> {
    return this.caches.delete(name);
  }
}

const body = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251));
let server: Server;
let base = '';
let requests = 0;
const g = globalThis as { caches?: unknown };
const hadCaches = 'caches' in g;

beforeAll(async () => {
  g.caches = new MemoryCacheStorage();
  server = createServer((_req, res) => {
    requests++;
    res.writeHead(200, { 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  if (!hadCaches) delete g.caches;
  await new Promise((r) => server.close(r));
});

describe('fetchBuffer with a model cache', () => {
  it('downloads once with progress, then reads the cache without a request', async () => {
    const url = `${base}/model.bin`;
    const first: LoadProgress[] = [];
    const a = await fetchBuffer(url, { cache: 'test-cache', onProgress: (p) => first.push(p) });
    expect(requests).toBe(1);
    expect(a.byteLength).toBe(body.length);
    expect(first.at(-1)).toEqual({ loaded: body.length, total: body.length });
    expect(first.some((p) => p.cached)).toBe(false);

    const second: LoadProgress[] = [];
    const b = await fetchBuffer(url, { cache: 'test-cache', onProgress: (p) => second.push(p) });
    expect(requests).toBe(1);
    expect(new Uint8Array(b)).toEqual(new Uint8Array(a));
    expect(second).toEqual([{ loaded: body.length, total: body.length, cached: true }]);

    // Without the cache option, or after eviction, the network is used again.
    await fetchBuffer(url);
    expect(requests).toBe(2);
    await evictCached(url, 'test-cache');
    await fetchBuffer(url, { cache: 'test-cache' });
    expect(requests).toBe(3);
  });
});
