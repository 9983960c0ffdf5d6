/**
 * ONNX's ModelProto through protobufjs: encode a model we built, decode one a user hands us. The message
 * types come from ONNX's own onnx.proto (onnx-descriptor.ts, generated); the interfaces below name the
 * fields Tessera reads and writes (snake_case, as in the .proto).
 */
import protobuf from 'protobufjs/light.js';
import { onnxDescriptor } from './onnx-descriptor.js';

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, FLOAT16: 10, DOUBLE: 11 } as const;

/** AttributeProto.AttributeType values used here. */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

export interface TensorProto {
  name?: string;
  dims?: number[];
  data_type?: number;
  raw_data?: Uint8Array;
  float_data?: number[];
  int64_data?: number[];
  int32_data?: number[];
  /** External data: the tensor's bytes live in another file (data_location = 1). */
  data_location?: number;
}

export interface AttributeProto {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProto;
  floats?: number[];
  ints?: number[];
}

export interface NodeProto {
  op_type: string;
  domain?: string;
  name?: string;
  input: string[];
  output: string[];
  attribute?: AttributeProto[];
}

export interface DimensionProto {
  dim_value?: number;
  dim_param?: string;
}

export interface TypeProto {
  tensor_type?: { elem_type?: number; shape?: { dim?: DimensionProto[] } };
}

export interface ValueInfoProto {
  name: string;
  type?: TypeProto;
  doc_string?: string;
}

export interface GraphProto {
  name?: string;
  node?: NodeProto[];
  initializer?: TensorProto[];
  input?: ValueInfoProto[];
  output?: ValueInfoProto[];
  value_info?: ValueInfoProto[];
  doc_string?: string;
}

export interface OperatorSetIdProto {
  domain?: string;
  version: number;
}

export interface ModelProto {
  ir_version?: number;
  opset_import?: OperatorSetIdProto[];
  producer_name?: string;
  producer_version?: string;
  domain?: string;
  model_version?: number;
  doc_string?: string;
  graph?: GraphProto;
  metadata_props?: { key: string; value: string }[];
}

let modelType: protobuf.Type | null = null;

function modelProtoType(): protobuf.Type {
  modelType ??= protobuf.Root.fromJSON(onnxDescriptor as protobuf.INamespace).lookupType('onnx.ModelProto');
  return modelType;
}

export function encodeModel(model: ModelProto): Uint8Array {
  const type = modelProtoType();
  return type.encode(type.fromObject(model as Record<string, unknown>)).finish();
}

/** Decodes ModelProto bytes; throws protobufjs's error on bytes that are not one. */
export function decodeModel(bytes: Uint8Array): ModelProto {
  const type = modelProtoType();
  const message = type.decode(bytes);
  return type.toObject(message, { longs: Number, enums: Number, defaults: false }) as ModelProto;
}
