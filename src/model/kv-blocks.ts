// Block allocator for the GPU backend's paged KV cache: fixed-size blocks of positions handed to
// sequences as they grow and returned when they are freed. Every layer uses the same block ids.

export class BlockAllocator {
  private readonly freeList: number[];
  constructor(readonly numBlocks: number) {
    // Pop from the end: hand out low ids first.
    this.freeList = Array.from({ length: numBlocks }, (_, i) => numBlocks - 1 - i);
  }
  get free(): number {
    return this.freeList.length;
  }
  allocate(): number | undefined {
    return this.freeList.pop();
  }
  release(blocks: number[]): void {
    for (const b of blocks) this.freeList.push(b);
  }
}
