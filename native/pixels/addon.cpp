// tessera_pixels entry point: Lanczos scaling and box reduction always; partial JPEG decoding where libjpeg
// was found at build time (the JS side checks for `decodeRegion`).
#include "addon.h"

#include <cstdint>
#include <cstring>

#include "box_reduce.h"
#include "lanczos.h"

namespace tessera {
namespace {

// resampleLanczos(src, srcWidth, srcHeight, boxWidth, boxHeight, dst, dstWidth, dstHeight[, portable])
Napi::Value resampleLanczos(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 8 || !info[0].IsTypedArray() || !info[5].IsTypedArray() || !info[3].IsNumber() ||
      !info[4].IsNumber())
    throw Napi::TypeError::New(
        env, "resampleLanczos(src, srcWidth, srcHeight, boxWidth, boxHeight, dst, dstWidth, dstHeight)");
  auto src = info[0].As<Napi::Uint8Array>();
  auto dst = info[5].As<Napi::Uint8Array>();
  const int sw = intArg(info, 1, "srcWidth"), sh = intArg(info, 2, "srcHeight");
  const int dw = intArg(info, 6, "dstWidth"), dh = intArg(info, 7, "dstHeight");
  const double bw = info[3].As<Napi::Number>().DoubleValue(), bh = info[4].As<Napi::Number>().DoubleValue();
  if (sw <= 0 || sh <= 0 || dw <= 0 || dh <= 0) throw Napi::RangeError::New(env, "sizes must be positive");
  if (!(bw > 0 && bw <= sw && bh > 0 && bh <= sh))
    throw Napi::RangeError::New(env, "the box must lie inside the source image");
  if (src.ByteLength() < static_cast<size_t>(sw) * sh * 4 || dst.ByteLength() < static_cast<size_t>(dw) * dh * 4)
    throw Napi::RangeError::New(env, "a pixel buffer is smaller than its size says");
  const bool portable = info.Length() > 8 && info[8].ToBoolean().Value();
  resampleLanczosRgba(src.Data(), sw, sh, bw, bh, dst.Data(), dw, dh, portable);
  return env.Undefined();
}

// boxReduce(src, width, height, fx, fy, flattenOnWhite, dst)
Napi::Value boxReduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 7 || !info[0].IsTypedArray() || !info[6].IsTypedArray())
    throw Napi::TypeError::New(env, "boxReduce(src, width, height, fx, fy, flattenOnWhite, dst)");
  auto src = info[0].As<Napi::Uint8Array>();
  auto dst = info[6].As<Napi::Uint8Array>();
  const int w = intArg(info, 1, "width"), h = intArg(info, 2, "height");
  const int fx = intArg(info, 3, "fx"), fy = intArg(info, 4, "fy");
  if (w <= 0 || h <= 0 || fx <= 0 || fy <= 0) throw Napi::RangeError::New(env, "sizes and factors must be positive");
  const size_t ow = (w + fx - 1) / fx, oh = (h + fy - 1) / fy;
  if (src.ByteLength() < static_cast<size_t>(w) * h * 4 || dst.ByteLength() < ow * oh * 4)
    throw Napi::RangeError::New(env, "a pixel buffer is smaller than its size says");
  boxReduceRgba(src.Data(), w, h, fx, fy, info[5].ToBoolean().Value(), dst.Data());
  return env.Undefined();
}

// copyRect(src, srcOffset, srcStride, dst, dstOffset, dstStride, rowBytes, rows): one call per tile where
// JavaScript made a subarray per row (tens of KB of garbage per region on the main thread).
Napi::Value copyRect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 8 || !info[0].IsTypedArray() || !info[3].IsTypedArray())
    throw Napi::TypeError::New(env, "copyRect(src, srcOffset, srcStride, dst, dstOffset, dstStride, rowBytes, rows)");
  auto src = info[0].As<Napi::Uint8Array>();
  auto dst = info[3].As<Napi::Uint8Array>();
  const int so = intArg(info, 1, "srcOffset"), ss = intArg(info, 2, "srcStride");
  const int doff = intArg(info, 4, "dstOffset"), ds = intArg(info, 5, "dstStride");
  const int rowBytes = intArg(info, 6, "rowBytes"), rows = intArg(info, 7, "rows");
  if (so < 0 || ss < 0 || doff < 0 || ds < 0 || rowBytes < 0 || rows < 0)
    throw Napi::RangeError::New(env, "offsets, strides and sizes must not be negative");
  if (rows == 0 || rowBytes == 0) return env.Undefined();
  // The last byte each side touches, in 64 bits so that no product overflows.
  const int64_t srcEnd = so + static_cast<int64_t>(ss) * (rows - 1) + rowBytes;
  const int64_t dstEnd = doff + static_cast<int64_t>(ds) * (rows - 1) + rowBytes;
  if (srcEnd > static_cast<int64_t>(src.ByteLength()) || dstEnd > static_cast<int64_t>(dst.ByteLength()))
    throw Napi::RangeError::New(env, "the rectangle does not fit its buffer");
  const uint8_t* from = src.Data() + so;
  uint8_t* to = dst.Data() + doff;
  for (int y = 0; y < rows; y++) std::memmove(to + static_cast<size_t>(y) * ds, from + static_cast<size_t>(y) * ss, rowBytes);
  return env.Undefined();
}

// dropAlpha(src, srcOffset, srcStride, dst, dstOffset, width, rows): RGBA rows to packed RGB (Pillow's
// convert('RGB') of an RGBA image), width pixels per row, the RGB rows back to back. A patch's 50,176 pixels
// took a patch worker's JavaScript loop about as long as decoding its JPEG tiles.
Napi::Value dropAlpha(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 7 || !info[0].IsTypedArray() || !info[3].IsTypedArray())
    throw Napi::TypeError::New(env, "dropAlpha(src, srcOffset, srcStride, dst, dstOffset, width, rows)");
  auto src = info[0].As<Napi::Uint8Array>();
  auto dst = info[3].As<Napi::Uint8Array>();
  const int so = intArg(info, 1, "srcOffset"), ss = intArg(info, 2, "srcStride");
  const int doff = intArg(info, 4, "dstOffset");
  const int width = intArg(info, 5, "width"), rows = intArg(info, 6, "rows");
  if (so < 0 || ss < 0 || doff < 0 || width < 0 || rows < 0)
    throw Napi::RangeError::New(env, "offsets, strides and sizes must not be negative");
  if (rows == 0 || width == 0) return env.Undefined();
  if (ss < width * 4) throw Napi::RangeError::New(env, "the source stride is shorter than a row");
  const int64_t srcEnd = so + static_cast<int64_t>(ss) * (rows - 1) + static_cast<int64_t>(width) * 4;
  const int64_t dstEnd = doff + static_cast<int64_t>(width) * 3 * rows;
  if (srcEnd > static_cast<int64_t>(src.ByteLength()) || dstEnd > static_cast<int64_t>(dst.ByteLength()))
    throw Napi::RangeError::New(env, "the rectangle does not fit its buffer");
  for (int y = 0; y < rows; y++) {
    const uint8_t* from = src.Data() + so + static_cast<size_t>(y) * ss;
    uint8_t* to = dst.Data() + doff + static_cast<size_t>(y) * width * 3;
    // Four bytes per pixel stored, three kept: the next pixel overwrites the alpha byte; the last is byte-wise
    // so nothing is written past the row.
    int x = 0;
    for (; x < width - 1; x++, from += 4, to += 3) std::memcpy(to, from, 4);
    to[0] = from[0];
    to[1] = from[1];
    to[2] = from[2];
  }
  return env.Undefined();
}

}  // namespace
}  // namespace tessera

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  using namespace tessera;
  exports.Set("resampleLanczos", Napi::Function::New(env, resampleLanczos, "resampleLanczos"));
  exports.Set("boxReduce", Napi::Function::New(env, boxReduce, "boxReduce"));
  exports.Set("copyRect", Napi::Function::New(env, copyRect, "copyRect"));
  exports.Set("dropAlpha", Napi::Function::New(env, dropAlpha, "dropAlpha"));
#ifdef TESSERA_HAVE_LIBJPEG
  registerJpeg(env, exports);
#endif
  return exports;
}

NODE_API_MODULE(tessera_pixels, Init)
