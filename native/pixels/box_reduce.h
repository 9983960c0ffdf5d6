// Integer box reduction of 8-bit RGBA as Pillow's Image.reduce computes it (to the bit), optionally after
// flattening onto white as OpenSlide's Deep Zoom does. Plain C++, no Node.
#pragma once

#include <cstdint>

namespace tessera {

// dst is ceil(width / fx) x ceil(height / fy) RGBA; each pixel the mean of its fx x fy block (fewer at the
// right and bottom edges), rounded as Pillow rounds. With `flattenOnWhite`, every source pixel is first
// composited onto opaque white (straight alpha), as flattenOnWhite in the decode worker does.
void boxReduceRgba(const uint8_t* src, int width, int height, int fx, int fy, bool flattenOnWhite, uint8_t* dst);

}  // namespace tessera
