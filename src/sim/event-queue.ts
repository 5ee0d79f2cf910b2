// The simulator's event queue: a binary min-heap of (time, insertion number, payload) in typed
// arrays, so pushing and popping allocate nothing. Events at the same time come out in the order
// they were pushed, which keeps runs deterministic. Arrivals do not go through it (they are
// already sorted in the workload's columns and merged in by the event loop); it holds at most one
// step completion per server plus the autoscaler's timers, so it stays small.

export class EventQueue {
  private time: Float64Array;
  private order: Float64Array;
  private payload: Int32Array;
  private n = 0;
  private counter = 0;

  constructor(capacity = 64) {
    this.time = new Float64Array(capacity);
    this.order = new Float64Array(capacity);
    this.payload = new Int32Array(capacity);
  }

  get size(): number {
    return this.n;
  }

  /** Time of the earliest event (Infinity when empty). */
  get topTime(): number {
    return this.n > 0 ? this.time[0]! : Infinity;
  }

  /** Payload of the earliest event (undefined behaviour when empty). */
  get topPayload(): number {
    return this.payload[0]!;
  }

  push(t: number, payload: number): void {
    if (this.n === this.time.length) this.grow();
    const seq = this.counter++;
    let j = this.n++;
    const time = this.time;
    const order = this.order;
    const pl = this.payload;
    while (j > 0) {
      const parent = (j - 1) >> 1;
      const pt = time[parent]!;
      if (pt < t || (pt === t && order[parent]! < seq)) break;
      time[j] = pt;
      order[j] = order[parent]!;
      pl[j] = pl[parent]!;
      j = parent;
    }
    time[j] = t;
    order[j] = seq;
    pl[j] = payload;
  }

  /** Removes the earliest event and returns its payload. */
  pop(): number {
    if (this.n === 0) throw new Error('EventQueue.pop: empty');
    const time = this.time;
    const order = this.order;
    const pl = this.payload;
    const top = pl[0]!;
    const last = --this.n;
    if (last === 0) return top;
    const t = time[last]!;
    const o = order[last]!;
    const p = pl[last]!;
    let j = 0;
    for (;;) {
      let c = 2 * j + 1;
      if (c >= last) break;
      let ct = time[c]!;
      let co = order[c]!;
      if (c + 1 < last) {
        const t2 = time[c + 1]!;
        const o2 = order[c + 1]!;
        if (t2 < ct || (t2 === ct && o2 < co)) {
          c++;
          ct = t2;
          co = o2;
        }
      }
      if (ct < t || (ct === t && co < o)) {
        time[j] = ct;
        order[j] = co;
        pl[j] = pl[c]!;
        j = c;
      } else break;
    }
    time[j] = t;
    order[j] = o;
    pl[j] = p;
    return top;
  }

  private grow(): void {
    const cap = this.time.length * 2;
    const t = new Float64Array(cap);
    const o = new Float64Array(cap);
    const p = new Int32Array(cap);
    t.set(this.time);
    o.set(this.order);
    p.set(this.payload);
    this.time = t;
    this.order = o;
    this.payload = p;
  }
}
