// Part of tessera_pixels: decodes only the part of a JPEG that a request needs, with libjpeg-turbo's
// jpeg_crop_scanline (whole iMCU columns) and jpeg_skip_scanlines (rows above the part are entropy-decoded
// but not transformed; rows below are not read at all). A random 256 px region or 254/1 Deep Zoom tile
// needs a quarter of each of four stored tiles on average, and decoding a quarter costs about a third of
// a whole tile (test/bench/RESULTS.md). Pixels are those of a full decode with libjpeg's defaults (accurate
// integer IDCT, fancy upsampling): test/unit/slides/jpeg-part.test.ts checks every offset against one.
//
// Compiled only where libjpeg's headers are installed (binding.gyp defines TESSERA_HAVE_LIBJPEG); the slide
// reader falls back to whole-tile decoding without it. Runs synchronously in the calling (decode worker)
// thread.
#include "addon.h"
#include "jpeg_part.h"

#include <algorithm>
#include <cstddef>
#include <csetjmp>
#include <cstdio>  // jpeglib.h needs FILE
#include <cstring>
#include <string>
#include <vector>

#include <jpeglib.h>

namespace {

struct ErrorManager {
  jpeg_error_mgr pub;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void onError(j_common_ptr cinfo) {
  auto* e = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, e->message);
  longjmp(e->jump, 1);
}

// Warnings (a truncated scan, extraneous bytes) are what TurboJPEG reports as TJERR_WARNING and the
// whole-tile path accepts: libjpeg fills what is missing. Not printed.
void onMessage(j_common_ptr, int) {}

// Widest crop margin (pixels) decoded straight into the destination: the margins are saved and put back.
constexpr int kMaxMargin = 64;

// One decompressor per thread (a decode worker, a thread of libuv's pool), reused from tile to tile: creating and
// destroying one per part was a fixed cost of every part. jpeg_abort_decompress between images keeps its
// permanent allocations; after an error it is destroyed and made afresh on the next call.
struct Decompressor {
  jpeg_decompress_struct cinfo;
  ErrorManager err;
  bool live = false;
  ~Decompressor() {
    if (live) jpeg_destroy_decompress(&cinfo);
  }
};
thread_local Decompressor decompressor;

}  // namespace

namespace tessera {

// Plain C-style so that longjmp crosses no C++ destructors: the scratch row lives in the caller.
std::string decodeJpegPart(const uint8_t* jpeg, size_t size, const JpegPart& part, std::vector<uint8_t>& row) {
  Decompressor& d = decompressor;
  jpeg_decompress_struct& cinfo = d.cinfo;
  if (!d.live) {
    cinfo.err = jpeg_std_error(&d.err.pub);
    d.err.pub.error_exit = onError;
    d.err.pub.emit_message = onMessage;
    jpeg_create_decompress(&cinfo);
    d.live = true;
  }
  if (setjmp(d.err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    d.live = false;
    return d.err.message;
  }
  jpeg_mem_src(&cinfo, jpeg, static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  if (part.x < 0 || part.y < 0 || part.w <= 0 || part.h <= 0 ||
      static_cast<JDIMENSION>(part.x + part.w) > cinfo.image_width ||
      static_cast<JDIMENSION>(part.y + part.h) > cinfo.image_height) {
    jpeg_abort_decompress(&cinfo);
    return "the requested part lies outside the " + std::to_string(cinfo.image_width) + "x" +
           std::to_string(cinfo.image_height) + " image";
  }
  cinfo.out_color_space = JCS_EXT_RGBA;
  jpeg_start_decompress(&cinfo);
  // libjpeg upsamples chroma as if the cropped columns were the whole image, so the crop's first and last
  // columns differ from a full decode: crop one column wider on each side than the part needs, and at
  // least 32 columns wide (its upsamplers assume two chroma columns or more).
  const int left = part.x > 0 ? part.x - 1 : 0;
  const int right = std::min(std::max(part.x + part.w + 1, left + 32), static_cast<int>(cinfo.output_width));
  JDIMENSION xoffset = static_cast<JDIMENSION>(left);
  JDIMENSION width = static_cast<JDIMENSION>(right - left);
  if (width < cinfo.output_width) jpeg_crop_scanline(&cinfo, &xoffset, &width);
  else xoffset = 0;
  if (part.y > 0) jpeg_skip_scanlines(&cinfo, static_cast<JDIMENSION>(part.y));
  // libjpeg writes whole cropped rows: the part plus `left` pixels before it and `right` after it. Where
  // those margins are narrow and lie inside the destination buffer, each row is decoded in place and the
  // margins' bytes (a neighbouring part, the row before, or padding) are saved before and put back after:
  // that spares copying every row out of a scratch row (a region's worth of bytes per request). Elsewhere
  // (a margin outside the buffer or wider than kMaxMargin) the row goes through the scratch row.
  const size_t leftBytes = static_cast<size_t>(part.x - static_cast<int>(xoffset)) * 4;
  const size_t partBytes = static_cast<size_t>(part.w) * 4;
  const size_t rightBytes = static_cast<size_t>(cinfo.output_width) * 4 - leftBytes - partBytes;
  const bool narrow = leftBytes <= kMaxMargin * 4 && rightBytes <= kMaxMargin * 4;
  uint8_t savedLeft[kMaxMargin * 4];
  uint8_t savedRight[kMaxMargin * 4];
  for (int y = 0; y < part.h; y++) {
    uint8_t* dst = part.out + static_cast<size_t>(y) * part.outStride;
    if (narrow && dst - part.bufferBegin >= static_cast<ptrdiff_t>(leftBytes) &&
        part.bufferEnd - (dst + partBytes) >= static_cast<ptrdiff_t>(rightBytes)) {
      JSAMPROW rows[1] = {dst - leftBytes};
      std::memcpy(savedLeft, dst - leftBytes, leftBytes);
      std::memcpy(savedRight, dst + partBytes, rightBytes);
      const JDIMENSION got = jpeg_read_scanlines(&cinfo, rows, 1);
      std::memcpy(dst - leftBytes, savedLeft, leftBytes);
      std::memcpy(dst + partBytes, savedRight, rightBytes);
      if (got != 1) break;  // cannot happen with a memory source
      continue;
    }
    row.resize(static_cast<size_t>(cinfo.output_width) * 4);
    JSAMPROW rows[1] = {row.data()};
    if (jpeg_read_scanlines(&cinfo, rows, 1) != 1) break;  // cannot happen with a memory source
    std::memcpy(dst, row.data() + leftBytes, partBytes);
  }
  // The rows below the part are never read: abort instead of finish (the decompressor stays for the next).
  jpeg_abort_decompress(&cinfo);
  return {};
}

// decodeRegion(jpeg, x, y, w, h, out, outOffset, outStride): the w x h pixels at (x, y) of the JPEG, as
// RGBA, written to out[outOffset + row * outStride ...]. Throws on corrupt data or a bad part.
Napi::Value decodeRegion(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 8 || !info[0].IsTypedArray() || !info[5].IsTypedArray())
    throw Napi::TypeError::New(env, "decodeRegion(jpeg, x, y, w, h, out, outOffset, outStride)");
  auto jpeg = info[0].As<Napi::Uint8Array>();
  auto out = info[5].As<Napi::Uint8Array>();
  JpegPart part{intArg(info, 1, "x"), intArg(info, 2, "y"), intArg(info, 3, "w"), intArg(info, 4, "h"), nullptr, 0,
            out.Data(), out.Data() + out.ByteLength()};
  const int offset = intArg(info, 6, "outOffset");
  const int stride = intArg(info, 7, "outStride");
  if (part.w <= 0 || part.h <= 0) throw Napi::RangeError::New(env, "the part is empty");
  if (offset < 0 || stride < part.w * 4 ||
      static_cast<size_t>(offset) + static_cast<size_t>(stride) * (part.h - 1) + part.w * 4 > out.ByteLength())
    throw Napi::RangeError::New(env, "the output buffer is too small for the part");
  part.out = out.Data() + offset;
  part.outStride = static_cast<size_t>(stride);
  std::vector<uint8_t> row;
  std::string error = decodeJpegPart(jpeg.Data(), jpeg.ByteLength(), part, row);
  if (!error.empty()) throw Napi::Error::New(env, "corrupt JPEG data (" + error + ")");
  return env.Undefined();
}

void registerJpeg(Napi::Env env, Napi::Object exports) {
  exports.Set("decodeRegion", Napi::Function::New(env, decodeRegion, "decodeRegion"));
  registerRegionParts(env, exports);
}

}  // namespace tessera
