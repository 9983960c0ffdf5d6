// Part of tessera_pixels: a whole region read on libuv's thread pool, for regions of JPEG tiles. One call
// reads each missing tile's stored bytes (pread), makes them a complete JPEG (the TIFF's shared tables merged
// in, RGB-coded tiles marked) and decodes either the part the region needs straight into the caller's buffer
// or the whole tile into a fresh cache slot; it copies the parts of cached (and freshly decoded) tiles; the
// promise settles when the pixels are there. Going through a decode worker instead costs two messages, the
// worker's JavaScript around each tile and a copy out of shared memory: about a third of the CPU a random
// 256 px region needs beyond libjpeg-turbo's own work (test/bench/RESULTS.md).
//
// The JavaScript side (file-tiled-reader.ts) decides which tiles go in part and which whole, keeps every tile
// buffer pinned and the descriptor open until the promise settles, and words errors for the user with the
// file's name.
#include "addon.h"
#include "jpeg_part.h"

#ifndef _WIN32
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace tessera {
namespace {

// One step of a region read: 8 numbers each in the records array, done in order.
//   kind 0 (stored tile, decoded in part): 0, fileOffset, length, x, y, w, h, dstOffset
//   kind 1 (RGBA tile, part copied): 1, tileIndex, srcOffset, srcStride, 0, w, h, dstOffset
//   kind 2 (stored tile, decoded whole into a tile buffer, e.g. to be cached): 2, fileOffset, length, tileIndex, 0, 0, 0, 0
// x, y, w, h: the part in tile pixels; dstOffset: its first pixel's byte offset in the output; tileIndex: one
// of the `tiles` buffers (cached tiles to copy from, fresh ones to decode into), tileWidth x tileHeight x 4.
constexpr size_t kRecord = 8;

struct Tile {
  int kind;
  int64_t a, b;  // fileOffset, length | cachedIndex, srcOffset
  int x, y, w, h;
  int64_t srcStride;
  size_t dst;
};

// Adobe APP14, transform 0: the components are R, G, B as stored (as in jpeg-stream.ts).
const uint8_t kAdobeRgb[16] = {0xff, 0xee, 0x00, 0x0e, 0x41, 0x64, 0x6f, 0x62,
                               0x65, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00};

// Width and height from the first SOFn segment; 0 x 0 where none comes before the scan (jpegSize in
// jpeg-stream.ts, the same walk).
void frameSize(const std::vector<uint8_t>& jpeg, int& width, int& height) {
  width = height = 0;
  size_t p = 2;
  while (p + 4 <= jpeg.size()) {
    if (jpeg[p] != 0xff) {
      p++;
      continue;
    }
    const uint8_t marker = jpeg[p + 1];
    if (marker == 0xff) {
      p++;
      continue;
    }
    if (marker == 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker == 0x01) {
      p += 2;
      continue;
    }
    const size_t len = (static_cast<size_t>(jpeg[p + 2]) << 8) | jpeg[p + 3];
    const bool sof = marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
    if (sof && p + 9 < jpeg.size()) {
      height = (jpeg[p + 5] << 8) | jpeg[p + 6];
      width = (jpeg[p + 7] << 8) | jpeg[p + 8];
      return;
    }
    if (marker == 0xda) return;
    p += 2 + len;
  }
}

class RegionPartsWorker : public Napi::AsyncWorker {
 public:
  RegionPartsWorker(Napi::Env env, int fd, std::vector<Tile> tiles, std::vector<uint8_t> tablesBody, bool rgb,
                    int tileWidth, int tileHeight, uint8_t* out, size_t outLength, size_t outStride,
                    std::vector<uint8_t*> cached, Napi::Object keepAlive)
      : Napi::AsyncWorker(env, "tessera:readRegionParts"),
        deferred_(Napi::Promise::Deferred::New(env)),
        fd_(fd),
        tiles_(std::move(tiles)),
        tablesBody_(std::move(tablesBody)),
        rgb_(rgb),
        tileWidth_(tileWidth),
        tileHeight_(tileHeight),
        out_(out),
        outLength_(outLength),
        outStride_(outStride),
        cached_(std::move(cached)),
        keepAlive_(Napi::Persistent(keepAlive)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    for (const Tile& t : tiles_) {
      std::string error;
      if (t.kind == 0) error = decodeStored(t, out_, outLength_, outStride_);
      else if (t.kind == 1) error = copyTile(t);
      else {
        const Tile whole{2, t.a, t.b, 0, 0, tileWidth_, tileHeight_, 0, 0};
        const size_t stride = static_cast<size_t>(tileWidth_) * 4;
        error = decodeStored(whole, cached_[static_cast<size_t>(t.x)], stride * tileHeight_, stride);
      }
      if (!error.empty()) {
        SetError(error);
        return;
      }
    }
  }

  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  std::string copyTile(const Tile& t) {
    const uint8_t* src = cached_[static_cast<size_t>(t.a)] + t.b;
    for (int y = 0; y < t.h; y++)
      std::memmove(out_ + t.dst + static_cast<size_t>(y) * outStride_, src + y * t.srcStride,
                   static_cast<size_t>(t.w) * 4);
    return {};
  }

  // decodeTilePart in decode-tile.ts, with the stored bytes read here: part (x, y, w, h) of the tile at
  // base + t.dst, `stride` bytes a row, inside [base, base + length).
  std::string decodeStored(const Tile& t, uint8_t* base, size_t length, size_t stride) {
    thread_local std::vector<uint8_t> stored, jpeg, row;
    stored.resize(static_cast<size_t>(t.b));
    size_t got = 0;
    while (got < stored.size()) {
      const ssize_t n = pread(fd_, stored.data() + got, stored.size() - got, static_cast<off_t>(t.a + got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return std::string("the file cannot be read (") + std::strerror(errno) + ")";
      if (n == 0) return "the file is truncated";
      got += static_cast<size_t>(n);
    }
    if (stored.size() < 4 || stored[0] != 0xff || stored[1] != 0xd8) return "JPEG tile does not start with SOI";
    jpeg.clear();
    jpeg.push_back(0xff);
    jpeg.push_back(0xd8);
    if (rgb_) jpeg.insert(jpeg.end(), kAdobeRgb, kAdobeRgb + sizeof kAdobeRgb);
    jpeg.insert(jpeg.end(), tablesBody_.begin(), tablesBody_.end());
    jpeg.insert(jpeg.end(), stored.begin() + 2, stored.end());
    int width, height;
    frameSize(jpeg, width, height);
    if (width == 0 || height == 0) return "JPEG tile has no frame header";
    // Never let a corrupt header make the decoder allocate more than a tile's worth of pixels.
    if (width > tileWidth_ + 16 || height > tileHeight_ + 16)
      return "JPEG tile is " + std::to_string(width) + "x" + std::to_string(height) + ", larger than the " +
             std::to_string(tileWidth_) + "x" + std::to_string(tileHeight_) + " tile";
    // Pixels of the part the frame does not cover are transparent, as in a whole decode.
    const int w = std::max(0, std::min(t.x + t.w, width) - t.x);
    const int h = std::max(0, std::min(t.y + t.h, height) - t.y);
    if (w < t.w || h < t.h)
      for (int y = 0; y < t.h; y++) {
        uint8_t* r = base + t.dst + static_cast<size_t>(y) * stride;
        const int from = y < h ? w : 0;
        std::memset(r + static_cast<size_t>(from) * 4, 0, static_cast<size_t>(t.w - from) * 4);
      }
    if (w == 0 || h == 0) return {};
    JpegPart part{t.x, t.y, w, h, base + t.dst, stride, base, base + length};
    std::string error = decodeJpegPart(jpeg.data(), jpeg.size(), part, row);
    return error.empty() ? error : "corrupt JPEG data (" + error + ")";
  }

  Napi::Promise::Deferred deferred_;
  int fd_;
  std::vector<Tile> tiles_;
  std::vector<uint8_t> tablesBody_;
  bool rgb_;
  int tileWidth_, tileHeight_;
  uint8_t* out_;
  size_t outLength_, outStride_;
  std::vector<uint8_t*> cached_;
  Napi::ObjectReference keepAlive_;  // the output and the tile buffers: alive until the work is done
};

// The shared JPEGTables (SOI ... EOI) without SOI and EOI, as merged into each tile; empty where absent.
std::vector<uint8_t> tablesBody(const Napi::Value& v) {
  if (!v.IsTypedArray()) return {};
  auto t = v.As<Napi::Uint8Array>();
  const uint8_t* p = t.Data();
  size_t n = t.ByteLength();
  if (n <= 4 || p[0] != 0xff || p[1] != 0xd8) return {};
  if (p[n - 2] == 0xff && p[n - 1] == 0xd9) n -= 2;
  return std::vector<uint8_t>(p + 2, p + n);
}

void throwRange(Napi::Env env, const std::string& what) { throw Napi::RangeError::New(env, what); }

// readRegionParts(fd, records, tables, rgbComponents, tileWidth, tileHeight, out, outStride, tiles): a promise.
Napi::Value readRegionParts(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 9 || !info[1].IsTypedArray() || !info[6].IsTypedArray() || !info[8].IsArray())
    throw Napi::TypeError::New(
        env, "readRegionParts(fd, records, tables, rgbComponents, tileWidth, tileHeight, out, outStride, tiles)");
  const int fd = intArg(info, 0, "fd");
  auto records = info[1].As<Napi::TypedArray>();
  if (records.TypedArrayType() != napi_float64_array) throw Napi::TypeError::New(env, "records must be a Float64Array");
  const bool rgb = info[3].ToBoolean().Value();
  const int tileWidth = intArg(info, 4, "tileWidth"), tileHeight = intArg(info, 5, "tileHeight");
  auto out = info[6].As<Napi::Uint8Array>();
  const int outStride = intArg(info, 7, "outStride");
  auto cachedArray = info[8].As<Napi::Array>();
  if (fd < 0 || tileWidth <= 0 || tileHeight <= 0 || outStride <= 0) throwRange(env, "bad descriptor, tile size or stride");

  Napi::Object keepAlive = Napi::Object::New(env);
  keepAlive.Set("out", out);
  keepAlive.Set("cached", cachedArray);
  std::vector<uint8_t*> cached;
  std::vector<size_t> cachedLength;
  for (uint32_t i = 0; i < cachedArray.Length(); i++) {
    Napi::Value v = cachedArray.Get(i);
    if (!v.IsTypedArray()) throw Napi::TypeError::New(env, "tiles must be Uint8Arrays");
    auto c = v.As<Napi::Uint8Array>();
    cached.push_back(c.Data());
    cachedLength.push_back(c.ByteLength());
  }

  // Every rectangle is checked here, on the main thread: the pool thread writes without looking.
  const double* r = reinterpret_cast<const double*>(
      static_cast<const uint8_t*>(records.ArrayBuffer().Data()) + records.ByteOffset());
  const size_t n = records.ElementLength();
  if (n % kRecord != 0) throwRange(env, "records must come in eights");
  std::vector<Tile> tiles;
  for (size_t i = 0; i < n; i += kRecord) {
    for (size_t k = 0; k < kRecord; k++)
      if (!(r[i + k] >= 0 && r[i + k] <= 9007199254740991.0) || r[i + k] != static_cast<double>(static_cast<int64_t>(r[i + k])))
        throwRange(env, "record numbers must be non-negative integers");
    // Kind, index and part sizes are ints (the part of a tile, a tile's offset in its buffer).
    if (r[i] > 2 || r[i + 3] > 1073741824.0 || r[i + 4] > 1073741824.0 || r[i + 5] > 1073741824.0 ||
        r[i + 6] > 1073741824.0)
      throwRange(env, "a record's kind or part is out of range");
    Tile t{static_cast<int>(r[i]), static_cast<int64_t>(r[i + 1]), static_cast<int64_t>(r[i + 2]),
           static_cast<int>(r[i + 3]), static_cast<int>(r[i + 4]), static_cast<int>(r[i + 5]), static_cast<int>(r[i + 6]),
           0, static_cast<size_t>(r[i + 7])};
    if (t.kind != 1 && (t.b < 4 || t.b > (int64_t{1} << 30)))
      throwRange(env, "a stored tile's length is out of range");
    if (t.kind == 2) {
      if (t.x >= static_cast<int>(cached.size()) ||
          cachedLength[static_cast<size_t>(t.x)] < static_cast<size_t>(tileWidth) * tileHeight * 4)
        throwRange(env, "no tile buffer to decode into");
      tiles.push_back(t);
      continue;
    }
    if (t.w <= 0 || t.h <= 0) throwRange(env, "a tile's part is empty");
    if (static_cast<int64_t>(t.w) * 4 > outStride) throwRange(env, "a tile's part is wider than the output");
    if (t.dst + static_cast<size_t>(outStride) * (t.h - 1) + static_cast<size_t>(t.w) * 4 > out.ByteLength())
      throwRange(env, "a tile's part does not fit the output buffer");
    if (t.kind == 0) {
      if (t.x + t.w > tileWidth || t.y + t.h > tileHeight) throwRange(env, "a part lies outside its tile");
    } else {  // kind 1 (kinds above 2 were refused above)
      t.srcStride = static_cast<int64_t>(r[i + 3]);
      if (t.a >= static_cast<int64_t>(cached.size())) throwRange(env, "no such tile buffer");
      if (t.srcStride < static_cast<int64_t>(t.w) * 4 ||
          static_cast<size_t>(t.b + t.srcStride * (t.h - 1) + static_cast<int64_t>(t.w) * 4) > cachedLength[t.a])
        throwRange(env, "a tile's part does not fit its buffer");
      t.x = t.y = 0;
    }
    tiles.push_back(t);
  }
  auto* worker = new RegionPartsWorker(env, fd, std::move(tiles), tablesBody(info[2]), rgb, tileWidth, tileHeight,
                                       out.Data(), out.ByteLength(), static_cast<size_t>(outStride),
                                       std::move(cached), keepAlive);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace

void registerRegionParts(Napi::Env env, Napi::Object exports) {
  exports.Set("readRegionParts", Napi::Function::New(env, readRegionParts, "readRegionParts"));
}

}  // namespace tessera

#else
// No pread on Windows: regions go through the decode workers there (the JavaScript side checks for the function).
void tessera::registerRegionParts(Napi::Env, Napi::Object) {}
#endif
