/**
 * The slide layer's Pillow-compatible pixel helpers the training data path reuses (Lanczos-3 as Pillow's
 * Image.resize(LANCZOS), box reduction as Image.reduce, flattening onto white). The one module of training
 * that reaches inside slides/ for them, so that a move there changes one import block here.
 */
export {
  alphaDropper,
  lanczosResampler,
  nativeBoxReducer,
  type LanczosResampler,
} from '../slides/codecs/native-pixels.js';
export { boxReduce, flattenOnWhite } from '../slides/codecs/box-reduce.js';
export { jpegCodec, type JpegCodec } from '../slides/codecs/jpeg-codec.js';
