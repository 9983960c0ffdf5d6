// Gated-attention MIL pooling (Ilse, Tomczak & Welling 2018, "Attention-based Deep Multiple Instance
// Learning"): a_n = tanh(V h_n), g_n = sigmoid(U h_n), score_n = w^T (a_n * g_n), attention = softmax over
// the slide's patches, z = sum_n attention_n h_n.
#include <cmath>
#include <vector>

#include "ops_cpu.h"

namespace tessera {
namespace cpu {

// h (N,D); wa, wb (Dh,D); ba, bb (Dh); wc (1,Dh); bc (1) -> z (D), attn (N), a, g (N,Dh) saved
void mil_attention_forward(float* z, float* attn, float* a, float* g, const float* h, const float* wa,
                           const float* ba, const float* wb, const float* bb, const float* wc, const float* bc,
                           int64_t N, int64_t D, int64_t Dh) {
  linear_forward(a, h, wa, ba, N, D, Dh);
  linear_forward(g, h, wb, bb, N, D, Dh);
  for (int64_t i = 0; i < N * Dh; i++) {
    a[i] = std::tanh(a[i]);
    g[i] = 1.0f / (1.0f + std::exp(-g[i]));
  }
  float mx = -INFINITY;
  for (int64_t n = 0; n < N; n++) {
    float s = bc ? bc[0] : 0.0f;
    for (int64_t j = 0; j < Dh; j++) s += a[n * Dh + j] * g[n * Dh + j] * wc[j];
    attn[n] = s;
    mx = std::fmax(mx, s);
  }
  double sum = 0.0;
  for (int64_t n = 0; n < N; n++) {
    attn[n] = std::exp(attn[n] - mx);
    sum += attn[n];
  }
  for (int64_t n = 0; n < N; n++) attn[n] = static_cast<float>(attn[n] / sum);
  for (int64_t d = 0; d < D; d++) z[d] = 0.0f;
  for (int64_t n = 0; n < N; n++)
    for (int64_t d = 0; d < D; d++) z[d] += attn[n] * h[n * D + d];
}

// dz (D) -> dh (N,D) +=, parameter grads +=. scratch holds N * (2*Dh + 1) floats.
void mil_attention_backward(float* dh, float* dwa, float* dba, float* dwb, float* dbb, float* dwc, float* dbc,
                            const float* dz, const float* attn, const float* a, const float* g, const float* h,
                            const float* wa, const float* wb, const float* wc, float* scratch, int64_t N,
                            int64_t D, int64_t Dh) {
  float* dPreA = scratch;
  float* dPreG = scratch + N * Dh;
  float* dscore = scratch + 2 * N * Dh;
  double dot = 0.0;
  for (int64_t n = 0; n < N; n++) {  // through z = attn^T h
    const float* hn = h + n * D;
    float* dhn = dh + n * D;
    float da = 0.0f;
    for (int64_t d = 0; d < D; d++) {
      da += dz[d] * hn[d];
      dhn[d] += attn[n] * dz[d];
    }
    dscore[n] = da;
    dot += static_cast<double>(attn[n]) * da;
  }
  for (int64_t n = 0; n < N; n++) dscore[n] = attn[n] * (dscore[n] - static_cast<float>(dot));  // softmax
  for (int64_t n = 0; n < N; n++) {
    if (dbc) dbc[0] += dscore[n];
    for (int64_t j = 0; j < Dh; j++) {
      const int64_t i = n * Dh + j;
      dwc[j] += dscore[n] * a[i] * g[i];
      const float dgated = dscore[n] * wc[j];
      dPreA[i] = dgated * g[i] * (1.0f - a[i] * a[i]);
      dPreG[i] = dgated * a[i] * g[i] * (1.0f - g[i]);
    }
  }
  linear_backward(dh, dwa, dba, dPreA, h, wa, N, D, Dh);
  linear_backward(dh, dwb, dbb, dPreG, h, wb, N, D, Dh);
}

}  // namespace cpu
}  // namespace tessera
