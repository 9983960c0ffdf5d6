// Lanczos-3 resampling as Pillow does it (libImaging/Resample.c, read for the arithmetic): separable,
// horizontal pass first over the rows the vertical pass needs, each output sample a normalised weighted
// sum with weights in 22-bit fixed point, rounded and clipped to 8 bits between the passes. Matching that
// arithmetic (not just "a Lanczos filter") keeps scaled Deep Zoom tiles within rounding of OpenSlide's.
#include "lanczos.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif

namespace tessera {
namespace {

constexpr double kSupport = 3.0;        // Lanczos-3
constexpr int kPrecisionBits = 32 - 8 - 2;

double sinc(double x) {
  if (x == 0.0) return 1.0;
  x *= M_PI;
  return std::sin(x) / x;
}

double lanczos(double x) { return (x >= -kSupport && x < kSupport) ? sinc(x) * sinc(x / kSupport) : 0.0; }

// For each output position: the first input sample, the number of samples, and their fixed-point weights
// (ksize per position).
struct Weights {
  int ksize = 0;
  std::vector<int> first, count;
  std::vector<int32_t> k;
};

Weights weightsFor(int inSize, double box0, double box1, int outSize) {
  const double scale = (box1 - box0) / outSize;
  const double filterScale = std::max(scale, 1.0);
  const double support = kSupport * filterScale;
  Weights w;
  w.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  w.first.resize(outSize);
  w.count.resize(outSize);
  w.k.assign(static_cast<size_t>(outSize) * w.ksize, 0);
  std::vector<double> k(w.ksize);
  for (int xx = 0; xx < outSize; xx++) {
    const double center = box0 + (xx + 0.5) * scale;
    const int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
    const int xmax = std::min(static_cast<int>(center + support + 0.5), inSize) - xmin;
    double sum = 0;
    for (int x = 0; x < xmax; x++) {
      k[x] = lanczos((x + xmin - center + 0.5) / filterScale);
      sum += k[x];
    }
    for (int x = 0; x < xmax; x++) {
      const double v = sum != 0.0 ? k[x] / sum : k[x];
      w.k[static_cast<size_t>(xx) * w.ksize + x] =
          static_cast<int32_t>(v < 0 ? -0.5 + v * (1 << kPrecisionBits) : 0.5 + v * (1 << kPrecisionBits));
    }
    w.first[xx] = xmin;
    w.count[xx] = std::max(xmax, 0);
  }
  return w;
}

constexpr int32_t kRounding = 1 << (kPrecisionBits - 1);

uint8_t clip8(int32_t v) {
  v >>= kPrecisionBits;
  return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

// One row of the horizontal pass: out[xx] = clip8(sum over the taps of in[first + x] * k[x]), per channel.
void horizontalRowPortable(const uint8_t* in, uint8_t* out, int dstWidth, const Weights& w) {
  for (int xx = 0; xx < dstWidth; xx++) {
    const int32_t* k = &w.k[static_cast<size_t>(xx) * w.ksize];
    const uint8_t* p = in + static_cast<size_t>(w.first[xx]) * 4;
    int32_t s[4] = {kRounding, kRounding, kRounding, kRounding};
    for (int x = 0; x < w.count[xx]; x++, p += 4) {
      for (int c = 0; c < 4; c++) s[c] += p[c] * k[x];
    }
    for (int c = 0; c < 4; c++) out[xx * 4 + c] = clip8(s[c]);
  }
}

using HorizontalRow = void (*)(const uint8_t*, uint8_t*, int, const Weights&);

// One output row of the vertical pass over `taps` rows of `stride` bytes from `first`; `sums` is scratch.
// A plain loop along the row, compiled twice below: the AVX2 build vectorises the 32-bit multiply-adds.
#define TESSERA_VERTICAL_ROW_BODY                                                          \
  for (size_t c = 0; c < stride; c++) sums[c] = kRounding;                                 \
  for (int y = 0; y < taps; y++) {                                                         \
    const uint8_t* row = first + static_cast<size_t>(y) * stride;                          \
    const int32_t ky = k[y];                                                               \
    for (size_t c = 0; c < stride; c++) sums[c] += row[c] * ky;                            \
  }                                                                                        \
  for (size_t c = 0; c < stride; c++) out[c] = clip8(sums[c]);

void verticalRowPortable(const uint8_t* first, size_t stride, const int32_t* k, int taps, int32_t* sums,
                         uint8_t* out) {
  TESSERA_VERTICAL_ROW_BODY
}

using VerticalRow = void (*)(const uint8_t*, size_t, const int32_t*, int, int32_t*, uint8_t*);

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// The same with the four channels of a pixel in one SSE4.1 register (pmovzxbd, pmulld); the final shift
// and the two saturating packs are clip8 exactly.
__attribute__((target("sse4.1"))) void horizontalRowSse41(const uint8_t* in, uint8_t* out, int dstWidth,
                                                         const Weights& w) {
  for (int xx = 0; xx < dstWidth; xx++) {
    const int32_t* k = &w.k[static_cast<size_t>(xx) * w.ksize];
    const uint8_t* p = in + static_cast<size_t>(w.first[xx]) * 4;
    __m128i s = _mm_set1_epi32(kRounding);
    for (int x = 0; x < w.count[xx]; x++, p += 4) {
      int32_t pixel;
      std::memcpy(&pixel, p, 4);
      const __m128i v = _mm_cvtepu8_epi32(_mm_cvtsi32_si128(pixel));
      s = _mm_add_epi32(s, _mm_mullo_epi32(v, _mm_set1_epi32(k[x])));
    }
    s = _mm_srai_epi32(s, kPrecisionBits);
    const __m128i bytes = _mm_packus_epi16(_mm_packs_epi32(s, s), _mm_setzero_si128());
    const int32_t packed = _mm_cvtsi128_si32(bytes);
    std::memcpy(out + xx * 4, &packed, 4);
  }
}

__attribute__((target("avx2"))) void verticalRowAvx2(const uint8_t* first, size_t stride, const int32_t* k,
                                                     int taps, int32_t* sums, uint8_t* out) {
  TESSERA_VERTICAL_ROW_BODY
}

HorizontalRow horizontalRowFor() {
  static const HorizontalRow chosen =
      __builtin_cpu_supports("sse4.1") ? horizontalRowSse41 : horizontalRowPortable;
  return chosen;
}

VerticalRow verticalRowFor() {
  static const VerticalRow chosen = __builtin_cpu_supports("avx2") ? verticalRowAvx2 : verticalRowPortable;
  return chosen;
}
#else
HorizontalRow horizontalRowFor() { return horizontalRowPortable; }
VerticalRow verticalRowFor() { return verticalRowPortable; }
#endif

}  // namespace

void resampleLanczosRgba(const uint8_t* src, int srcWidth, int srcHeight, double boxWidth, double boxHeight,
                         uint8_t* dst, int dstWidth, int dstHeight, bool portable) {
  // Pillow takes the box as C floats (_imaging.c parses "(ffff)"): round it the same way.
  const Weights wx = weightsFor(srcWidth, 0, static_cast<float>(boxWidth), dstWidth);
  const Weights wy = weightsFor(srcHeight, 0, static_cast<float>(boxHeight), dstHeight);
  // Horizontal pass over the rows the vertical pass reads. 32-bit sums, as Pillow's: with 22-bit weights
  // that sum to one, |sum| < 2^31 for 8-bit samples.
  const int rowFirst = wy.first[0];
  const int rowLast = wy.first[dstHeight - 1] + wy.count[dstHeight - 1];
  const int rows = rowLast - rowFirst;
  const size_t stride = static_cast<size_t>(dstWidth) * 4;
  std::vector<uint8_t> mid(static_cast<size_t>(rows) * stride);
  const HorizontalRow horizontal = portable ? horizontalRowPortable : horizontalRowFor();
  for (int y = 0; y < rows; y++) {
    horizontal(src + static_cast<size_t>(rowFirst + y) * srcWidth * 4, mid.data() + static_cast<size_t>(y) * stride,
               dstWidth, wx);
  }
  // Vertical pass, a whole output row at a time (the inner loop runs along the row: vectorised).
  const VerticalRow vertical = portable ? verticalRowPortable : verticalRowFor();
  std::vector<int32_t> sums(stride);
  for (int yy = 0; yy < dstHeight; yy++) {
    const uint8_t* first = mid.data() + static_cast<size_t>(wy.first[yy] - rowFirst) * stride;
    vertical(first, stride, &wy.k[static_cast<size_t>(yy) * wy.ksize], wy.count[yy], sums.data(),
             dst + static_cast<size_t>(yy) * stride);
  }
}

}  // namespace tessera
