// Patch embedding: timm's Conv2d(3, C, kernel=p, stride=p) on normalised pixels, done as im2col + linear.
// The uint8 -> float normalisation happens here, so callers hand over raw RGB patches.
#include "ops_cpu.h"

namespace tessera {
namespace cpu {

namespace {
// pixels (B,H,W,3) -> cols (B*P, 3*p*p) with column (c, ky, kx)
void im2col(float* cols, const uint8_t* pixels, int64_t B, int64_t H, int64_t W, int64_t p, const float* mean,
            const float* std) {
  const int64_t gh = H / p, gw = W / p, P = gh * gw, K = 3 * p * p;
  float lut[3][256];  // (v/255 - mean)/std in the same float steps as torch
  for (int c = 0; c < 3; c++)
    for (int v = 0; v < 256; v++) lut[c][v] = (static_cast<float>(v) / 255.0f - mean[c]) / std[c];
  parallelRange(B * P, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const int64_t b = r / P, gy = (r % P) / gw, gx = r % gw;
      float* col = cols + r * K;
      for (int64_t c = 0; c < 3; c++)
        for (int64_t ky = 0; ky < p; ky++) {
          const uint8_t* src = pixels + ((b * H + gy * p + ky) * W + gx * p) * 3 + c;
          float* dst = col + (c * p + ky) * p;
          for (int64_t kx = 0; kx < p; kx++) dst[kx] = lut[c][src[kx * 3]];
        }
    }
  });
}
}  // namespace

// out (B*P, C) = cols . weight^T + bias
void patch_embed_forward(float* out, float* cols, const uint8_t* pixels, const float* weight, const float* bias,
                         int64_t B, int64_t H, int64_t W, int64_t p, int64_t C, const float* mean,
                         const float* std) {
  im2col(cols, pixels, B, H, W, p, mean, std);
  linear_forward(out, cols, weight, bias, B * (H / p) * (W / p), 3 * p * p, C);
}

void patch_embed_backward(float* dweight, float* dbias, const float* dout, const float* cols, int64_t BP,
                          int64_t K, int64_t C) {
  linear_backward(nullptr, dweight, dbias, dout, cols, nullptr, BP, K, C);
}

void patch_embed_forward_bf16(float* out, float* cols, const uint8_t* pixels, const float* weight, const float* bias,
                              int64_t B, int64_t H, int64_t W, int64_t p, int64_t C, const float* mean,
                              const float* std) {
  im2col(cols, pixels, B, H, W, p, mean, std);
  linear_forward_bf16(out, cols, weight, bias, B * (H / p) * (W / p), 3 * p * p, C);
}

void patch_embed_backward_bf16(float* dweight, float* dbias, const float* dout, const float* cols, int64_t BP,
                               int64_t K, int64_t C) {
  linear_backward_bf16(nullptr, dweight, dbias, dout, cols, nullptr, BP, K, C);
}

}  // namespace cpu
}  // namespace tessera
