// Bicubic resampling of a learned position embedding to a new patch grid, as timm's
// resample_abs_pos_embed does (F.interpolate(mode="bicubic", antialias=True) by default). Prefix tokens
// (class / register positions, when pos_embed covers them) are copied unchanged. Used at load time when a
// checkpoint's grid differs from the configured one.
#pragma once

#include <cstdint>

namespace tessera {

// src: (numPrefix + oldH * oldW, dim) row-major; dst: (numPrefix + newH * newW, dim).
// antialias=true matches PyTorch's antialiased bicubic (a = -0.5, support scaled when downsampling);
// antialias=false matches plain bicubic (a = -0.75, align_corners=False). Throws std::invalid_argument on
// non-positive sizes.
void resamplePosEmbed(const float* src, int numPrefix, int oldH, int oldW, int dim, float* dst, int newH,
                      int newW, bool antialias = true);

}  // namespace tessera
