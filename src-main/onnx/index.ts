/** ONNX: export of the engine's models (encoder, aggregator, whole slide) and import of patch encoders. */
export {
  buildOnnxModel,
  exportOnnx,
  onnxExportFiles,
  ONNX_IR_VERSION,
  ONNX_OPSET,
  type OnnxExportInfo,
  type OnnxGraphKind,
} from './export.js';
export { weightsOf, type ModelWeights } from './model-weights.js';
export { DataType, decodeModel, encodeModel, type ModelProto } from './onnx-proto.js';
export {
  OnnxEncoder,
  describeOnnxEncoder,
  type Normalisation,
  type OnnxEncoderInfo,
} from './onnx-encoder.js';
