// Box reduction with Pillow's rounding (libImaging/Reduce.c, read for the arithmetic): a block of n pixels
// gives ((sum + n / 2) * m) >> 24 with m = (uint32)(2^32 / (256 n)) computed in single precision. The
// JavaScript version (src-main/slides/codecs/box-reduce.ts) is the reference the tests compare with.
#include "box_reduce.h"

#include <algorithm>
#include <vector>

namespace tessera {
namespace {

uint32_t pillowMultiplier(uint32_t n) {
  const float maxInt = 4294967296.0f;
  return static_cast<uint32_t>(maxInt / static_cast<float>(256u * n));
}

// Straight-alpha pixel over white, rounded as Math.round(x / 255) (never a tie for integers).
inline uint8_t overWhite(uint32_t c, uint32_t a) { return static_cast<uint8_t>((c * a + 255 * (255 - a) + 127) / 255); }

}  // namespace

void boxReduceRgba(const uint8_t* src, int width, int height, int fx, int fy, bool flattenOnWhite, uint8_t* dst) {
  const int outWidth = (width + fx - 1) / fx;
  const int outHeight = (height + fy - 1) / fy;
  std::vector<uint32_t> sums(static_cast<size_t>(outWidth) * 4);
  for (int oy = 0; oy < outHeight; oy++) {
    std::fill(sums.begin(), sums.end(), 0u);
    const int y0 = oy * fy;
    const int rows = std::min(height, y0 + fy) - y0;
    for (int y = y0; y < y0 + rows; y++) {
      const uint8_t* p = src + static_cast<size_t>(y) * width * 4;
      for (int x = 0; x < width; x++, p += 4) {
        uint32_t* s = &sums[static_cast<size_t>(x / fx) * 4];
        const uint32_t a = p[3];
        if (flattenOnWhite && a != 255) {
          s[0] += overWhite(p[0], a);
          s[1] += overWhite(p[1], a);
          s[2] += overWhite(p[2], a);
          s[3] += 255;
        } else {
          s[0] += p[0];
          s[1] += p[1];
          s[2] += p[2];
          s[3] += a;
        }
      }
    }
    uint8_t* out = dst + static_cast<size_t>(oy) * outWidth * 4;
    for (int ox = 0; ox < outWidth; ox++) {
      const uint32_t n = static_cast<uint32_t>(rows * (std::min(width, (ox + 1) * fx) - ox * fx));
      const uint64_t amend = n / 2, m = pillowMultiplier(n);
      for (int c = 0; c < 4; c++) out[ox * 4 + c] = static_cast<uint8_t>(((sums[ox * 4 + c] + amend) * m) >> 24);
    }
  }
}

}  // namespace tessera
