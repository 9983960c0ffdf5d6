// Token assembly (timm's _pos_embed: [class, registers, patches] + pos_embed) and pooling (class token, mean of the
// patch tokens, or both), forward above backward. Parameter gradients sum over the images in a fixed order.
#include <cstring>

#include "ops_cpu.h"

namespace tessera {
namespace cpu {

// x (B,T,C) from patches (B*P,C), cls (C), reg (R,C), pos (T - posFirst, C)
void tokens_forward(float* x, const float* patches, const float* cls, const float* reg, const float* pos, int64_t B,
                    int64_t P, int64_t R, int64_t C, int64_t posFirst) {
  const int64_t nc = cls ? 1 : 0, T = nc + R + P;
  parallelFor(B, [&](int64_t b) {
    float* xb = x + b * T * C;
    if (cls) std::memcpy(xb, cls, sizeof(float) * C);
    if (R) std::memcpy(xb + nc * C, reg, sizeof(float) * R * C);
    std::memcpy(xb + (nc + R) * C, patches + b * P * C, sizeof(float) * P * C);
    for (int64_t i = 0; i < (T - posFirst) * C; i++) xb[posFirst * C + i] += pos[i];
  });
}

// dpatches (B*P,C) += ; dcls, dreg, dpos += summed over the images in order
void tokens_backward(float* dpatches, float* dcls, float* dreg, float* dpos, const float* dx, int64_t B, int64_t P,
                     int64_t R, int64_t C, int64_t posFirst, bool cls) {
  const int64_t nc = cls ? 1 : 0, T = nc + R + P;
  parallelFor(B, [&](int64_t b) {
    const float* db = dx + b * T * C + (nc + R) * C;
    float* dp = dpatches + b * P * C;
    for (int64_t i = 0; i < P * C; i++) dp[i] += db[i];
  });
  // Columns in parallel, images in order within each column.
  const int64_t cols = (T - posFirst) * C;
  parallelRange(cols, 4096, [&](int64_t i0, int64_t i1) {
    for (int64_t b = 0; b < B; b++) {
      const float* db = dx + b * T * C;
      for (int64_t i = i0; i < i1; i++) dpos[i] += db[posFirst * C + i];
    }
  });
  for (int64_t b = 0; b < B; b++) {
    const float* db = dx + b * T * C;
    if (cls)
      for (int64_t d = 0; d < C; d++) dcls[d] += db[d];
    for (int64_t i = 0; i < R * C; i++) dreg[i] += db[nc * C + i];
  }
}

// out (B, Cout) = [x row 0 if token | mean of rows avgFirst.. if avg]
void pool_forward(float* out, const float* x, int64_t B, int64_t rows, int64_t C, int64_t avgFirst, bool token,
                  bool avg) {
  const int64_t Cout = (token ? C : 0) + (avg ? C : 0);
  parallelFor(B, [&](int64_t b) {
    float* dst = out + b * Cout;
    const float* xb = x + b * rows * C;
    if (token) {
      std::memcpy(dst, xb, sizeof(float) * C);
      dst += C;
    }
    if (avg) {
      for (int64_t d = 0; d < C; d++) dst[d] = 0.0f;
      for (int64_t t = avgFirst; t < rows; t++)
        for (int64_t d = 0; d < C; d++) dst[d] += xb[t * C + d];
      for (int64_t d = 0; d < C; d++) dst[d] /= static_cast<float>(rows - avgFirst);
    }
  });
}

// dx (B, rows, C) += from dout (B, Cout)
void pool_backward(float* dx, const float* dout, int64_t B, int64_t rows, int64_t C, int64_t avgFirst, bool token,
                   bool avg) {
  const int64_t Cout = (token ? C : 0) + (avg ? C : 0);
  parallelFor(B, [&](int64_t b) {
    const float* db = dout + b * Cout;
    float* xb = dx + b * rows * C;
    if (token) {
      for (int64_t d = 0; d < C; d++) xb[d] += db[d];
      db += C;
    }
    if (avg) {
      const float inv = 1.0f / static_cast<float>(rows - avgFirst);
      for (int64_t t = avgFirst; t < rows; t++)
        for (int64_t d = 0; d < C; d++) xb[t * C + d] += db[d] * inv;
    }
  });
}

}  // namespace cpu
}  // namespace tessera
