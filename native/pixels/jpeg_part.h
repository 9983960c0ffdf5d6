// Partial JPEG decoding (jpeg_region.cpp), shared by the synchronous decodeRegion and the region reads that
// run on libuv's thread pool (region_parts.cpp).
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tessera {

struct JpegPart {
  int x, y, w, h;         // in image pixels, inside the image
  uint8_t* out;           // RGBA destination of the part's top-left pixel
  size_t outStride;       // bytes between destination rows
  uint8_t* bufferBegin;   // the destination buffer, which libjpeg may write anywhere in (see decodeJpegPart)
  uint8_t* bufferEnd;
};

// Decodes `part` of a complete JPEG as RGBA. Returns an empty string on success, else libjpeg's message;
// after an error the destination buffer's pixels around the part are unspecified too (a margin may not have
// been put back). `row` is scratch the caller keeps. One decompressor per thread, reused.
std::string decodeJpegPart(const uint8_t* jpeg, size_t size, const JpegPart& part, std::vector<uint8_t>& row);

// readRegionParts (region_parts.cpp).
void registerRegionParts(Napi::Env env, Napi::Object exports);

}  // namespace tessera
