/**
 * A one-node ONNX model, written as protobuf bytes by hand (no protobuf dependency): two float32
 * inputs `a` and `b` of symbolic shapes, one output `y`, one operator. Only the fields an ONNX
 * runtime needs to load such a graph are written (onnx.proto3 field numbers in the comments).
 */

const WIRE_VARINT = 0;
const WIRE_BYTES = 2;
const FLOAT32 = 1; // TensorProto.DataType.FLOAT
const ATTR_INT = 2; // AttributeProto.AttributeType.INT

function varint(n: number): number[] {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`varint out of range: ${n}`);
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

const tag = (field: number, wire: number): number[] => varint(field * 8 + wire);
const intField = (field: number, n: number): number[] => [...tag(field, WIRE_VARINT), ...varint(n)];
const bytesField = (field: number, body: number[]): number[] => [
  ...tag(field, WIRE_BYTES),
  ...varint(body.length),
  ...body,
];
const strField = (field: number, s: string): number[] => bytesField(field, [...new TextEncoder().encode(s)]);

/** ValueInfoProto{name=1, type=2: TypeProto{tensor_type=1: {elem_type=1, shape=2: {dim=1: {dim_param=2}}}}}. */
function tensorInfo(name: string, dims: string[]): number[] {
  const shape = dims.flatMap((d) => bytesField(1, strField(2, d)));
  const tensorType = [...intField(1, FLOAT32), ...bytesField(2, shape)];
  return [...strField(1, name), ...bytesField(2, bytesField(1, tensorType))];
}

export interface OneNodeGraph {
  /** Operator type, e.g. `MatMul` or `Gemm`. */
  op: string;
  /** Symbolic dimensions of the inputs and the output. */
  a: string[];
  b: string[];
  y: string[];
  /** Integer attributes of the node (e.g. `transB: 1` for Gemm). */
  intAttributes?: Record<string, number>;
  /** Default opset version 13. */
  opset?: number;
}

/** The ModelProto bytes of `y = op(a, b)`. */
export function oneNodeModel(g: OneNodeGraph): Uint8Array {
  // AttributeProto{name=1, i=3, type=20}
  const attrs = Object.entries(g.intAttributes ?? {}).flatMap(([name, v]) =>
    bytesField(5, [...strField(1, name), ...intField(3, v), ...intField(20, ATTR_INT)]),
  );
  // NodeProto{input=1, output=2, name=3, op_type=4, attribute=5}
  const node = [
    ...strField(1, 'a'),
    ...strField(1, 'b'),
    ...strField(2, 'y'),
    ...strField(3, 'n0'),
    ...strField(4, g.op),
    ...attrs,
  ];
  // GraphProto{node=1, name=2, input=11, output=12}
  const graph = [
    ...bytesField(1, node),
    ...strField(2, 'kvplan-similarity'),
    ...bytesField(11, tensorInfo('a', g.a)),
    ...bytesField(11, tensorInfo('b', g.b)),
    ...bytesField(12, tensorInfo('y', g.y)),
  ];
  // ModelProto{ir_version=1, producer_name=2, graph=7, opset_import=8: {domain=1, version=2}}
  const model = [
    ...intField(1, 7),
    ...strField(2, 'kvplan'),
    ...bytesField(7, graph),
    ...bytesField(8, [...strField(1, ''), ...intField(2, g.opset ?? 13)]),
  ];
  return Uint8Array.from(model);
}
