// A minimal ONNX writer: hand-encoded protobuf for the messages a plain inference graph needs
// (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto, opset import).
// Field numbers follow onnx/onnx.proto; no third-party converter or protobuf library is used.
//
// Protobuf wire format in brief: every field is a key varint (field number << 3 | wire type)
// followed by its value: wire type 0 = varint (ints, enums), 2 = length-delimited (strings,
// bytes, nested messages, packed repeated scalars), 5 = 32-bit little-endian (float).

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9 } as const;
export type DataTypeName = keyof typeof DataType;

/** ONNX IR version 8 goes with opset 17 (onnx 1.12+); ORT reads it everywhere. */
export const IR_VERSION = 8;
export const OPSET = 17;

// ---------------------------------------------------------------------------------------------
// Protobuf encoding.

const textEncoder = new TextEncoder();

/** Appends protobuf fields to a growable byte buffer. */
class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** Unsigned or negative (two's complement, 10 bytes) varint of a safe integer or bigint. */
  varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    this.ensure(10);
    do {
      let byte = Number(x & 0x7fn);
      x >>= 7n;
      if (x !== 0n) byte |= 0x80;
      this.buf[this.len++] = byte;
    } while (x !== 0n);
  }

  private key(field: number, wire: 0 | 2 | 5): void {
    this.varint((field << 3) | wire);
  }

  /** Varint field (int32/int64/enum); zero values are still written (harmless, explicit). */
  int(field: number, v: number | bigint): void {
    this.key(field, 0);
    this.varint(v);
  }

  float(field: number, v: number): void {
    this.key(field, 5);
    this.ensure(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.len, 4).setFloat32(0, v, true);
    this.len += 4;
  }

  bytes(field: number, b: Uint8Array): void {
    this.key(field, 2);
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  string(field: number, s: string): void {
    this.bytes(field, textEncoder.encode(s));
  }

  message(field: number, fill: (w: ProtoWriter) => void): void {
    const w = new ProtoWriter();
    fill(w);
    this.bytes(field, w.finish());
  }

  /** Packed repeated varints (proto3 default for repeated scalars). */
  packedInts(field: number, vs: readonly (number | bigint)[]): void {
    const w = new ProtoWriter();
    for (const v of vs) w.varint(v);
    this.bytes(field, w.finish());
  }

  packedFloats(field: number, vs: readonly number[]): void {
    const b = new Uint8Array(vs.length * 4);
    const dv = new DataView(b.buffer);
    vs.forEach((v, i) => dv.setFloat32(i * 4, v, true));
    this.bytes(field, b);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

// ---------------------------------------------------------------------------------------------
// The graph, as plain data.

/** A dimension: a fixed size, or a symbolic name for a dynamic one (e.g. 'T'). */
export type Dim = number | string;

export interface ValueInfo {
  name: string;
  type: DataTypeName;
  shape: Dim[];
}

/** An initializer; the data is stored little-endian as raw_data. */
export interface Tensor {
  name: string;
  type: DataTypeName;
  dims: number[];
  data: Float32Array | Int32Array | BigInt64Array | Uint8Array;
}

export type AttributeValue =
  | { kind: 'float'; value: number }
  | { kind: 'int'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'floats'; value: number[] }
  | { kind: 'ints'; value: number[] }
  | { kind: 'tensor'; value: Tensor };

export interface Node {
  opType: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attributes?: Record<string, AttributeValue>;
}

export interface Graph {
  name: string;
  nodes: Node[];
  initializers: Tensor[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

export interface ModelOptions {
  producer?: string;
  opset?: number;
  docString?: string;
}

// AttributeProto.AttributeType
const ATTR_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

function elementBytes(t: Tensor): number {
  return t.data.BYTES_PER_ELEMENT;
}

function rawBytes(t: Tensor): Uint8Array {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== count) {
    throw new Error(`tensor ${t.name}: ${t.data.length} elements for dims [${t.dims.join(', ')}] (${count})`);
  }
  const expected = { FLOAT: 4, INT32: 4, INT64: 8, BOOL: 1 }[t.type];
  if (elementBytes(t) !== expected) throw new Error(`tensor ${t.name}: data array does not hold ${t.type}`);
  // ONNX raw_data is little-endian; so are typed arrays on every platform a browser runs on.
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

function writeTensor(w: ProtoWriter, t: Tensor): void {
  w.packedInts(1, t.dims); // dims
  w.int(2, DataType[t.type]); // data_type
  w.string(8, t.name); // name
  w.bytes(9, rawBytes(t)); // raw_data
}

function writeValueInfo(w: ProtoWriter, v: ValueInfo): void {
  w.string(1, v.name);
  w.message(2, (tp) =>
    // TypeProto.tensor_type
    tp.message(1, (tt) => {
      tt.int(1, DataType[v.type]); // elem_type
      tt.message(2, (shape) => {
        for (const d of v.shape) {
          shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
        }
      });
    }),
  );
}

function writeAttribute(w: ProtoWriter, name: string, a: AttributeValue): void {
  w.string(1, name);
  w.int(20, ATTR_TYPE[a.kind]); // type
  switch (a.kind) {
    case 'float':
      w.float(2, a.value);
      break;
    case 'int':
      w.int(3, a.value);
      break;
    case 'string':
      w.string(4, a.value);
      break;
    case 'tensor':
      w.message(5, (t) => writeTensor(t, a.value));
      break;
    case 'floats':
      w.packedFloats(7, a.value);
      break;
    case 'ints':
      w.packedInts(8, a.value);
      break;
  }
}

function writeNode(w: ProtoWriter, n: Node): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.opType);
  for (const [k, v] of Object.entries(n.attributes ?? {})) w.message(5, (a) => writeAttribute(a, k, v));
}

function writeGraph(w: ProtoWriter, g: Graph): void {
  for (const n of g.nodes) w.message(1, (m) => writeNode(m, n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, (m) => writeTensor(m, t));
  for (const v of g.inputs) w.message(11, (m) => writeValueInfo(m, v));
  for (const v of g.outputs) w.message(12, (m) => writeValueInfo(m, v));
}

/** Serialises a graph as an ONNX ModelProto (default domain, opset 17). */
export function encodeModel(g: Graph, options: ModelOptions = {}): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, IR_VERSION); // ir_version
  w.string(2, options.producer ?? 'multiplex'); // producer_name
  if (options.docString) w.string(6, options.docString);
  w.message(7, (m) => writeGraph(m, g)); // graph
  w.message(8, (m) => {
    // opset_import: default domain
    m.string(1, '');
    m.int(2, options.opset ?? OPSET);
  });
  return w.finish();
}

// ---------------------------------------------------------------------------------------------
// A small builder: unique names, initializers and constants, one call per node.

export const attr = {
  float: (value: number): AttributeValue => ({ kind: 'float', value }),
  int: (value: number): AttributeValue => ({ kind: 'int', value }),
  string: (value: string): AttributeValue => ({ kind: 'string', value }),
  floats: (value: number[]): AttributeValue => ({ kind: 'floats', value }),
  ints: (value: number[]): AttributeValue => ({ kind: 'ints', value }),
};

export class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: Tensor[] = [];
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  private readonly names = new Set<string>();
  private readonly constants = new Map<string, string>();
  private counter = 0;

  constructor(readonly name: string) {}

  /** A fresh value name starting with `hint`. */
  fresh(hint: string): string {
    let n = hint;
    while (this.names.has(n)) n = `${hint}_${this.counter++}`;
    this.names.add(n);
    return n;
  }

  input(name: string, type: DataTypeName, shape: Dim[]): string {
    this.claim(name);
    this.inputs.push({ name, type, shape });
    return name;
  }

  /** Declares `value` a graph output named `name` (an Identity node renames it when needed). */
  output(value: string, name: string, type: DataTypeName, shape: Dim[]): void {
    if (value !== name) {
      this.claim(name);
      this.nodes.push({ opType: 'Identity', inputs: [value], outputs: [name] });
    }
    this.outputs.push({ name, type, shape });
  }

  initializer(name: string, type: DataTypeName, dims: number[], data: Tensor['data']): string {
    const n = this.fresh(name);
    this.initializers.push({ name: n, type, dims, data });
    return n;
  }

  /** A float32 initializer. */
  floats(name: string, dims: number[], data: Float32Array): string {
    return this.initializer(name, 'FLOAT', dims, data);
  }

  /** A shared int64 constant (1-D unless dims say otherwise), e.g. a Reshape target shape. */
  int64s(values: number[], dims: number[] = [values.length]): string {
    const key = `i64:${dims.join('x')}:${values.join(',')}`;
    let n = this.constants.get(key);
    if (!n) {
      n = this.initializer('const_i64', 'INT64', dims, BigInt64Array.from(values, (v) => BigInt(v)));
      this.constants.set(key, n);
    }
    return n;
  }

  /** A shared float32 scalar constant. */
  scalar(value: number): string {
    const key = `f32:${Object.is(value, -0) ? '-0' : value}`;
    let n = this.constants.get(key);
    if (!n) {
      n = this.initializer('const_f32', 'FLOAT', [], Float32Array.of(value));
      this.constants.set(key, n);
    }
    return n;
  }

  /** Adds a node with one output; returns the output's name. */
  op(opType: string, inputs: string[], attributes?: Record<string, AttributeValue>, hint?: string): string {
    return this.opN(opType, inputs, 1, attributes, hint)[0]!;
  }

  /**
   * Adds a node with `nOutputs` outputs. Their names start with '/' (e.g. "/layers.0.wq_out"),
   * so they never take a name a graph input, output or initializer is given later.
   */
  opN(
    opType: string,
    inputs: string[],
    nOutputs: number,
    attributes?: Record<string, AttributeValue>,
    hint?: string,
  ): string[] {
    const base = `/${hint ?? opType.toLowerCase()}`;
    const outputs = Array.from({ length: nOutputs }, (_, i) => this.fresh(nOutputs === 1 ? base : `${base}_${i}`));
    this.nodes.push({ opType, inputs, outputs, name: `${opType}_${this.nodes.length}`, attributes });
    return outputs;
  }

  graph(): Graph {
    return { name: this.name, nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs };
  }

  encode(options?: ModelOptions): Uint8Array {
    return encodeModel(this.graph(), options);
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new Error(`ONNX graph ${this.name}: the name ${name} is used twice`);
    this.names.add(name);
  }
}
