/**
 * Builds an ONNX graph node by node: float weights as initializers (raw little-endian bytes), int64
 * constants, nodes with attributes, and inputs and outputs with named (dynamic) or fixed dimensions.
 * Value names are made unique from a readable stem, so a graph dump reads like the model.
 */
import {
  AttributeType,
  DataType,
  type AttributeProto,
  type GraphProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './onnx-proto.js';

export type AttributeValue = number | number[] | string | { float: number } | { floats: number[] };
/** A dimension: a fixed size, or a name for a dynamic one ("batch", "patches"). */
export type Dim = number | string;

function toAttribute(name: string, value: AttributeValue): AttributeProto {
  if (typeof value === 'string')
    return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') return { name, type: AttributeType.INT, i: value };
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
  if ('float' in value) return { name, type: AttributeType.FLOAT, f: value.float };
  return { name, type: AttributeType.FLOATS, floats: value.floats };
}

export function valueInfo(name: string, elemType: number, dims: Dim[]): ValueInfoProto {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  readonly inputs: ValueInfoProto[] = [];
  readonly outputs: ValueInfoProto[] = [];
  private readonly used = new Set<string>();

  /** A fresh value name from `stem`. */
  name(stem: string): string {
    let n = stem;
    for (let i = 1; this.used.has(n); i++) n = `${stem}_${i}`;
    this.used.add(n);
    return n;
  }

  input(name: string, elemType: number, dims: Dim[]): string {
    this.used.add(name);
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  /** Names `value` as a graph output (an Identity node when it must be renamed). */
  output(name: string, value: string, elemType: number, dims: Dim[]): void {
    if (value !== name) this.node('Identity', [value], { outputName: name });
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  /** A float initializer; data is copied, laid out row-major over dims. */
  weight(stem: string, dims: number[], data: Float32Array): string {
    const count = dims.reduce((a, b) => a * b, 1);
    if (count !== data.length)
      throw new Error(`${stem}: ${data.length} values for shape [${dims.join(', ')}]`);
    const name = this.name(stem);
    const raw = new Uint8Array(data.length * 4);
    const view = new DataView(raw.buffer); // raw_data is little-endian whatever the host
    for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
    this.initializers.push({ name, dims, data_type: DataType.FLOAT, raw_data: raw });
    return name;
  }

  /** A float scalar (dims []) or vector constant. */
  floats(
    stem: string,
    values: number[],
    dims: number[] = values.length === 1 ? [] : [values.length],
  ): string {
    return this.weight(stem, dims, Float32Array.from(values));
  }

  /** An int64 constant: a vector (shapes, axes) or, with dims [], a scalar (Gather indices). */
  int64s(stem: string, values: number[], dims: number[] = [values.length]): string {
    const name = this.name(stem);
    this.initializers.push({ name, dims, data_type: DataType.INT64, int64_data: values });
    return name;
  }

  /** Adds a node; returns its first output's name (outputs are named after the op unless given). */
  node(
    op: string,
    inputs: string[],
    options: { attrs?: Record<string, AttributeValue>; outputName?: string; outputs?: number } = {},
  ): string {
    const count = options.outputs ?? 1;
    const outputs: string[] = [];
    for (let i = 0; i < count; i++) {
      if (i === 0 && options.outputName) {
        this.used.add(options.outputName);
        outputs.push(options.outputName);
      } else outputs.push(this.name(op.toLowerCase()));
    }
    const attribute = Object.entries(options.attrs ?? {}).map(([k, v]) => toAttribute(k, v));
    this.nodes.push({
      op_type: op,
      name: this.name(`${op}_node`),
      input: inputs,
      output: outputs,
      attribute,
    });
    return outputs[0]!;
  }

  /** A node with several outputs: all their names. */
  nodeOutputs(
    op: string,
    inputs: string[],
    count: number,
    attrs: Record<string, AttributeValue> = {},
  ): string[] {
    this.node(op, inputs, { attrs, outputs: count });
    return this.nodes[this.nodes.length - 1]!.output;
  }

  graph(name: string, docString = ''): GraphProto {
    return {
      name,
      doc_string: docString,
      node: this.nodes,
      initializer: this.initializers,
      input: this.inputs,
      output: this.outputs,
    };
  }
}
