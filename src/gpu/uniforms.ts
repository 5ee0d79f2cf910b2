// Per-submission uniform arena: every dispatch's small parameter block goes into one uniform
// buffer at a 256-byte aligned slot; one writeBuffer uploads them all before the submit.

const SLOT = 256; // minUniformBufferOffsetAlignment is at most 256 on every adapter

export class UniformArena {
  private buffer: GPUBuffer;
  private staging: ArrayBuffer;
  private used = 0;

  constructor(
    private readonly device: GPUDevice,
    private capacitySlots = 256,
  ) {
    this.buffer = this.make();
    this.staging = new ArrayBuffer(capacitySlots * SLOT);
  }

  private make(): GPUBuffer {
    return this.device.createBuffer({
      label: 'uniform-arena',
      size: this.capacitySlots * SLOT,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
  }

  /**
   * Reserves a slot holding `words` (u32/i32/f32 mixed: pass numbers with a type tag string,
   * 'u' unsigned, 'i' signed, 'f' float, one letter per word).
   */
  alloc(types: string, values: number[]): GPUBufferBinding {
    if (types.length !== values.length) throw new Error('UniformArena.alloc: types and values differ in length');
    if (values.length * 4 > SLOT) throw new Error('UniformArena.alloc: block larger than 256 bytes');
    if (this.used >= this.capacitySlots) this.grow();
    const off = this.used * SLOT;
    const dv = new DataView(this.staging, off, SLOT);
    for (let i = 0; i < values.length; i++) {
      const t = types[i];
      if (t === 'u') dv.setUint32(i * 4, values[i]!, true);
      else if (t === 'i') dv.setInt32(i * 4, values[i]!, true);
      else dv.setFloat32(i * 4, values[i]!, true);
    }
    this.used++;
    // Uniform blocks are sized in 16-byte units.
    return { buffer: this.buffer, offset: off, size: Math.max(16, Math.ceil((values.length * 4) / 16) * 16) };
  }

  private grow(): void {
    // Bindings already handed out point at the old buffer; growing mid-step would break them,
    // so we fail loudly instead. Callers size the arena for their largest step.
    throw new Error(`UniformArena: more than ${this.capacitySlots} dispatches in one submission; raise capacitySlots`);
  }

  /** Uploads this submission's slots; call before queue.submit. */
  flush(): void {
    if (this.used > 0) this.device.queue.writeBuffer(this.buffer, 0, this.staging, 0, this.used * SLOT);
  }

  /** Starts a new submission (slots are reused; the previous writeBuffer is ordered before). */
  reset(): void {
    this.used = 0;
  }

  destroy(): void {
    this.buffer.destroy();
  }
}
