// The ONNX export: the network as one ModelProto of standard operators only (the default
// domain), so that Netron, ONNX Runtime and the vendor tools that import ONNX open it without
// anything of mam's. A MAC layer is MatMul, Add (the bias) and Relu; a MAM layer is
// Unsqueeze and Mul (every product w[j,k] x[j], [batch, n, m]), Slice per input slice,
// ReduceMax and ReduceMin over the inputs, Add, the slices summed in order, the bias, Relu.
// Masks are folded into constants: pruned weights are +0 in the kernels, and an 'absent' MAM
// layer's pruned connections are replaced by -inf before the max and +inf before the min, a
// slice that keeps none of a neuron's connections giving 0. The products, the max and min and
// the sums are those of the tfjs layer in the same order, so MAM layers agree bit for bit with
// mam's; MatMul sums in its own order (to rounding).
//
// Opset 13 (ONNX 1.8, IR version 7): every operator used here computes the same for float32 in
// opsets 13 to 17 (13 is where Unsqueeze took its axes as an input, the form it keeps), and 18
// moved ReduceMax/ReduceMin's axes from an attribute to an input; the older an opset, the more
// importers (converters for accelerators and microcontrollers lag behind ONNX) read it.
//
// Written with a small protobuf encoder of the fields used (onnx.proto, proto2: repeated
// numbers unpacked); no dates or paths, so the same network gives the same bytes.
import { STD_FLOOR } from '../data/pipeline.js';
import { sliceStart } from '../layers/mam-math.js';
import { inputDescription, type ExportLayer, type ExportNetwork } from './network.js';

export const ONNX_OPSET = 13;
export const ONNX_IR_VERSION = 7;
export const ONNX_FILE = 'model.onnx';
/** The graph's input and output names. */
export const ONNX_INPUT = 'input';
export const ONNX_OUTPUT = 'output';
/** metadata_props "format" of an ONNX export of mam. */
export const ONNX_EXPORT_FORMAT = 'mam-ecg-onnx';
export const ONNX_EXPORT_FORMAT_VERSION = 1;

// --- protobuf wire format -------------------------------------------------------------------

const utf8 = new TextEncoder();

function varint(value: number | bigint, into: number[]): void {
  // int64 fields: a negative value is its 64-bit two's complement (ten bytes).
  let v = BigInt.asUintN(64, BigInt(value));
  while (v >= 0x80n) { into.push(Number(v & 0x7fn) | 0x80); v >>= 7n; }
  into.push(Number(v));
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** A varint field (int32, int64, enum). */
function int(field: number, value: number | bigint): Uint8Array {
  const b: number[] = [];
  varint(field << 3, b);
  varint(value, b);
  return Uint8Array.from(b);
}

/** A length-delimited field: bytes, a string, or an embedded message of `parts`. */
function bytes(field: number, ...parts: Uint8Array[]): Uint8Array {
  const body = concat(parts);
  const head: number[] = [];
  varint((field << 3) | 2, head);
  varint(body.length, head);
  return concat([Uint8Array.from(head), body]);
}

const str = (field: number, s: string) => bytes(field, utf8.encode(s));

// --- onnx.proto: the messages and fields used ------------------------------------------------

const DataType = { FLOAT: 1, INT64: 7, BOOL: 9 } as const;
type DataType = (typeof DataType)[keyof typeof DataType];
const AttrType = { INT: 2, INTS: 7 } as const;

type Attribute = { name: string; int: number } | { name: string; ints: number[] };

interface Node {
  name: string;
  op: string;
  inputs: string[];
  output: string;
  attributes?: Attribute[];
  doc?: string;
}

function attributeProto(a: Attribute): Uint8Array {
  // AttributeProto: name 1, i 3, ints 8, type 20.
  return 'int' in a
    ? concat([str(1, a.name), int(3, a.int), int(20, AttrType.INT)])
    : concat([str(1, a.name), ...a.ints.map((v) => int(8, v)), int(20, AttrType.INTS)]);
}

function nodeProto(n: Node): Uint8Array {
  // NodeProto: input 1, output 2, name 3, op_type 4, attribute 5, doc_string 6.
  return concat([
    ...n.inputs.map((i) => str(1, i)), str(2, n.output), str(3, n.name), str(4, n.op),
    ...(n.attributes ?? []).map((a) => bytes(5, attributeProto(a))),
    ...(n.doc ? [str(6, n.doc)] : []),
  ]);
}

function tensorProto(name: string, type: DataType, dims: number[], raw: Uint8Array): Uint8Array {
  // TensorProto: dims 1, data_type 2, name 8, raw_data 9 (little-endian).
  return concat([...dims.map((d) => int(1, d)), int(2, type), str(8, name), bytes(9, raw)]);
}

/** ValueInfoProto of a float tensor [batch, size], batch symbolic. */
function valueInfo(name: string, size: number, doc: string): Uint8Array {
  // TensorShapeProto.Dimension: dim_value 1, dim_param 2.
  const shape = concat([bytes(1, str(2, 'batch')), bytes(1, int(1, size))]);
  // TypeProto.tensor_type 1 -> Tensor: elem_type 1, shape 2.
  const type = bytes(1, int(1, DataType.FLOAT), bytes(2, shape));
  // ValueInfoProto: name 1, type 2, doc_string 3.
  return concat([str(1, name), bytes(2, type), str(3, doc)]);
}

function float32Raw(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(4 * values.length);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i]!, true);
  return out;
}

function int64Raw(values: number[]): Uint8Array {
  const out = new Uint8Array(8 * values.length);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setBigInt64(8 * i, BigInt(v), true));
  return out;
}

// --- the graph ---------------------------------------------------------------------------------

/** Nodes and constants in the order they are made (the graph must list nodes in an order they can run in). */
class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: Uint8Array[] = [];
  private readonly constants = new Set<string>();

  node(op: string, inputs: string[], output: string, attributes?: Attribute[], doc?: string): string {
    this.nodes.push({ name: output, op, inputs, output, ...(attributes ? { attributes } : {}), ...(doc ? { doc } : {}) });
    return output;
  }

  floats(name: string, dims: number[], values: ArrayLike<number>): string {
    return this.constant(name, DataType.FLOAT, dims, float32Raw(values));
  }

  int64s(name: string, values: number[]): string {
    return this.constant(name, DataType.INT64, [values.length], int64Raw(values));
  }

  bools(name: string, dims: number[], values: ArrayLike<number>): string {
    return this.constant(name, DataType.BOOL, dims, Uint8Array.from(values, (v) => (v !== 0 ? 1 : 0)));
  }

  /** A constant shared by the layers (a scalar, an axis list): made once, under one name. */
  shared(name: string, make: (name: string) => string): string {
    if (!this.constants.has(name)) { this.constants.add(name); make(name); }
    return name;
  }

  private constant(name: string, type: DataType, dims: number[], raw: Uint8Array): string {
    this.initializers.push(tensorProto(name, type, dims, raw));
    return name;
  }
}

function macLayer(g: GraphBuilder, l: ExportLayer, x: string): string {
  const p = l.name;
  const kernel = g.floats(`${p}/kernel`, [l.inputSize, l.outputSize], l.kernel);
  return g.node('MatMul', [x, kernel], `${p}/matmul`);
}

/** The sum over slices of each slice's max + min of the products w[j,k] x[j], without the bias. */
function mamLayer(g: GraphBuilder, l: ExportLayer, x: string): string {
  const { name: p, inputSize: n, outputSize: m, splits: S, mask } = l;
  const axis1 = g.shared('axes_1', (name) => g.int64s(name, [1]));
  const axis2 = g.shared('axes_2', (name) => g.int64s(name, [2]));
  const kernel = g.floats(`${p}/kernel`, [n, m], l.kernel);
  const column = g.node('Unsqueeze', [x, axis2], `${p}/x`);
  const products = g.node('Mul', [column, kernel], `${p}/products`, undefined, `w[j,k] x[j]: [batch, ${n}, ${m}]`);

  // 'absent': a pruned connection takes no part, so it must lose every max and every min.
  const absent = l.prunedAs === 'absent' && mask.some((v) => v === 0);
  let forMax = products, forMin = products;
  if (absent) {
    // Where, not an added -inf/+inf: a pruned weight's 0 times an infinite input is NaN, and
    // NaN + -inf stays NaN where the reference skips the connection.
    const keptMask = g.bools(`${p}/kept`, [n, m], mask);
    const negInf = g.shared('minus_inf', (name) => g.floats(name, [], [-Infinity]));
    const posInf = g.shared('plus_inf', (name) => g.floats(name, [], [Infinity]));
    forMax = g.node('Where', [keptMask, products, negInf], `${p}/products_for_max`, undefined, 'pruned connections -inf: they never win the max');
    forMin = g.node('Where', [keptMask, products, posInf], `${p}/products_for_min`, undefined, 'pruned connections +inf: they never win the min');
  }

  let sum = '';
  for (let s = 0; s < S; s++) {
    const j0 = sliceStart(s, n, S), j1 = sliceStart(s + 1, n, S);
    const q = S === 1 ? p : `${p}/slice${s}`;
    let sliceMax = forMax, sliceMin = forMin;
    if (S > 1) {
      const starts = g.int64s(`${q}/starts`, [j0]), ends = g.int64s(`${q}/ends`, [j1]);
      const cut = (t: string, what: string) => g.node('Slice', [t, starts, ends, axis1], `${q}/${what}`, undefined, `inputs ${j0} to ${j1 - 1}`);
      sliceMax = cut(forMax, forMax === forMin ? 'products' : 'products_for_max');
      sliceMin = forMax === forMin ? sliceMax : cut(forMin, 'products_for_min');
    }
    const reduce = [{ name: 'axes', ints: [1] }, { name: 'keepdims', int: 0 }];
    const max = g.node('ReduceMax', [sliceMax], `${q}/max`, reduce);
    const min = g.node('ReduceMin', [sliceMin], `${q}/min`, reduce);
    let term = g.node('Add', [max, min], `${q}/max_plus_min`);
    // A neuron that keeps no connection of this slice has max -inf and min +inf (NaN): it adds 0.
    const anyKept = absent ? Array.from({ length: m }, (_, k) => {
      for (let j = j0; j < j1; j++) if (mask[j * m + k]) return 1;
      return 0;
    }) : [];
    if (anyKept.includes(0)) {
      const zero = g.shared('zero', (name) => g.floats(name, [], [0]));
      term = g.node('Where', [g.bools(`${q}/any_kept`, [m], anyKept), term, zero], `${q}/term`, undefined, 'a neuron with no kept connection in the slice adds 0');
    }
    sum = s === 0 ? term : g.node('Add', [sum, term], `${p}/sum${s}`);
  }
  return sum;
}

/** The text of doc_string: what the model is and what its input must be. */
function docString(net: ExportNetwork, about: { preset: string; kind: string }): string {
  const first = net.layers[0]!, last = net.layers.at(-1)!;
  const { fs, window, baseline, normalization: norm } = net.preprocessing;
  const normText = norm.method === 'window'
    ? `each window minus its own mean, divided by its own standard deviation (population, at least ${STD_FLOOR})`
    : norm.method === 'dataset'
      ? `each sample minus ${norm.mean}, divided by ${norm.std} (the training windows' mean and standard deviation)`
      : 'millivolts as they are (no normalisation)';
  return [
    `A ${about.preset} ${about.kind.toUpperCase()} ECG autoencoder exported by mam-ecg${net.skipped > 0 ? ` (its last ${net.layers.length} layers)` : ''}.`,
    net.skipped === 0
      ? `Input '${ONNX_INPUT}' [batch, ${first.inputSize}]: windows of ${window} samples of one ECG lead in mV, resampled to ${fs} Hz${baseline === 'highpass' ? ', baseline wander removed over the whole record (0.5 Hz zero-phase Butterworth high-pass)' : ''}, then ${normText}.`
      : `Input '${ONNX_INPUT}' [batch, ${first.inputSize}]: the activations of the layer before ${first.name} (the model's preprocessing, for its first layer: ${window} samples at ${fs} Hz, baseline ${baseline}, normalisation ${norm.method}).`,
    `Output '${ONNX_OUTPUT}' [batch, ${last.outputSize}]: ${net.skipped === 0 ? 'the reconstructed window, in the same units as the input' : `the outputs of ${last.name}`}.`,
    `Layers: ${net.layers.map((l) => `${l.name} ${l.kind} ${l.inputSize}->${l.outputSize} ${l.activation}${l.kind === 'mam' ? ` (splits ${l.splits}, pruned as ${l.prunedAs})` : ''}`).join(', ')}.`,
    'A MAM neuron: y[k] = sum over input slices of (max_j w[j,k] x[j] + min_j w[j,k] x[j]) + b[k].',
  ].join('\n');
}

/** The ONNX ModelProto of `net`, as bytes. */
export function exportOnnx(net: ExportNetwork, about: { preset: string; kind: string }): Uint8Array {
  const g = new GraphBuilder();
  let h = ONNX_INPUT;
  for (const l of net.layers) {
    const y = l.kind === 'mam' ? mamLayer(g, l, h) : macLayer(g, l, h);
    h = g.node('Add', [y, g.floats(`${l.name}/bias`, [l.outputSize], l.bias)], `${l.name}/biased`);
    if (l.activation === 'relu') h = g.node('Relu', [h], `${l.name}/relu`);
  }
  // The last node writes the graph's output (no node reads what it makes).
  g.nodes.at(-1)!.output = ONNX_OUTPUT;

  const first = net.layers[0]!, last = net.layers.at(-1)!;
  const description = inputDescription(net);
  const graph = concat([
    ...g.nodes.map((n) => bytes(1, nodeProto(n))),
    str(2, `mam_ecg_${about.kind}`),
    ...g.initializers.map((t) => bytes(5, t)),
    bytes(11, valueInfo(ONNX_INPUT, first.inputSize, description.input.of === 'window' ? 'preprocessed ECG windows (see the model\'s doc_string)' : `activations before ${first.name}`)),
    bytes(12, valueInfo(ONNX_OUTPUT, last.outputSize, `outputs of ${last.name}`)),
  ]);
  const metadata: Array<[string, string]> = [
    ['format', ONNX_EXPORT_FORMAT],
    ['formatVersion', String(ONNX_EXPORT_FORMAT_VERSION)],
    ['model', JSON.stringify({ ...about, layers: net.layers.length })],
    ['preprocessing', JSON.stringify(description.preprocessing)],
    ['input', JSON.stringify(description.input)],
  ];
  // ModelProto: ir_version 1, producer_name 2, doc_string 6, graph 7, opset_import 8, metadata_props 14.
  return concat([
    int(1, ONNX_IR_VERSION),
    str(2, 'mam-ecg'),
    str(6, docString(net, about)),
    bytes(7, graph),
    bytes(8, str(1, ''), int(2, ONNX_OPSET)),
    ...metadata.map(([key, value]) => bytes(14, str(1, key), str(2, value))),
  ]);
}
