// Lanczos-3 resampling of 8-bit RGBA, as Pillow's Image.resize(LANCZOS) computes it, so Deep Zoom tiles
// scaled here match OpenSlide's (DeepZoomGenerator scales with Pillow's thumbnail()). Plain C++, no Node.
#pragma once

#include <cstdint>

namespace tessera {

// Scales the box [0, boxWidth) x [0, boxHeight) of `src` (srcWidth x srcHeight RGBA, tightly packed) to
// dst (dstWidth x dstHeight RGBA). The box may be fractional and smaller than the image: after Pillow's
// reduce() by f, the region that was w pixels wide is w / f of the ceil(w / f) reduced pixels.
// On x86-64 the passes use SSE4.1 / AVX2 where the CPU has them (same results); `portable` forces the plain
// loops. 480 x 480 -> 240 x 240 here: 4.4 ms portable, 1.95 ms vectorised (@napi-rs/image: 4.9 ms).
void resampleLanczosRgba(const uint8_t* src, int srcWidth, int srcHeight, double boxWidth, double boxHeight,
                         uint8_t* dst, int dstWidth, int dstHeight, bool portable = false);

}  // namespace tessera
