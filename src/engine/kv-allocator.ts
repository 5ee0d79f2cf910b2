// The paged KV cache's block tables: a hard budget of `numBlocks` blocks of `blockSize`
// positions, handed to sequences as they grow and returned when they finish or are preempted.
// The scheduler owns it and hands each step's tables to the executor (PlanEntry.blocks): the GPU
// backend writes K/V into exactly these blocks and keeps no allocator of its own, so its cache
// needs at least numBlocks blocks of the same blockSize (gpuKvOptions sizes it).
//
// Ids are handed out lazily (never-used ids from a counter, released ids from a stack), so the
// cost is proportional to blocks in use, not to the cache size: a simulator can hold thousands of
// allocators. Ids live in typed arrays that are reused (a freed sequence's table goes to a spare
// list with its storage), so steady-state allocation creates no garbage. `check()` verifies
// every invariant, for tests.

export interface KvBudget {
  /** Blocks in the cache (the hard memory budget). */
  numBlocks: number;
  /** Positions (tokens) per block. */
  blockSize: number;
}

const EMPTY = new Int32Array(0);

/** One sequence's block ids, in position order: ids[0, n). Kept for reuse when emptied. */
class BlockTable {
  ids = new Int32Array(8);
  n = 0;
}

export class KvAllocator implements KvBudget {
  readonly numBlocks: number;
  readonly blockSize: number;
  /** Released ids, reused last-in first-out: a stack in released[0, top), grown as needed. */
  private released = new Int32Array(16);
  private top = 0;
  /** Ids >= fresh have never been handed out. */
  private fresh = 0;
  private used = 0;
  /** Block ids held by each sequence. */
  private readonly tables = new Map<number, BlockTable>();
  /** Emptied tables, reused (with their storage) so that admissions do not allocate. */
  private readonly spare: BlockTable[] = [];

  constructor(budget: KvBudget) {
    const { numBlocks, blockSize } = budget;
    if (!Number.isInteger(numBlocks) || numBlocks < 1) throw new RangeError(`KV numBlocks must be a positive integer, got ${numBlocks}`);
    if (!Number.isInteger(blockSize) || blockSize < 1) throw new RangeError(`KV blockSize must be a positive integer, got ${blockSize}`);
    this.numBlocks = numBlocks;
    this.blockSize = blockSize;
  }

  /** Blocks needed to hold `tokens` positions. */
  blocksFor(tokens: number): number {
    return tokens <= 0 ? 0 : Math.ceil(tokens / this.blockSize);
  }

  get freeBlocks(): number {
    return this.numBlocks - this.used;
  }

  get usedBlocks(): number {
    return this.used;
  }

  /** Sequences holding blocks. */
  get sequences(): number {
    return this.tables.size;
  }

  has(seq: number): boolean {
    return this.tables.has(seq);
  }

  /** Blocks held by `seq` (0 when it holds none). */
  blocksOf(seq: number): number {
    return this.tables.get(seq)?.n ?? 0;
  }

  /** The block ids of `seq`, in position order (empty when it holds none). */
  blockIds(seq: number): readonly number[] {
    const t = this.tables.get(seq);
    return t ? Array.from(t.ids.subarray(0, t.n)) : [];
  }

  /**
   * The block table of `seq`: its ids in position order, as a view into the allocator's storage
   * (empty when it holds none). Valid until `seq` next grows or is freed; do not write to it.
   */
  table(seq: number): Int32Array {
    const t = this.tables.get(seq);
    return t ? t.ids.subarray(0, t.n) : EMPTY;
  }

  /** Blocks `seq` still needs to hold `tokens` positions. */
  extraFor(seq: number, tokens: number): number {
    return Math.max(0, this.blocksFor(tokens) - this.blocksOf(seq));
  }

  /** Whether `seq` can grow to `tokens` positions with what is free now. */
  canGrow(seq: number, tokens: number): boolean {
    return this.extraFor(seq, tokens) <= this.freeBlocks;
  }

  /**
   * Grows `seq` (creating it when new) to hold `tokens` positions. All or nothing: returns false
   * and changes nothing when too few blocks are free. Never shrinks.
   */
  allocate(seq: number, tokens: number): boolean {
    let table = this.tables.get(seq);
    const want = tokens <= 0 ? 0 : Math.ceil(tokens / this.blockSize);
    const need = table === undefined ? want : want - table.n;
    if (need > this.numBlocks - this.used) return false;
    if (table === undefined) {
      table = this.spare.pop() ?? new BlockTable();
      this.tables.set(seq, table);
    }
    if (need <= 0) return true;
    if (table.n + need > table.ids.length) {
      const grown = new Int32Array(Math.max(table.n + need, 2 * table.ids.length));
      grown.set(table.ids.subarray(0, table.n));
      table.ids = grown;
    }
    const ids = table.ids;
    const released = this.released;
    let n = table.n;
    for (let i = 0; i < need; i++) ids[n++] = this.top > 0 ? released[--this.top]! : this.fresh++;
    table.n = n;
    this.used += need;
    return true;
  }

  /** Returns every block of `seq` to the free pool; returns how many it held (0 when none). */
  free(seq: number): number {
    const table = this.tables.get(seq);
    if (!table) return 0;
    const n = table.n;
    if (this.top + n > this.released.length) {
      const grown = new Int32Array(Math.min(this.numBlocks, Math.max(this.top + n, 2 * this.released.length)));
      grown.set(this.released.subarray(0, this.top));
      this.released = grown;
    }
    // Push in reverse so the sequence's first block is the next one handed out.
    const ids = table.ids;
    const released = this.released;
    for (let i = n - 1; i >= 0; i--) released[this.top++] = ids[i]!;
    this.used -= n;
    table.n = 0;
    this.tables.delete(seq);
    this.spare.push(table);
    return n;
  }

  /**
   * Throws unless every id in [0, numBlocks) is either held by exactly one sequence (once) or
   * free (once), and the counters agree. O(numBlocks): for tests.
   */
  check(): void {
    const owner = new Int32Array(this.numBlocks).fill(-2); // -2 unseen, -1 free, else seq
    let held = 0;
    for (const [seq, table] of this.tables) {
      if (table.n === 0) throw new Error(`KV: sequence ${seq} is listed with no blocks`);
      for (let i = 0; i < table.n; i++) {
        const b = table.ids[i]!;
        if (b < 0 || b >= this.fresh) throw new Error(`KV: sequence ${seq} holds invalid block ${b}`);
        if (owner[b] !== -2) throw new Error(`KV: block ${b} held by sequence ${seq} is also ${owner[b] === -1 ? 'free' : `held by sequence ${owner[b]}`}`);
        owner[b] = seq;
      }
      held += table.n;
    }
    for (let i = 0; i < this.top; i++) {
      const b = this.released[i]!;
      if (b < 0 || b >= this.fresh) throw new Error(`KV: free list holds invalid block ${b}`);
      if (owner[b] !== -2) throw new Error(`KV: free block ${b} is also ${owner[b] === -1 ? 'free twice' : `held by sequence ${owner[b]}`}`);
      owner[b] = -1;
    }
    if (this.fresh > this.numBlocks) throw new Error(`KV: handed out ids up to ${this.fresh}, beyond ${this.numBlocks} blocks`);
    for (let b = 0; b < this.fresh; b++) if (owner[b] === -2) throw new Error(`KV: block ${b} leaked (neither held nor free)`);
    if (held !== this.used) throw new Error(`KV: ${held} blocks held but the used counter says ${this.used}`);
    if (this.top + (this.numBlocks - this.fresh) !== this.freeBlocks) {
      throw new Error(`KV: free pool has ${this.top + this.numBlocks - this.fresh} blocks but the counter says ${this.freeBlocks}`);
    }
  }
}
