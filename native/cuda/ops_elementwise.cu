// Element-wise ops and the small ones around them: exact GELU, SwiGLU, residual + LayerScale, token assembly,
// pooling, dropout and the task losses, forward above backward. Grid-stride loops over the elements; sums over rows
// go through columnSum (deterministic). The arithmetic follows the CPU ops (ops_cpu.h) term by term, with CUDA's
// erff / expf in place of the CPU's vector approximations.
#include <cmath>

#include "../engine/rng.h"
#include "cuda_internal.h"
#include "ops.h"

namespace tessera {
namespace cuda {

namespace {

constexpr int kThreads = 256;

#define GRID_STRIDE(i, n) \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += static_cast<int64_t>(gridDim.x) * blockDim.x)

__global__ void geluForwardKernel(float* out, const float* x, int64_t n) {
  GRID_STRIDE(i, n) {
    const float v = x[i];
    out[i] = v * (0.5f * erff(v * 0.70710678118654752f) + 0.5f);
  }
}

__global__ void geluBackwardKernel(float* dx, const float* dout, const float* x, int64_t n) {
  GRID_STRIDE(i, n) {
    const float v = x[i];
    const float cdf = 0.5f * erff(v * 0.70710678118654752f) + 0.5f;
    const float pdf = 0.39894228040143268f * expf(-0.5f * v * v);
    dx[i] += dout[i] * (v * pdf + cdf);
  }
}

__global__ void swigluForwardKernel(float* out, const float* inp, int64_t M, int64_t H) {
  GRID_STRIDE(i, M * H) {
    const int64_t m = i / H, j = i % H;
    const float g = inp[m * 2 * H + j], v = inp[m * 2 * H + H + j];
    const float s = 1.0f / (1.0f + expf(-g));
    out[i] = g * s * v;
  }
}

__global__ void swigluBackwardKernel(float* dinp, const float* dout, const float* inp, int64_t M, int64_t H) {
  GRID_STRIDE(i, M * H) {
    const int64_t m = i / H, j = i % H;
    const float g = inp[m * 2 * H + j], v = inp[m * 2 * H + H + j], d = dout[i];
    const float s = 1.0f / (1.0f + expf(-g));
    dinp[m * 2 * H + j] += d * v * (s * (g * (1.0f - s) + 1.0f));
    dinp[m * 2 * H + H + j] += d * g * s;
  }
}

__global__ void residualScaleForwardKernel(float* out, const float* residual, const float* inp, const float* gamma,
                                           int64_t M, int64_t C) {
  GRID_STRIDE(i, M * C) out[i] = residual[i] + (gamma ? gamma[i % C] * inp[i] : inp[i]);
}

__global__ void residualScaleBackwardKernel(float* dinp, const float* dout, const float* gamma, int64_t M, int64_t C) {
  GRID_STRIDE(i, M * C) dinp[i] += gamma ? gamma[i % C] * dout[i] : dout[i];
}

// x (B,T,C): [cls | reg (R) | patches (P)] + pos on rows posFirst..
__global__ void tokensForwardKernel(float* x, const float* patches, const float* cls, const float* reg,
                                    const float* pos, int64_t B, int64_t P, int64_t R, int64_t C, int64_t posFirst) {
  const int64_t nc = cls ? 1 : 0, T = nc + R + P;
  GRID_STRIDE(i, B * T * C) {
    const int64_t b = i / (T * C), t = (i / C) % T, c = i % C;
    float v;
    if (t < nc) v = cls[c];
    else if (t < nc + R) v = reg[(t - nc) * C + c];
    else v = patches[(b * P + t - nc - R) * C + c];
    if (t >= posFirst) v += pos[(t - posFirst) * C + c];
    x[i] = v;
  }
}

__global__ void tokensPatchGradKernel(float* dpatches, const float* dx, int64_t B, int64_t P, int64_t first, int64_t T,
                                      int64_t C) {
  GRID_STRIDE(i, B * P * C) {
    const int64_t b = i / (P * C), r = i % (P * C);
    dpatches[i] += dx[b * T * C + first * C + r];
  }
}

// out (B, Cout) = [row 0 if token | mean of rows avgFirst.. if avg]; the mean sums the rows in order
__global__ void poolForwardKernel(float* out, const float* x, int64_t B, int64_t rows, int64_t C, int64_t avgFirst,
                                  bool token, bool avg) {
  const int64_t Cout = (token ? C : 0) + (avg ? C : 0);
  GRID_STRIDE(i, B * Cout) {
    const int64_t b = i / Cout, k = i % Cout;
    const float* xb = x + b * rows * C;
    if (token && k < C) {
      out[i] = xb[k];
    } else {
      const int64_t c = token ? k - C : k;
      float s = 0.0f;
      for (int64_t t = avgFirst; t < rows; t++) s += xb[t * C + c];
      out[i] = s / static_cast<float>(rows - avgFirst);
    }
  }
}

__global__ void poolBackwardKernel(float* dx, const float* dout, int64_t B, int64_t rows, int64_t C, int64_t avgFirst,
                                   bool token, bool avg) {
  const int64_t Cout = (token ? C : 0) + (avg ? C : 0);
  GRID_STRIDE(i, B * rows * C) {
    const int64_t b = i / (rows * C), t = (i / C) % rows, c = i % C;
    const float* db = dout + b * Cout;
    float v = 0.0f;
    if (token && t == 0) v += db[c];
    if (avg && t >= avgFirst) v += db[(token ? C : 0) + c] * (1.0f / static_cast<float>(rows - avgFirst));
    if (v != 0.0f) dx[i] += v;
  }
}

__global__ void dropoutForwardKernel(float* out, float* mask, const float* inp, int64_t n, float p, uint64_t seed) {
  GRID_STRIDE(i, n) {
    const float k = p > 0.0f ? dropoutMask(seed, i, p) : 1.0f;
    mask[i] = k;
    out[i] = inp[i] * k;
  }
}

__global__ void dropoutBackwardKernel(float* dinp, const float* dout, const float* mask, int64_t n) {
  GRID_STRIDE(i, n) dinp[i] += dout[i] * mask[i];
}

// One thread: the logits of one task are a handful of numbers. Double precision, as the CPU.
__global__ void taskLossKernel(double* loss, float* dlogits, const float* logits, int64_t C, bool binary, int label,
                               float scale) {
  if (label < 0) {
    loss[0] = 0.0;
    return;
  }
  if (binary) {
    const double x = logits[0], y = label;
    loss[0] = fmax(x, 0.0) - x * y + log1p(exp(-fabs(x)));
    dlogits[0] += scale * static_cast<float>(1.0 / (1.0 + exp(-x)) - y);
    return;
  }
  double mx = logits[0];
  for (int64_t c = 1; c < C; c++) mx = fmax(mx, static_cast<double>(logits[c]));
  double sum = 0.0;
  for (int64_t c = 0; c < C; c++) sum += exp(logits[c] - mx);
  const double lse = mx + log(sum);
  for (int64_t c = 0; c < C; c++) {
    const double p = exp(logits[c] - lse);
    dlogits[c] += scale * static_cast<float>(p - (c == label ? 1.0 : 0.0));
  }
  loss[0] = lse - logits[label];
}

#undef GRID_STRIDE

}  // namespace

void gelu_forward(float* out, const float* inp, int64_t n) {
  check(launchKernel(geluForwardKernel, dim3(gridFor(n, kThreads)), dim3(kThreads), 0, stream(), out, inp, n), "gelu_forward");
}

void gelu_backward(float* dinp, const float* dout, const float* inp, int64_t n) {
  check(launchKernel(geluBackwardKernel, dim3(gridFor(n, kThreads)), dim3(kThreads), 0, stream(), dinp, dout, inp, n),
        "gelu_backward");
}

void swiglu_forward(float* out, const float* inp, int64_t M, int64_t H) {
  check(launchKernel(swigluForwardKernel, dim3(gridFor(M * H, kThreads)), dim3(kThreads), 0, stream(), out, inp, M, H),
        "swiglu_forward");
}

void swiglu_backward(float* dinp, const float* dout, const float* inp, int64_t M, int64_t H) {
  check(launchKernel(swigluBackwardKernel, dim3(gridFor(M * H, kThreads)), dim3(kThreads), 0, stream(), dinp, dout, inp,
                     M, H),
        "swiglu_backward");
}

void residual_scale_forward(float* out, const float* residual, const float* inp, const float* gamma, int64_t M,
                            int64_t C) {
  check(launchKernel(residualScaleForwardKernel, dim3(gridFor(M * C, kThreads)), dim3(kThreads), 0, stream(), out,
                     residual, inp, gamma, M, C),
        "residual_scale_forward");
}

void residual_scale_backward(float* dinp, float* dgamma, const float* dout, const float* inp, const float* gamma,
                             int64_t M, int64_t C) {
  check(launchKernel(residualScaleBackwardKernel, dim3(gridFor(M * C, kThreads)), dim3(kThreads), 0, stream(), dinp,
                     dout, gamma, M, C),
        "residual_scale_backward");
  if (dgamma) columnSum(dgamma, dout, C, inp, C, nullptr, M, C, true);
}

void tokens_forward(float* x, const float* patches, const float* cls, const float* reg, const float* pos, int64_t B,
                    int64_t P, int64_t R, int64_t C, int64_t posFirst) {
  const int64_t T = (cls ? 1 : 0) + R + P;
  check(launchKernel(tokensForwardKernel, dim3(gridFor(B * T * C, kThreads)), dim3(kThreads), 0, stream(), x, patches,
                     cls, reg, pos, B, P, R, C, posFirst),
        "tokens_forward");
}

void tokens_backward(float* dpatches, float* dcls, float* dreg, float* dpos, const float* dx, int64_t B, int64_t P,
                     int64_t R, int64_t C, int64_t posFirst, bool cls) {
  const int64_t nc = cls ? 1 : 0, T = nc + R + P;
  check(launchKernel(tokensPatchGradKernel, dim3(gridFor(B * P * C, kThreads)), dim3(kThreads), 0, stream(), dpatches,
                     dx, B, P, nc + R, T, C),
        "tokens_backward");
  // Parameter gradients: sums over the images (rows of length T*C) in order.
  columnSum(dpos, dx + posFirst * C, T * C, nullptr, 0, nullptr, B, (T - posFirst) * C, true);
  if (cls) columnSum(dcls, dx, T * C, nullptr, 0, nullptr, B, C, true);
  if (R) columnSum(dreg, dx + nc * C, T * C, nullptr, 0, nullptr, B, R * C, true);
}

void pool_forward(float* out, const float* x, int64_t B, int64_t rows, int64_t C, int64_t avgFirst, bool token,
                  bool avg) {
  const int64_t Cout = (token ? C : 0) + (avg ? C : 0);
  check(launchKernel(poolForwardKernel, dim3(gridFor(B * Cout, kThreads)), dim3(kThreads), 0, stream(), out, x, B, rows,
                     C, avgFirst, token, avg),
        "pool_forward");
}

void pool_backward(float* dx, const float* dout, int64_t B, int64_t rows, int64_t C, int64_t avgFirst, bool token,
                   bool avg) {
  check(launchKernel(poolBackwardKernel, dim3(gridFor(B * rows * C, kThreads)), dim3(kThreads), 0, stream(), dx, dout, B,
                     rows, C, avgFirst, token, avg),
        "pool_backward");
}

void dropout_forward(float* out, float* mask, const float* inp, int64_t n, float p, uint64_t seed) {
  check(launchKernel(dropoutForwardKernel, dim3(gridFor(n, kThreads)), dim3(kThreads), 0, stream(), out, mask, inp, n, p,
                     seed),
        "dropout_forward");
}

void dropout_backward(float* dinp, const float* dout, const float* mask, int64_t n) {
  check(launchKernel(dropoutBackwardKernel, dim3(gridFor(n, kThreads)), dim3(kThreads), 0, stream(), dinp, dout, mask, n),
        "dropout_backward");
}

void task_loss(double* loss, float* dlogits, const float* logits, int64_t C, bool binary, int label, float scale) {
  check(launchKernel(taskLossKernel, dim3(1), dim3(1), 0, stream(), loss, dlogits, logits, C, binary, label, scale),
        "task_loss");
}

}  // namespace cuda
}  // namespace tessera
