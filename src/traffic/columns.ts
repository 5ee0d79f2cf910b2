// A trace as columns of typed arrays: compact (20 bytes a request), fast to build, and
// transferable to a worker (pass columnBuffers() as the transfer list; nothing is copied).
// The fleet simulator replays millions of requests from these without making objects.
import type { TraceRequest } from './types.js';

export interface TraceColumns {
  /** Arrival, s from the start of the trace, sorted. */
  arrival: Float64Array;
  promptTokens: Int32Array;
  outputTokens: Int32Array;
  /** Tenant id, −1 where the request has none. */
  tenant: Int32Array;
}

export function toColumns(requests: readonly TraceRequest[]): TraceColumns {
  const n = requests.length;
  const c: TraceColumns = {
    arrival: new Float64Array(n),
    promptTokens: new Int32Array(n),
    outputTokens: new Int32Array(n),
    tenant: new Int32Array(n),
  };
  for (let i = 0; i < n; i++) {
    const r = requests[i]!;
    c.arrival[i] = r.arrival;
    c.promptTokens[i] = r.promptTokens;
    c.outputTokens[i] = r.outputTokens;
    c.tenant[i] = r.tenant ?? -1;
  }
  return c;
}

export function fromColumns(c: TraceColumns): TraceRequest[] {
  const n = c.arrival.length;
  const out: TraceRequest[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const t = c.tenant[i]!;
    out[i] =
      t >= 0
        ? { arrival: c.arrival[i]!, promptTokens: c.promptTokens[i]!, outputTokens: c.outputTokens[i]!, tenant: t }
        : { arrival: c.arrival[i]!, promptTokens: c.promptTokens[i]!, outputTokens: c.outputTokens[i]! };
  }
  return out;
}

/** The underlying buffers, for a postMessage transfer list. */
export function columnBuffers(c: TraceColumns): ArrayBuffer[] {
  return [c.arrival.buffer, c.promptTokens.buffer, c.outputTokens.buffer, c.tenant.buffer] as ArrayBuffer[];
}

/** One tenant's requests, sorted by arrival, as columns (the input of mergeColumnStreams). */
export interface ColumnStream {
  arrival: ArrayLike<number>;
  prompt: ArrayLike<number>;
  output: ArrayLike<number>;
}

/**
 * k-way merge of per-tenant streams sorted by arrival into one trace: a binary min-heap of (next
 * arrival, stream index), ties to the lower index, so the result depends only on the inputs. Keys
 * live in heap order beside the indices, so a sift touches only two typed arrays. Keeps at most
 * `limit` requests (the earliest); a request's tenant is `tenantIds[i]` (default: i).
 */
export function mergeColumnStreams(
  streams: readonly ColumnStream[],
  options: { limit?: number; tenantIds?: ArrayLike<number> } = {},
): TraceColumns {
  const k = streams.length;
  let total = 0;
  for (const s of streams) total += s.arrival.length;
  total = Math.min(total, options.limit ?? Infinity);
  const ids = options.tenantIds;
  const out: TraceColumns = {
    arrival: new Float64Array(total),
    promptTokens: new Int32Array(total),
    outputTokens: new Int32Array(total),
    tenant: new Int32Array(total),
  };
  const heapIdx = new Int32Array(k);
  const heapKey = new Float64Array(k);
  const pos = new Int32Array(k);
  let size = 0;
  for (let i = 0; i < k; i++) {
    if (streams[i]!.arrival.length === 0) continue;
    const key = streams[i]!.arrival[0]!;
    let j = size++;
    while (j > 0) {
      const parent = (j - 1) >> 1;
      const pk = heapKey[parent]!;
      if (pk < key || (pk === key && heapIdx[parent]! < i)) break;
      heapKey[j] = pk;
      heapIdx[j] = heapIdx[parent]!;
      j = parent;
    }
    heapKey[j] = key;
    heapIdx[j] = i;
  }
  for (let n = 0; n < total && size > 0; n++) {
    let i = heapIdx[0]!;
    const s = streams[i]!;
    const p = pos[i]!;
    out.arrival[n] = heapKey[0]!;
    out.promptTokens[n] = s.prompt[p]!;
    out.outputTokens[n] = s.output[p]!;
    out.tenant[n] = ids ? ids[i]! : i;
    // Replace the top with this stream's next arrival, or with the last entry, and sift down.
    let key: number;
    if (p + 1 < s.arrival.length) {
      pos[i] = p + 1;
      key = s.arrival[p + 1]!;
    } else {
      size--;
      if (size === 0) continue;
      i = heapIdx[size]!;
      key = heapKey[size]!;
    }
    let j = 0;
    for (;;) {
      let ch = 2 * j + 1;
      if (ch >= size) break;
      let ck = heapKey[ch]!;
      let ci = heapIdx[ch]!;
      if (ch + 1 < size) {
        const k2 = heapKey[ch + 1]!;
        const i2 = heapIdx[ch + 1]!;
        if (k2 < ck || (k2 === ck && i2 < ci)) {
          ch++;
          ck = k2;
          ci = i2;
        }
      }
      if (ck < key || (ck === key && ci < i)) {
        heapKey[j] = ck;
        heapIdx[j] = ci;
        j = ch;
      } else break;
    }
    heapKey[j] = key;
    heapIdx[j] = i;
  }
  return out;
}
