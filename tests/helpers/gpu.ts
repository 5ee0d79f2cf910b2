// The one GPU test wrapper (STYLE 5): acquires one device per test file, skips with a clear reason
// when no adapter exists, runs each test inside validation/out-of-memory/internal error scopes,
// frees what the test created, and fails on any captured error.
import { afterAll, it, type TestContext } from 'vitest';
import { acquireNodeGpu } from '../../src/gpu/node.js';
import type { GpuContext } from '../../src/gpu/device.js';

let ctx: GpuContext | undefined;
let reason = '';
let tried = false;
const uncaptured: string[] = [];

export async function getGpu(): Promise<GpuContext | undefined> {
  if (!tried) {
    tried = true;
    try {
      ctx = await acquireNodeGpu({ onError: (e) => uncaptured.push(e.message) });
    } catch (e) {
      reason = (e as Error).message;
    }
  }
  return ctx;
}

afterAll(() => {
  ctx?.destroy();
});

/** Tracks GPU resources a test creates so they are destroyed afterwards. */
export class Resources {
  private list: { destroy(): void }[] = [];
  track<T extends { destroy(): void }>(r: T): T {
    this.list.push(r);
    return r;
  }
  destroyAll(): void {
    for (const r of this.list) r.destroy();
    this.list = [];
  }
}

export function gpuTest(
  name: string,
  fn: (gpu: GpuContext, res: Resources, t: TestContext) => Promise<void>,
  timeout = 120_000,
): void {
  it(
    name,
    async (t) => {
      const gpu = await getGpu();
      if (!gpu) {
        t.skip(`no WebGPU adapter: ${reason}`);
        return;
      }
      const { device } = gpu;
      const res = new Resources();
      uncaptured.length = 0;
      device.pushErrorScope('internal');
      device.pushErrorScope('out-of-memory');
      device.pushErrorScope('validation');
      let failure: unknown;
      try {
        await fn(gpu, res, t);
      } catch (e) {
        failure = e;
      }
      const errors = [await device.popErrorScope(), await device.popErrorScope(), await device.popErrorScope()];
      res.destroyAll();
      if (failure) throw failure;
      const messages = errors.filter((e): e is GPUError => e !== null).map((e) => e.message);
      messages.push(...uncaptured);
      if (messages.length > 0) throw new Error(`GPU errors during test:\n${messages.join('\n')}`);
    },
    timeout,
  );
}

/** Max |a-b| / (atol + rtol·|b|) style comparison; returns the worst element for messages. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol = 0): void {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != expected ${expected.length}`);
  let worst = -1;
  let worstRatio = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const b = expected[i]!;
    const err = Math.abs(a - b);
    if (err === 0) continue;
    const ratio = err / (atol + rtol * Math.abs(b));
    if (!(ratio <= 1) && (ratio > worstRatio || Number.isNaN(ratio))) {
      worstRatio = Number.isNaN(ratio) ? Infinity : ratio;
      worst = i;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `mismatch at ${worst}: got ${actual[worst]}, expected ${expected[worst]} (atol ${atol}, rtol ${rtol})`,
    );
  }
}
