// The hand-written ONNX writer: the bytes of a known message, and small graphs that
// onnxruntime-web (wasm backend, Node) loads and computes correctly.
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-web';
import { attr, encodeModel, GraphBuilder } from '../../src/ort/onnx-writer.js';

ort.env.wasm.numThreads = 1;

async function run(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const s = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], logSeverityLevel: 3 });
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

describe('ONNX writer', () => {
  it('encodes ModelProto fields with protobuf keys, varints and packed ints', () => {
    const bytes = encodeModel(
      {
        name: 'g',
        nodes: [{ opType: 'Relu', inputs: ['x'], outputs: ['y'] }],
        initializers: [],
        inputs: [{ name: 'x', type: 'FLOAT', shape: [300] }],
        outputs: [{ name: 'y', type: 'FLOAT', shape: ['N'] }],
      },
      { producer: 'p' },
    );
    // ir_version (field 1, varint) = 8, then producer_name (field 2, length-delimited) = "p".
    expect(Array.from(bytes.subarray(0, 5))).toEqual([0x08, 8, 0x12, 1, 0x70]);
    // opset_import (field 8) is last: { domain "" , version 17 }.
    expect(Array.from(bytes.subarray(bytes.length - 6))).toEqual([0x42, 4, 0x0a, 0, 0x10, 17]);
    // dim_value 300 as a two-byte varint (0xac 0x02) inside the input's shape.
    const hex = Buffer.from(bytes).toString('hex');
    expect(hex).toContain('08ac02');
  });

  it('writes a MatMul + Add graph with float initializers (raw_data) that ORT runs exactly', async () => {
    const g = new GraphBuilder('t');
    const a = g.input('a', 'FLOAT', ['M', 3]);
    const b = g.floats('b', [3, 2], Float32Array.of(1, 2, 3, 4, 5, 6)); // (3, 2)
    const c = g.floats('c', [2], Float32Array.of(10, 20));
    g.output(g.op('Add', [g.op('MatMul', [a, b]), c]), 'y', 'FLOAT', ['M', 2]);
    const r = await run(g.encode(), { a: new ort.Tensor('float32', Float32Array.of(1, 0, 0, 0, 1, 1, 2, 2, 2), [3, 3]) });
    expect(r.y!.dims).toEqual([3, 2]);
    expect(Array.from(r.y!.data as Float32Array)).toEqual([11, 22, 18, 30, 28, 44]);
  });

  it('writes int, float and ints attributes (negative values too) and int64 initializers', async () => {
    const g = new GraphBuilder('attrs');
    const x = g.input('x', 'FLOAT', [2, 3]);
    // Transpose perm=[1, 0] → (3, 2); Softmax axis=-1; Gemm alpha=0.5 (float attribute) transB=1.
    const t = g.op('Transpose', [x], { perm: attr.ints([1, 0]) });
    const sm = g.op('Softmax', [t], { axis: attr.int(-1) });
    const gm = g.op('Gemm', [t, g.floats('w', [4, 2], Float32Array.of(1, 0, 0, 1, 1, 1, 2, -1))], { alpha: attr.float(0.5), transB: attr.int(1) }); // (3, 4)
    const rs = g.op('Reshape', [gm, g.int64s([2, -1])]); // (2, 6)
    const rm = g.op('ReduceMean', [x], { axes: attr.ints([-1]), keepdims: attr.int(0) }); // (2)
    g.output(sm, 'softmax', 'FLOAT', [3, 2]);
    g.output(rs, 'gemm', 'FLOAT', [2, 6]);
    g.output(rm, 'mean', 'FLOAT', [2]);
    const xs = Float32Array.of(0, 1, 2, 3, 4, 5); // rows [0 1 2], [3 4 5]
    const r = await run(g.encode(), { x: new ort.Tensor('float32', xs, [2, 3]) });
    const e3 = 1 / (1 + Math.exp(-3)); // softmax of (a, a + 3)
    const sm0 = Array.from(r.softmax!.data as Float32Array);
    for (let i = 0; i < 3; i++) {
      expect(sm0[2 * i]!).toBeCloseTo(1 - e3, 6);
      expect(sm0[2 * i + 1]!).toBeCloseTo(e3, 6);
    }
    // tᵀ rows: (0,3), (1,4), (2,5); · wᵀ with w rows (1,0), (0,1), (1,1), (2,-1); × 0.5.
    const expected = [0, 3, 1, 4, 2, 5]
      .reduce<number[][]>((rows, v, i) => (i % 2 ? (rows[rows.length - 1]!.push(v), rows) : [...rows, [v]]), [])
      .flatMap(([p, q]) => [p!, q!, p! + q!, 2 * p! - q!].map((v) => 0.5 * v));
    expect(r.gemm!.dims).toEqual([2, 6]);
    expect(Array.from(r.gemm!.data as Float32Array)).toEqual(expected);
    expect(Array.from(r.mean!.data as Float32Array)).toEqual([1, 4]);
  });

  it('rejects data that does not fit the declared dims, and reused names', () => {
    const g = new GraphBuilder('bad');
    g.floats('w', [2, 2], Float32Array.of(1, 2, 3));
    expect(() => g.encode()).toThrow(/3 elements for dims \[2, 2\]/);
    g.input('x', 'FLOAT', [1]);
    expect(() => g.input('x', 'FLOAT', [1])).toThrow(/used twice/);
  });
});
