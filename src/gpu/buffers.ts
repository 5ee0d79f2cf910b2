// Buffer pool: scratch buffers are reused across steps instead of being created per dispatch.
// Sizes are rounded up to a power of two (at least 256 bytes) so similar requests share buffers.

export const STORAGE = 0x0080 | 0x0008 | 0x0004; // STORAGE | COPY_DST | COPY_SRC
export const UNIFORM = 0x0040 | 0x0008; // UNIFORM | COPY_DST

function bucket(size: number): number {
  let s = 256;
  while (s < size) s *= 2;
  return s;
}

export class BufferPool {
  private free = new Map<string, GPUBuffer[]>();
  private live = new Set<GPUBuffer>();
  constructor(private readonly device: GPUDevice) {}

  acquire(size: number, usage: number = STORAGE, label?: string): GPUBuffer {
    const s = bucket(size);
    const key = `${usage}:${s}`;
    const list = this.free.get(key);
    const b = list?.pop() ?? this.device.createBuffer({ size: s, usage, label });
    this.live.add(b);
    return b;
  }

  release(b: GPUBuffer): void {
    if (!this.live.delete(b)) return;
    const key = `${b.usage}:${b.size}`;
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    list.push(b);
  }

  /** Buffers handed out and not yet released. */
  get liveCount(): number {
    return this.live.size;
  }

  destroy(): void {
    for (const b of this.live) b.destroy();
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.live.clear();
    this.free.clear();
  }
}

/** Creates a buffer holding `data` (rounded up to 4 bytes). */
export function bufferFrom(
  device: GPUDevice,
  data: ArrayBufferView,
  usage: number = STORAGE,
  label?: string,
): GPUBuffer {
  const size = Math.max(16, Math.ceil(data.byteLength / 4) * 4);
  const b = device.createBuffer({ size, usage, label, mappedAtCreation: true });
  new Uint8Array(b.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  b.unmap();
  return b;
}

/** Copies `size` bytes of a buffer back to the CPU. */
export async function readBuffer(device: GPUDevice, src: GPUBuffer, size = src.size, offset = 0): Promise<ArrayBuffer> {
  const aligned = Math.ceil(size / 4) * 4;
  const staging = device.createBuffer({ size: aligned, usage: 0x0001 | 0x0008 }); // MAP_READ | COPY_DST
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(src, offset, staging, 0, aligned);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(0x0001);
  const out = staging.getMappedRange().slice(0, size);
  staging.unmap();
  staging.destroy();
  return out;
}

export async function readFloat32(device: GPUDevice, src: GPUBuffer, count: number): Promise<Float32Array> {
  return new Float32Array(await readBuffer(device, src, count * 4));
}

export async function readUint32(device: GPUDevice, src: GPUBuffer, count: number): Promise<Uint32Array> {
  return new Uint32Array(await readBuffer(device, src, count * 4));
}
