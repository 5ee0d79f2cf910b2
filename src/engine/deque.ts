// A double-ended queue on a growable ring buffer: O(1) push/pop at both ends without the
// reallocation of Array.prototype.shift/unshift. The scheduler's request queues use it (a
// preempted request goes back to the front; new arrivals join the back).

export class Deque<T> {
  private buf: (T | undefined)[];
  private head = 0;
  private size = 0;

  constructor(capacity = 16) {
    this.buf = new Array<T | undefined>(Math.max(4, capacity)).fill(undefined);
  }

  get length(): number {
    return this.size;
  }

  pushBack(item: T): void {
    if (this.size === this.buf.length) this.grow();
    this.buf[(this.head + this.size) % this.buf.length] = item;
    this.size++;
  }

  pushFront(item: T): void {
    if (this.size === this.buf.length) this.grow();
    this.head = (this.head - 1 + this.buf.length) % this.buf.length;
    this.buf[this.head] = item;
    this.size++;
  }

  /** The front item, or undefined when empty. */
  peekFront(): T | undefined {
    return this.size === 0 ? undefined : this.buf[this.head];
  }

  popFront(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) % this.buf.length;
    this.size--;
    return item;
  }

  /** Item i from the front (0-based), or undefined when out of range. */
  at(i: number): T | undefined {
    if (i < 0 || i >= this.size) return undefined;
    return this.buf[(this.head + i) % this.buf.length];
  }

  /** Removes the first occurrence of `item` (O(length)); returns whether it was found. */
  remove(item: T): boolean {
    const n = this.buf.length;
    for (let i = 0; i < this.size; i++) {
      if (this.buf[(this.head + i) % n] !== item) continue;
      for (let j = i; j < this.size - 1; j++) this.buf[(this.head + j) % n] = this.buf[(this.head + j + 1) % n];
      this.buf[(this.head + this.size - 1) % n] = undefined;
      this.size--;
      return true;
    }
    return false;
  }

  private grow(): void {
    const old = this.buf;
    const next = new Array<T | undefined>(old.length * 2).fill(undefined);
    for (let i = 0; i < this.size; i++) next[i] = old[(this.head + i) % old.length];
    this.buf = next;
    this.head = 0;
  }
}
