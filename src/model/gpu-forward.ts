// GPU forward pass: advances a batch of sequences of different lengths in one step (decode
// tokens and prefill chunks together, one command submission), writing K/V into a paged cache.
//
// Tokens of a step are flattened: decode tokens (one per sequence) first, then prefill chunks.
// Every matmul runs over all T tokens of the step; attention reads each token's own sequence
// through the block table. Only the last token of each entry goes through the classifier.
//
// Block tables come from the caller with each step (StepEntry.blocks: the scheduler's, through
// Engine); the backend keeps no allocator. A caller without a scheduler (generate, calibration,
// benchmarks) may leave them out: sequence slot s then uses the fixed range of blocks
// [s·maxBlocksPerSeq, (s+1)·maxBlocksPerSeq), which the default KV budget holds for every slot.
// The two never mix among live sequences (the caller does not know the fixed ranges).
import type { Backend, StepEntry, StepResult } from './backend.js';
import { headDim, kvDim, type Model, type ModelConfig } from './config.js';
import type { GpuContext } from '../gpu/device.js';
import { BufferPool, bufferFrom, readFloat32, STORAGE } from '../gpu/buffers.js';
import { UniformArena } from '../gpu/uniforms.js';
import { Profiler } from '../gpu/profiler.js';
import { encodeMatmul, foldNormWeight } from '../gpu/ops/matmul.js';
import { encodeRmsnorm } from '../gpu/ops/rmsnorm.js';
import { encodeRope } from '../gpu/ops/rope.js';
import { encodeSwigluPairs, interleaveRows } from '../gpu/ops/swiglu.js';
import { encodeEmbedding } from '../gpu/ops/embedding.js';
import { encodeKvWrite, encodeAttentionDecode, encodeAttentionPrefill } from '../gpu/ops/attention.js';
import { encodeSample } from '../gpu/ops/sample.js';
import type { PagedLayout } from '../ops/reference.js';

export interface GpuBackendOptions {
  /** Sequences alive at once (default 64). */
  maxSequences?: number;
  /** Tokens per submission (default 512); larger steps are split into several submissions. */
  maxTokensPerStep?: number;
  /** Positions per KV block (default 16). */
  blockSize?: number;
  /** Bytes for the KV cache over all layers (default: enough for every sequence at full context, at most 512 MiB). */
  kvBudgetBytes?: number;
  /** Times every kernel in its own pass when given. */
  profiler?: Profiler;
  /**
   * Fuse each RMSNorm into the matmul that follows it (default true): the norm's weight is folded
   * into the matmul's weight at upload and the matmul scales its rows by 1/rms (MatmulOptions.norm),
   * saving a dispatch and an (M, dim) round trip per norm. false runs the separate rmsnorm kernel.
   */
  fuseNorm?: boolean;
  /**
   * Where the GpuContext can block (Node: sleepSync) and steps are timed on the GPU (timestamps),
   * sleep through this fraction of a step's expected GPU time before waiting for its results
   * (default SETTLE_FRACTION; 0 turns it off). The expectation is the fastest of the earlier
   * submissions of the same shape after its first (rising at most 5% a submission when it slows),
   * and a sleep lasts at most 100 ms; a shape seen fewer than twice waits at once.
   */
  settleFraction?: number;
}

/**
 * Share of the expected GPU time a step sleeps before it waits (GpuBackendOptions.settleFraction):
 * the expectation is about the fastest this shape has run, so a sleep rarely outlasts the work. Measured
 * in Node on SwiftShader (two cores, mx-tiny, median wall ms per step, fractions in turn in one
 * run): batch 16 9.8 (no sleep), 7.8 (0.8), 7.2 (0.9), 6.8-6.9 (0.95), 6.5 (0.99); batch 1 3.4, 2.7,
 * 2.6, 2.3-2.6, 2.5. The webgpu package's polling takes a core from SwiftShader's workers for as
 * long as it runs, and its garbage set off a full GC about once a second.
 */
export const SETTLE_FRACTION = 0.95;
/** Longest sleep before a wait, ms (a step that long is far from any estimate we trust). */
const SETTLE_MAX_MS = 100;
/** How fast the expected time of a shape may rise per submission (the envelope follows slowdowns). */
const SETTLE_RISE = 1.05;

/** Largest extra copy of a shared embedding/classifier matrix made to fold the final norm into it. */
const MAX_FOLDED_CLASSIFIER_BYTES = 32 * 2 ** 20;

interface GpuLayer {
  rmsAtt?: GPUBuffer; // (dim); absent when folded into wqkv
  wqkv: GPUBuffer; // (dim + 2·kvDim, dim): rows of wq, then wk, then wv: one matmul for all three
  wo: GPUBuffer; // (dim, dim)
  rmsFfn?: GPUBuffer; // (dim); absent when folded into w13
  w13: GPUBuffer; // (2·hidden, dim): rows of w1 (gate) and w3 (up) interleaved, one matmul for both
  w2: GPUBuffer; // (dim, hidden)
  kCache: GPUBuffer; // (numBlocks, blockSize, nKvHeads, headDim)
  vCache: GPUBuffer; // (numBlocks, blockSize, nKvHeads, headDim)
}

interface Piece {
  entry: number;
  seq: number;
  tokens: number[];
  start: number; // position of tokens[0]
  last: boolean; // holds the entry's last token: its logits are sampled
}

/** Stacks row-major matrices with the same number of columns: (r1 + r2 + ..., cols). */
function concatRows(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Where a live sequence's blocks come from: caller tables, its slot's fixed range, or not stepped yet. */
type TableSource = 'caller' | 'slot' | undefined;

export class GpuBackend implements Backend {
  readonly kind = 'gpu' as const;
  readonly config: ModelConfig;
  readonly maxSequences: number;
  readonly maxTokensPerStep: number;
  readonly blockSize: number;
  readonly numBlocks: number;
  readonly layout: PagedLayout;
  /** Dispatches recorded in the last submission. */
  lastDispatches = 0;
  /** Submissions made by the last step() call. */
  lastSubmissions = 0;
  /**
   * GPU time of the last step() (all its submissions), in seconds: from timestamp queries when
   * the device has them, else submit-to-done wall time ('wall').
   */
  lastStepMeasure?: { busy: number; timing: 'timestamp' | 'wall' };

  private readonly device: GPUDevice;
  private readonly profiler?: Profiler;
  private readonly arena: UniformArena;
  /** Readback staging buffers, reused from step to step. */
  private readonly staging: BufferPool;
  /** Times the one pass of an unprofiled step. */
  private readonly stepTimer: Profiler;
  private readonly weights: GPUBuffer[] = [];
  private readonly layers: GpuLayer[] = [];
  private readonly tokenEmbedding: GPUBuffer;
  /** The final norm's weight; absent when folded into wcls. */
  private readonly rmsFinal?: GPUBuffer;
  private readonly wcls: GPUBuffer;
  /** Which norms run fused into their matmul (see GpuBackendOptions.fuseNorm). */
  readonly fusedNorms: { layers: boolean; final: boolean };
  /** Uploaded with every submission: row s holds the table of sequence slot s. */
  private readonly blockTable: Uint32Array<ArrayBuffer>; // (maxSequences, maxBlocksPerSeq)
  private readonly alive: boolean[];
  private readonly seqLength: number[];
  /** Per slot: where its blocks come from (fixed by its first step), and how many live slots use each. */
  private readonly tables: TableSource[];
  private readonly liveBy = { caller: 0, slot: 0 };
  /** Marks the blocks a step names (stamp = the step's number), to reject a block named twice. */
  private readonly blockStamp: Uint32Array;
  private stamp = 0;
  private readonly s: Record<string, GPUBuffer> = {}; // scratch, sized for maxTokensPerStep / maxSequences
  private destroyed = false;
  private readonly sleepSync?: (ms: number) => void;
  private readonly settleFraction: number;
  /**
   * Per submission shape (rows, sampled rows, logits read back): the expected GPU ms, the low
   * envelope of its submissions after the first, and how many it has had.
   */
  private readonly expectedMs = new Map<number, { ms: number; n: number }>();

  constructor(
    gpu: GpuContext,
    model: Model,
    options: GpuBackendOptions = {},
  ) {
    const c = (this.config = model.config);
    this.device = gpu.device;
    this.profiler = options.profiler;
    this.maxSequences = options.maxSequences ?? 64;
    this.settleFraction = options.settleFraction ?? SETTLE_FRACTION;
    if (!(this.settleFraction >= 0 && this.settleFraction < 1)) throw new Error(`settleFraction must be in [0, 1), got ${options.settleFraction}`);
    // Per-kernel profiling times each pass; sleeping there would only slow the profile down.
    if (this.settleFraction > 0 && !options.profiler) this.sleepSync = gpu.sleepSync;
    this.maxTokensPerStep = Math.max(this.maxSequences, options.maxTokensPerStep ?? 512);
    this.blockSize = options.blockSize ?? 16;
    const hd = headDim(c);
    const kvd = kvDim(c);
    const maxBlocksPerSeq = Math.ceil(c.seqLen / this.blockSize);
    this.layout = { nHeads: c.nHeads, nKvHeads: c.nKvHeads, headDim: hd, blockSize: this.blockSize, maxBlocksPerSeq };

    // KV budget: blocks of blockSize positions × kvDim floats × (K and V) × layers.
    const blockBytes = this.blockSize * kvd * 4;
    const limits = this.device.limits;
    const fullBytes = this.maxSequences * maxBlocksPerSeq * blockBytes * 2 * c.nLayers;
    const budget = options.kvBudgetBytes ?? Math.min(fullBytes, 512 * 2 ** 20);
    const perLayerMax = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
    this.numBlocks = Math.min(Math.floor(budget / (blockBytes * 2 * c.nLayers)), Math.floor(perLayerMax / blockBytes));
    if (this.numBlocks < maxBlocksPerSeq) {
      throw new Error(
        `${model.source}: the KV cache budget (${(budget / 2 ** 20).toFixed(0)} MiB, ${this.numBlocks} blocks) cannot hold ` +
          `one sequence of the full context (${maxBlocksPerSeq} blocks of ${this.blockSize} positions)`,
      );
    }
    this.blockTable = new Uint32Array(this.maxSequences * maxBlocksPerSeq);
    this.alive = new Array<boolean>(this.maxSequences).fill(false);
    this.seqLength = new Array<number>(this.maxSequences).fill(0);
    this.tables = new Array<TableSource>(this.maxSequences).fill(undefined);
    this.blockStamp = new Uint32Array(this.numBlocks);

    const up = (a: Float32Array, label: string) => {
      const b = bufferFrom(this.device, a, STORAGE, label);
      this.weights.push(b);
      return b;
    };
    const w = model.weights;
    const fuse = options.fuseNorm ?? true;
    const shared = w.wcls === w.tokenEmbedding;
    this.fusedNorms = { layers: fuse, final: fuse && (!shared || w.wcls.length * 4 <= MAX_FOLDED_CLASSIFIER_BYTES) };
    this.tokenEmbedding = up(w.tokenEmbedding, 'token_embedding');
    if (this.fusedNorms.final) this.wcls = up(foldNormWeight(w.wcls, w.rmsFinal, c.vocabSize, c.dim), 'wcls·rms_final');
    else {
      this.rmsFinal = up(w.rmsFinal, 'rms_final');
      this.wcls = shared ? this.tokenEmbedding : up(w.wcls, 'wcls');
    }
    const fold = (m: Float32Array, g: Float32Array, rows: number) => (fuse ? foldNormWeight(m, g, rows, c.dim) : m);
    const qkvRows = c.dim + 2 * kvd;
    const cacheBytes = this.numBlocks * blockBytes;
    w.layers.forEach((l, i) => {
      const kCache = this.device.createBuffer({ label: `k_cache.${i}`, size: cacheBytes, usage: STORAGE });
      const vCache = this.device.createBuffer({ label: `v_cache.${i}`, size: cacheBytes, usage: STORAGE });
      this.weights.push(kCache, vCache);
      this.layers.push({
        ...(fuse ? {} : { rmsAtt: up(l.rmsAtt, `rms_att.${i}`), rmsFfn: up(l.rmsFfn, `rms_ffn.${i}`) }),
        wqkv: up(fold(concatRows(l.wq, l.wk, l.wv), l.rmsAtt, qkvRows), fuse ? `wqkv·rms_att.${i}` : `wqkv.${i}`),
        wo: up(l.wo, `wo.${i}`),
        w13: up(fold(interleaveRows(l.w1, l.w3, c.hiddenDim, c.dim), l.rmsFfn, 2 * c.hiddenDim), fuse ? `w13·rms_ffn.${i}` : `w13.${i}`),
        w2: up(l.w2, `w2.${i}`),
        kCache,
        vCache,
      });
    });

    const T = this.maxTokensPerStep;
    const S = this.maxSequences;
    const f = (name: string, floats: number) => {
      this.s[name] = this.device.createBuffer({ label: name, size: Math.max(16, floats * 4), usage: STORAGE });
    };
    f('x', T * c.dim); // (T, dim) residual stream
    f('x2', T * c.dim); // (T, dim) residual stream, ping-pong
    if (!this.fusedNorms.layers) f('xb', T * c.dim); // (T, dim) normed input (unfused norms only)
    f('qkv', T * (c.dim + 2 * kvd)); // (T, dim + 2·kvDim): q | k | v per row
    f('att', T * c.dim); // (T, dim) attention output
    f('hb13', 2 * T * c.hiddenDim); // (T, hidden, 2) interleaved (gate, up) pairs
    f('hs', T * c.hiddenDim); // (T, hidden) silu(gate)·up
    f('tokens', T); // (T) u32 token ids
    f('positions', T); // (T) u32 positions
    f('tokMeta', 2 * T); // (T, 2) u32 (slot, position)
    f('chunks', 4 * T); // (chunks, 4) u32 prefill chunk descriptors
    f('lastRows', S); // (S) u32 row of each entry's last token
    f('xl', S * c.dim); // (S, dim)
    if (!this.fusedNorms.final) f('xln', S * c.dim); // (S, dim) normed last rows (unfused final norm only)
    f('logits', S * c.vocabSize); // (S, vocab)
    f('sampling', 4 * S); // (S, 4) f32 temperature, topP, u, 0
    f('next', S); // (S) u32 sampled tokens
    f('blockTable', this.blockTable.length);
    this.arena = new UniformArena(this.device, 64 + 24 * c.nLayers);
    this.staging = new BufferPool(this.device);
    this.stepTimer = new Profiler(this.device, gpu.timestamps, 1);
  }

  newSequence(): number {
    const seq = this.alive.indexOf(false);
    if (seq < 0) throw new Error(`all ${this.maxSequences} sequences are in use`);
    this.alive[seq] = true;
    this.seqLength[seq] = 0;
    return seq;
  }

  /** Frees a sequence slot; its blocks belong to the caller's tables (or to the slot's fixed range). */
  freeSequence(seq: number): void {
    if (!this.alive[seq]) return;
    this.alive[seq] = false;
    this.seqLength[seq] = 0;
    const source = this.tables[seq];
    if (source) this.liveBy[source]--;
    this.tables[seq] = undefined;
  }

  length(seq: number): number {
    this.checkSeq(seq);
    return this.seqLength[seq]!;
  }

  private checkSeq(seq: number): void {
    if (!Number.isInteger(seq) || seq < 0 || seq >= this.maxSequences || !this.alive[seq]) {
      throw new Error(`sequence ${seq} is not allocated`);
    }
  }

  /**
   * Throws unless `e` may advance to `end` positions with the blocks it names: ids inside the
   * cache, none named twice in the step (stamped in blockStamp), enough of them to cover `end`,
   * and the ones holding the sequence's KV so far unchanged. Without a table, the slot's fixed
   * range must fit in the cache. Never mixes the two among live sequences.
   */
  private checkTable(e: StepEntry, end: number): void {
    const seq = e.seq;
    const source = e.blocks ? 'caller' : 'slot';
    const n = this.liveBy[source === 'caller' ? 'slot' : 'caller'];
    if (this.tables[seq] !== source && n > 0) {
      throw new Error(
        source === 'caller'
          ? `sequence ${seq}: a block table was given, but ${n} live sequence(s) use the backend's fixed per-slot blocks; live sequences use one or the other`
          : `sequence ${seq}: no block table given, but ${n} live sequence(s) use caller-given tables (StepEntry.blocks); live sequences use one or the other`,
      );
    }
    const bs = this.blockSize;
    const need = Math.ceil(end / bs);
    const maxB = this.layout.maxBlocksPerSeq;
    if (!e.blocks) {
      if (seq * maxB + need > this.numBlocks) {
        throw new Error(
          `sequence ${seq}: its fixed per-slot blocks (${seq * maxB}..${seq * maxB + need - 1}) are beyond the cache's ${this.numBlocks} blocks; ` +
            `give its steps block tables (StepEntry.blocks, as Engine does) or a larger kvBudgetBytes`,
        );
      }
      return;
    }
    const ids = e.blocks;
    if (ids.length < need) {
      throw new Error(`sequence ${seq}: its table of ${ids.length} blocks covers ${ids.length * bs} positions, the entry needs ${end}`);
    }
    for (let i = 0; i < ids.length; i++) {
      const b = ids[i]!;
      if (!Number.isInteger(b) || b < 0 || b >= this.numBlocks) {
        throw new Error(`sequence ${seq}: block id ${b} is outside the cache (0..${this.numBlocks - 1})`);
      }
      if (this.blockStamp[b] === this.stamp) throw new Error(`sequence ${seq}: block ${b} is named twice in one step`);
      this.blockStamp[b] = this.stamp;
    }
    const row = seq * maxB;
    const held = Math.ceil(this.seqLength[seq]! / bs);
    for (let i = 0; i < held; i++) {
      if (ids[i] !== this.blockTable[row + i]) {
        throw new Error(
          `sequence ${seq}: block ${i} of its table is ${ids[i]}, but its KV for positions ${i * bs}..${(i + 1) * bs - 1} is in block ${this.blockTable[row + i]}`,
        );
      }
    }
  }

  async step(entries: StepEntry[], options: { wantLogits?: boolean } = {}): Promise<StepResult> {
    if (this.destroyed) throw new Error('GpuBackend used after destroy()');
    const c = this.config;
    if (entries.length > this.maxSequences) {
      throw new Error(`a step holds at most ${this.maxSequences} entries, got ${entries.length}`);
    }
    // Validate everything before touching the cache.
    const seen = new Set<number>();
    // A fresh stamp for this step's blocks (wrapping after 2^32 - 1 steps: clear and restart).
    if (++this.stamp === 0x1_0000_0000) {
      this.blockStamp.fill(0);
      this.stamp = 1;
    }
    const withTables = entries[0]?.blocks !== undefined;
    for (const e of entries) {
      this.checkSeq(e.seq);
      if ((e.blocks !== undefined) !== withTables) throw new Error(`a step's entries either all carry block tables (StepEntry.blocks) or none do`);
      if (seen.has(e.seq)) throw new Error(`sequence ${e.seq} appears twice in one step`);
      seen.add(e.seq);
      if (e.tokens.length === 0) throw new Error(`sequence ${e.seq}: a step entry needs at least one token`);
      const end = this.seqLength[e.seq]! + e.tokens.length;
      if (end > c.seqLen) {
        throw new Error(`sequence ${e.seq} would reach ${end} tokens, beyond the model's context of ${c.seqLen}`);
      }
      for (const t of e.tokens) {
        if (!Number.isInteger(t) || t < 0 || t >= c.vocabSize) throw new Error(`token id ${t} is outside the vocabulary (0..${c.vocabSize - 1})`);
      }
      this.checkTable(e, end);
    }
    const maxB = this.layout.maxBlocksPerSeq;
    for (const e of entries) {
      const seq = e.seq;
      const source = e.blocks ? 'caller' : 'slot';
      if (this.tables[seq] !== source) {
        this.tables[seq] = source;
        this.liveBy[source]++;
      }
      const need = Math.ceil((this.seqLength[seq]! + e.tokens.length) / this.blockSize);
      const row = seq * maxB;
      for (let i = 0; i < need; i++) this.blockTable[row + i] = e.blocks ? e.blocks[i]! : row + i;
    }

    // Split into submissions of at most maxTokensPerStep tokens; decode entries go first.
    const order = entries.map((_, i) => i).sort((a, b) => entries[a]!.tokens.length - entries[b]!.tokens.length);
    const subs: Piece[][] = [[]];
    let room = this.maxTokensPerStep;
    for (const i of order) {
      const e = entries[i]!;
      let start = this.seqLength[e.seq]!;
      for (let off = 0; off < e.tokens.length; ) {
        if (room === 0) {
          subs.push([]);
          room = this.maxTokensPerStep;
        }
        const n = Math.min(room, e.tokens.length - off);
        subs[subs.length - 1]!.push({ entry: i, seq: e.seq, tokens: e.tokens.slice(off, off + n), start, last: off + n === e.tokens.length });
        off += n;
        start += n;
        room -= n;
      }
    }
    const next = new Uint32Array(entries.length);
    const logits = options.wantLogits ? new Float32Array(entries.length * c.vocabSize) : undefined;
    let busyMs = 0;
    for (const pieces of subs) {
      const r = await this.submit(pieces, entries, !!logits);
      busyMs += r.busyMs;
      for (let j = 0; j < r.entries.length; j++) {
        next[r.entries[j]!] = r.next[j]!;
        if (logits && r.logits) logits.set(r.logits.subarray(j * c.vocabSize, (j + 1) * c.vocabSize), r.entries[j]! * c.vocabSize);
      }
      for (const p of pieces) this.seqLength[p.seq] = p.start + p.tokens.length;
    }
    this.lastSubmissions = subs.length;
    this.lastStepMeasure = { busy: busyMs / 1000, timing: (this.profiler ?? this.stepTimer).source };
    return { next, logits };
  }

  /** Encodes and submits one step over `pieces`; returns samples for pieces that end an entry. */
  private async submit(
    pieces: Piece[],
    entries: StepEntry[],
    wantLogits: boolean,
  ): Promise<{ entries: number[]; next: Uint32Array; logits?: Float32Array; busyMs: number }> {
    const c = this.config;
    const d = this.device;
    const s = this.s;
    const hd = headDim(c);
    const kvd = kvDim(c);
    const qkvW = c.dim + 2 * kvd;
    // Flatten: pieces are ordered shortest first, so single-token (decode) pieces lead.
    const T = pieces.reduce((n, p) => n + p.tokens.length, 0);
    const tokens = new Uint32Array(T);
    const positions = new Uint32Array(T);
    const meta = new Uint32Array(2 * T);
    const chunks: number[] = [];
    const lastRows: number[] = [];
    const sampled: number[] = [];
    const sampling = new Float32Array(4 * pieces.length);
    let nDecode = 0;
    let maxDecodePos = 0;
    let maxChunk = 0;
    let row = 0;
    for (const p of pieces) {
      if (p.tokens.length === 1 && row === nDecode) {
        nDecode++;
        maxDecodePos = Math.max(maxDecodePos, p.start);
      } else {
        chunks.push(row, p.tokens.length, p.seq, p.start);
        maxChunk = Math.max(maxChunk, p.tokens.length);
      }
      for (let j = 0; j < p.tokens.length; j++) {
        tokens[row] = p.tokens[j]!;
        positions[row] = p.start + j;
        meta[2 * row] = p.seq;
        meta[2 * row + 1] = p.start + j;
        row++;
      }
      if (p.last) {
        const e = entries[p.entry]!;
        sampling.set([e.temperature, e.topP, e.u, 0], 4 * lastRows.length);
        lastRows.push(row - 1);
        sampled.push(p.entry);
      }
    }
    const nChunks = chunks.length / 4;
    const S = lastRows.length;
    const q = d.queue;
    q.writeBuffer(s.tokens!, 0, tokens);
    q.writeBuffer(s.positions!, 0, positions);
    q.writeBuffer(s.tokMeta!, 0, meta);
    if (nChunks > 0) q.writeBuffer(s.chunks!, 0, new Uint32Array(chunks));
    if (S > 0) {
      q.writeBuffer(s.lastRows!, 0, new Uint32Array(lastRows));
      q.writeBuffer(s.sampling!, 0, sampling, 0, 4 * S);
    }
    q.writeBuffer(s.blockTable!, 0, this.blockTable);

    const arena = this.arena;
    arena.reset();
    const enc = d.createCommandEncoder({ label: 'step' });
    const prof = this.profiler;
    // Without a per-kernel profiler the whole step is one pass, timed by the step timer.
    let pass: GPUComputePassEncoder | undefined = prof ? undefined : this.stepTimer.beginPass(enc, 'step');
    let dispatches = 0;
    // With a profiler every op gets its own timed pass; otherwise one pass holds the whole step.
    const op = (label: string, record: (p: GPUComputePassEncoder) => void) => {
      dispatches++;
      if (prof) {
        const p = prof.beginPass(enc, label);
        record(p);
        p.end();
      } else record(pass!);
    };

    let x = s.x!;
    let x2 = s.x2!;
    const norm = { eps: c.normEps };
    op('embedding', (p) => encodeEmbedding(d, p, arena, this.tokenEmbedding, s.tokens!, x, T, c.dim));
    for (const L of this.layers) {
      // The attention norm fused into the qkv matmul (or its own dispatch; fuseNorm).
      // q, k and v from one matmul; RoPE on the q and k heads (adjacent at the start of each row)
      // in one dispatch; K/V copied into the paged cache straight from the fused rows.
      if (L.rmsAtt) {
        const g = L.rmsAtt;
        op('rmsnorm', (p) => encodeRmsnorm(d, p, arena, x, g, s.xb!, T, c.dim, c.normEps));
        op('matmul qkv', (p) => encodeMatmul(d, p, arena, s.xb!, L.wqkv, s.qkv!, T, qkvW, c.dim));
      } else op('matmul qkv', (p) => encodeMatmul(d, p, arena, x, L.wqkv, s.qkv!, T, qkvW, c.dim, { norm }));
      op('rope', (p) => encodeRope(d, p, arena, s.qkv!, s.positions!, T, c.nHeads + c.nKvHeads, hd, c.ropeTheta, { rowStride: qkvW }));
      op('kv write', (p) =>
        encodeKvWrite(d, p, arena, this.layout, s.qkv!, s.qkv!, L.kCache, L.vCache, s.blockTable!, s.tokMeta!, T, 0, {
          rowStride: qkvW,
          kOffset: c.dim,
          vOffset: c.dim + kvd,
        }),
      );
      if (nDecode > 0) {
        op('attention decode', (p) =>
          encodeAttentionDecode(d, p, arena, this.layout, s.qkv!, L.kCache, L.vCache, s.blockTable!, s.tokMeta!, s.att!, 0, nDecode, {
            maxPos: maxDecodePos,
            qStride: qkvW,
          }),
        );
      }
      if (nChunks > 0) {
        op('attention prefill', (p) =>
          encodeAttentionPrefill(d, p, arena, this.layout, s.qkv!, L.kCache, L.vCache, s.blockTable!, s.chunks!, s.att!, nChunks, maxChunk, {
            qStride: qkvW,
          }),
        );
      }
      op('matmul wo', (p) => encodeMatmul(d, p, arena, s.att!, L.wo, x2, T, c.dim, c.dim, { residual: x }));
      [x, x2] = [x2, x];
      // Gate and up projections in one matmul (interleaved rows; the FFN norm fused in), then
      // silu(gate)·up on the pairs.
      if (L.rmsFfn) {
        const g = L.rmsFfn;
        op('rmsnorm', (p) => encodeRmsnorm(d, p, arena, x, g, s.xb!, T, c.dim, c.normEps));
        op('matmul ffn', (p) => encodeMatmul(d, p, arena, s.xb!, L.w13, s.hb13!, T, 2 * c.hiddenDim, c.dim));
      } else op('matmul ffn', (p) => encodeMatmul(d, p, arena, x, L.w13, s.hb13!, T, 2 * c.hiddenDim, c.dim, { norm }));
      op('swiglu', (p) => encodeSwigluPairs(d, p, arena, s.hb13!, s.hs!, T * c.hiddenDim));
      op('matmul ffn', (p) => encodeMatmul(d, p, arena, s.hs!, L.w2, x2, T, c.dim, c.hiddenDim, { residual: x }));
      [x, x2] = [x2, x];
    }
    if (S > 0) {
      // Gather each entry's last row (the embedding kernel is a row gather), norm, classify, sample.
      op('gather', (p) => encodeEmbedding(d, p, arena, x, s.lastRows!, s.xl!, S, c.dim));
      const gFinal = this.rmsFinal;
      if (gFinal) {
        op('rmsnorm', (p) => encodeRmsnorm(d, p, arena, s.xl!, gFinal, s.xln!, S, c.dim, c.normEps));
        op('classifier', (p) => encodeMatmul(d, p, arena, s.xln!, this.wcls, s.logits!, S, c.vocabSize, c.dim));
      } else op('classifier', (p) => encodeMatmul(d, p, arena, s.xl!, this.wcls, s.logits!, S, c.vocabSize, c.dim, { norm }));
      op('sample', (p) => encodeSample(d, p, arena, s.logits!, s.sampling!, s.next!, S, c.vocabSize));
    }
    pass?.end();
    arena.flush();
    this.lastDispatches = dispatches;

    const timer = prof ?? this.stepTimer;
    const shape = (T * (this.maxSequences + 1) + S) * 2 + (wantLogits ? 1 : 0);
    const seen = this.expectedMs.get(shape);
    const sleep = this.sleepSync;
    // Only on GPU timestamps (a wall time from the submit would include the sleep and feed on
    // itself), and from a shape's third submission (the first may include compiling the shaders).
    const settle =
      sleep && timer.source === 'timestamp' && seen && seen.n >= 2 ? () => sleep(Math.min(SETTLE_MAX_MS, this.settleFraction * seen.ms)) : undefined;
    const learn = (ms: number) =>
      this.expectedMs.set(shape, !seen ? { ms, n: 1 } : { ms: seen.n === 1 ? ms : Math.min(seen.ms * SETTLE_RISE, ms), n: seen.n + 1 });
    if (S === 0) {
      const profile = await timer.submit(enc, settle);
      learn(profile.totalMs);
      return { entries: [], next: new Uint32Array(0), busyMs: profile.totalMs };
    }
    // Read back the sampled tokens (and logits) in the same submission.
    const nextBytes = S * 4;
    const logitBytes = wantLogits ? S * c.vocabSize * 4 : 0;
    const staging = this.staging.acquire(nextBytes + logitBytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'readback');
    enc.copyBufferToBuffer(s.next!, 0, staging, 0, nextBytes);
    if (wantLogits) enc.copyBufferToBuffer(s.logits!, 0, staging, nextBytes, logitBytes);
    // submit() hands the encoder to the queue before its first await, so the map below follows it.
    const profiled = timer.submit(enc, settle);
    let busyMs: number;
    try {
      [{ totalMs: busyMs }] = await Promise.all([profiled, staging.mapAsync(GPUMapMode.READ, 0, nextBytes + logitBytes)]);
      learn(busyMs);
    } catch (e) {
      this.staging.release(staging);
      throw new Error(`GPU step failed while reading results back: ${(e as Error).message}`);
    }
    const data = staging.getMappedRange(0, nextBytes + logitBytes);
    const next = new Uint32Array(data.slice(0, nextBytes));
    const logits = wantLogits ? new Float32Array(data.slice(nextBytes)) : undefined;
    staging.unmap();
    this.staging.release(staging);
    return { entries: sampled, next, logits, busyMs };
  }

  /**
   * One layer's K and V caches copied back, each (numBlocks, blockSize, nKvHeads, headDim) f32:
   * for tests and debugging (which blocks a step wrote, and what).
   */
  async readKvCache(layer: number): Promise<{ k: Float32Array; v: Float32Array }> {
    const L = this.layers[layer];
    if (!L) throw new RangeError(`readKvCache: layer ${layer} is outside 0..${this.layers.length - 1}`);
    const floats = this.numBlocks * this.blockSize * kvDim(this.config);
    const [k, v] = await Promise.all([readFloat32(this.device, L.kCache, floats), readFloat32(this.device, L.vCache, floats)]);
    return { k, v };
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const b of this.weights) b.destroy();
    for (const b of Object.values(this.s)) b.destroy();
    this.arena.destroy();
    this.staging.destroy();
    this.stepTimer.destroy();
  }
}
