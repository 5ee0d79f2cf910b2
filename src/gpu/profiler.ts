// Profiler: times compute passes with timestamp queries when the device has 'timestamp-query';
// otherwise it measures submit -> onSubmittedWorkDone wall time per submission and labels the
// figures as such (source: 'wall'). Per-kernel shares exist only with timestamps.
import { BufferPool } from './buffers.js';

export interface PassTiming {
  label: string;
  ms: number;
}

export interface SubmissionProfile {
  source: 'timestamp' | 'wall';
  /** GPU time of all timed passes (timestamp) or submit->done wall time (wall), in ms. */
  totalMs: number;
  passes: PassTiming[];
}

export class Profiler {
  readonly source: 'timestamp' | 'wall';
  private querySet?: GPUQuerySet;
  private resolveBuf?: GPUBuffer;
  private labels: string[] = [];
  private wallStart = 0;
  /** Timestamp readback buffers, reused from submission to submission. */
  private readonly readbacks: BufferPool;
  /** Accumulated time per label over all collected submissions. */
  readonly totals = new Map<string, { ms: number; count: number }>();

  constructor(
    private readonly device: GPUDevice,
    timestamps: boolean,
    private readonly maxPasses = 512,
  ) {
    this.source = timestamps ? 'timestamp' : 'wall';
    this.readbacks = new BufferPool(device);
    if (timestamps) {
      this.querySet = device.createQuerySet({ type: 'timestamp', count: maxPasses * 2 });
      this.resolveBuf = device.createBuffer({
        size: maxPasses * 2 * 8,
        usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
      });
    }
  }

  /** Begins a compute pass that is timed under `label` (when timestamps exist). */
  beginPass(encoder: GPUCommandEncoder, label: string): GPUComputePassEncoder {
    if (!this.querySet || this.labels.length >= this.maxPasses) {
      return encoder.beginComputePass({ label });
    }
    const i = this.labels.length;
    this.labels.push(label);
    return encoder.beginComputePass({
      label,
      timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
    });
  }

  /**
   * Submits `encoder` and returns the profile of its passes. With timestamps the query results are
   * resolved in the same submission; without, the wall time to completion is measured.
   * `beforeWait` runs right after the submit, before anything waits on the GPU.
   */
  async submit(encoder: GPUCommandEncoder, beforeWait?: () => void): Promise<SubmissionProfile> {
    const n = this.labels.length;
    let readback: GPUBuffer | undefined;
    if (this.querySet && this.resolveBuf && n > 0) {
      encoder.resolveQuerySet(this.querySet, 0, 2 * n, this.resolveBuf, 0);
      readback = this.readbacks.acquire(2 * n * 8, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'timestamps');
      encoder.copyBufferToBuffer(this.resolveBuf, 0, readback, 0, 2 * n * 8);
    }
    const labels = this.labels;
    this.labels = [];
    this.wallStart = performance.now();
    this.device.queue.submit([encoder.finish()]);
    beforeWait?.();
    if (!readback) {
      await this.device.queue.onSubmittedWorkDone();
      const ms = performance.now() - this.wallStart;
      this.add('step (wall)', ms);
      return { source: 'wall', totalMs: ms, passes: [{ label: 'step (wall)', ms }] };
    }
    let t: BigUint64Array;
    try {
      await readback.mapAsync(GPUMapMode.READ, 0, 2 * n * 8);
      t = new BigUint64Array(readback.getMappedRange(0, 2 * n * 8).slice(0));
    } finally {
      // A buffer goes back to the pool unmapped, whether or not the read succeeded.
      if (readback.mapState === 'mapped') readback.unmap();
      this.readbacks.release(readback);
    }
    const passes: PassTiming[] = [];
    let total = 0;
    for (let i = 0; i < n; i++) {
      const d = t[2 * i + 1]! - t[2 * i]!;
      // Some implementations report end < begin for empty passes; clamp at zero.
      const ms = d > 0n ? Number(d) / 1e6 : 0;
      passes.push({ label: labels[i]!, ms });
      this.add(labels[i]!, ms);
      total += ms;
    }
    return { source: 'timestamp', totalMs: total, passes };
  }

  private add(label: string, ms: number): void {
    const e = this.totals.get(label);
    if (e) {
      e.ms += ms;
      e.count++;
    } else this.totals.set(label, { ms, count: 1 });
  }

  /** Share of accumulated time per label, largest first. */
  shares(): { label: string; ms: number; share: number; count: number }[] {
    let sum = 0;
    for (const v of this.totals.values()) sum += v.ms;
    return [...this.totals.entries()]
      .map(([label, v]) => ({ label, ms: v.ms, count: v.count, share: sum > 0 ? v.ms / sum : 0 }))
      .sort((a, b) => b.ms - a.ms);
  }

  reset(): void {
    this.totals.clear();
  }

  destroy(): void {
    this.readbacks.destroy();
    this.querySet?.destroy();
    this.resolveBuf?.destroy();
  }
}
