import { describe, expect, it } from 'vitest';
import { KvAllocator } from '../../src/engine/kv-allocator.js';
import { Rng } from '../../src/ops/random.js';

function check(ok: boolean, message: string): void {
  if (!ok) throw new Error(message);
}

describe('KvAllocator', () => {
  it('counts blocks for a length and grows sequences all-or-nothing', () => {
    const kv = new KvAllocator({ numBlocks: 5, blockSize: 4 });
    expect([0, 1, 4, 5, 8, 9].map((t) => kv.blocksFor(t))).toEqual([0, 1, 1, 2, 2, 3]);
    expect(kv.allocate(7, 5)).toBe(true); // 2 blocks
    expect(kv.blocksOf(7)).toBe(2);
    expect(kv.allocate(7, 8)).toBe(true); // still 2
    expect(kv.blocksOf(7)).toBe(2);
    expect(kv.allocate(9, 12)).toBe(true); // 3 blocks: cache full
    expect(kv.freeBlocks).toBe(0);
    expect(kv.canGrow(7, 9)).toBe(false);
    expect(kv.allocate(7, 9)).toBe(false); // needs a third block: nothing changes
    expect(kv.blocksOf(7)).toBe(2);
    expect(new Set([...kv.blockIds(7), ...kv.blockIds(9)]).size).toBe(5);
    kv.check();
    expect(kv.free(9)).toBe(3);
    expect(kv.free(9)).toBe(0);
    expect(kv.allocate(7, 9)).toBe(true);
    expect(kv.usedBlocks).toBe(3);
    kv.check();
    expect(kv.free(7)).toBe(3);
    expect(kv.freeBlocks).toBe(5);
    expect(kv.sequences).toBe(0);
    kv.check();
  });

  it('rejects a bad budget', () => {
    expect(() => new KvAllocator({ numBlocks: 0, blockSize: 4 })).toThrow(/numBlocks must be a positive integer/);
    expect(() => new KvAllocator({ numBlocks: 4, blockSize: 1.5 })).toThrow(/blockSize must be a positive integer/);
  });

  it('never double-allocates or leaks over thousands of random operations', () => {
    for (const seed of [1, 2, 3]) {
      const rng = new Rng(seed);
      const numBlocks = rng.int(8, 64);
      const blockSize = rng.int(1, 8);
      const kv = new KvAllocator({ numBlocks, blockSize });
      // The model: tokens each live sequence was grown to.
      const model = new Map<number, number>();
      let nextSeq = 0;
      let opsRun = 0;
      for (let op = 0; op < 5000; op++) {
        const live = [...model.keys()];
        const r = rng.next();
        if (r < 0.45 || live.length === 0) {
          // Grow an existing sequence or start a new one.
          const seq = live.length > 0 && rng.next() < 0.7 ? live[rng.int(0, live.length - 1)]! : nextSeq++;
          const tokens = (model.get(seq) ?? 0) + rng.int(1, 3 * blockSize);
          const extra = kv.blocksFor(tokens) - kv.blocksFor(model.get(seq) ?? 0);
          const free = kv.freeBlocks;
          const ok = kv.allocate(seq, tokens);
          check(ok === extra <= free, `op ${op}: allocate(${seq}, ${tokens}) returned ${ok} with ${free} free, ${extra} needed`);
          if (ok) model.set(seq, tokens);
          else check(kv.freeBlocks === free, `op ${op}: a failed allocation changed the free count`);
        } else {
          const seq = live[rng.int(0, live.length - 1)]!;
          check(kv.free(seq) === kv.blocksFor(model.get(seq)!), `op ${op}: free(${seq}) returned the wrong count`);
          model.delete(seq);
        }
        // Every id is held once or free once; counters agree with the model.
        kv.check();
        let held = 0;
        const ids = new Set<number>();
        for (const [seq, tokens] of model) {
          check(kv.blocksOf(seq) === kv.blocksFor(tokens), `op ${op}: sequence ${seq} holds ${kv.blocksOf(seq)} blocks`);
          held += kv.blocksFor(tokens);
          for (const b of kv.blockIds(seq)) {
            check(b >= 0 && b < numBlocks && !ids.has(b), `op ${op}: block ${b} out of range or handed out twice`);
            ids.add(b);
          }
        }
        check(kv.usedBlocks === held && ids.size === held, `op ${op}: ${kv.usedBlocks} used, ${held} expected`);
        opsRun += 1;
      }
      expect(opsRun).toBe(5000);
      for (const seq of [...model.keys()]) kv.free(seq);
      kv.check();
      expect(kv.freeBlocks).toBe(numBlocks);
      expect(kv.sequences).toBe(0);
    }
  });
});
