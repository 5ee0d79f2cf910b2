// Shape checks shared by the op wrappers (errors are checked at the GPU boundary, STYLE 8):
// every dimension is a positive integer and every buffer holds at least what the shape needs.

/** Throws unless each named dimension is a positive integer. */
export function checkDims(op: string, dims: Record<string, number>): void {
  for (const [name, v] of Object.entries(dims)) {
    if (!Number.isInteger(v) || v <= 0) {
      throw new Error(`${op}: ${name} must be a positive integer, got ${v}`);
    }
  }
}

/** Throws unless `buffer` holds at least `elements` 4-byte values (f32 or u32). */
export function checkBuffer(op: string, name: string, buffer: GPUBuffer, elements: number, shape: string): void {
  const need = elements * 4;
  if (buffer.size < need) {
    throw new Error(`${op}: ${name} is ${buffer.size} bytes, too small for ${shape} (needs ${need} bytes)`);
  }
}

/** Throws when two bindings of one dispatch are the same buffer where one of them is written. */
export function checkDistinct(op: string, written: [string, GPUBuffer], ...others: [string, GPUBuffer][]): void {
  for (const [name, b] of others) {
    if (b === written[1]) throw new Error(`${op}: ${written[0]} and ${name} must be different buffers`);
  }
}
