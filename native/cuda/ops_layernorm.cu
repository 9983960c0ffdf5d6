// LayerNorm over the last dimension (biased variance, as torch.nn.LayerNorm), fused: one warp per row reads the
// row, computes its mean and variance in registers and writes the normalised, scaled and shifted row in the same
// kernel; the backward likewise, with the weight and bias gradients as deterministic column sums.
#include <cmath>

#include "cuda_internal.h"
#include "ops.h"

namespace tessera {
namespace cuda {

namespace {

constexpr int kWarps = 8;

// Row m's mean and 1/sqrt(var + eps); the same two-pass formula as the CPU (mean first, then squared deviations).
__device__ void rowStats(const float* x, int64_t C, float eps, int lane, float* mean, float* rstd) {
  float s = 0.0f;
  for (int64_t c = lane; c < C; c += 32) s += x[c];
  const float mu = warpSum(s) / static_cast<float>(C);
  float v = 0.0f;
  for (int64_t c = lane; c < C; c += 32) {
    const float d = x[c] - mu;
    v += d * d;
  }
  const float var = warpSum(v) / static_cast<float>(C);
  *mean = mu;
  *rstd = 1.0f / sqrtf(var + eps);
}

__global__ void layernormForwardKernel(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                                       const float* bias, int64_t M, int64_t C, float eps) {
  const int lane = threadIdx.x & 31;
  const int64_t m = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.x / 32;
  if (m >= M) return;  // whole warps leave together
  const float* x = inp + m * C;
  float mu, r;
  rowStats(x, C, eps, lane, &mu, &r);
  float* o = out + m * C;
  for (int64_t c = lane; c < C; c += 32) o[c] = (x[c] - mu) * r * weight[c] + bias[c];
  if (lane == 0 && mean) {
    mean[m] = mu;
    rstd[m] = r;
  }
}

// dinp += (dout*w - mean(dout*w) - xhat * mean(dout*w*xhat)) * rstd
__global__ void layernormBackwardKernel(float* dinp, const float* dout, const float* inp, const float* weight,
                                        const float* mean, const float* rstd, int64_t M, int64_t C) {
  const int lane = threadIdx.x & 31;
  const int64_t m = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.x / 32;
  if (m >= M) return;
  const float* x = inp + m * C;
  const float* d = dout + m * C;
  const float mu = mean[m], r = rstd[m];
  float sd = 0.0f, sdx = 0.0f;
  for (int64_t c = lane; c < C; c += 32) {
    const float dn = d[c] * weight[c];
    sd += dn;
    sdx += dn * ((x[c] - mu) * r);
  }
  const float meanD = warpSum(sd) / static_cast<float>(C), meanDX = warpSum(sdx) / static_cast<float>(C);
  float* di = dinp + m * C;
  for (int64_t c = lane; c < C; c += 32) {
    const float xhat = (x[c] - mu) * r;
    di[c] += (d[c] * weight[c] - meanD - xhat * meanDX) * r;
  }
}

// xhat (M,C) for the weight gradient's column sum
__global__ void layernormXhatKernel(float* xhat, const float* inp, const float* mean, const float* rstd, int64_t M,
                                    int64_t C) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < M * C;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t m = i / C;
    xhat[i] = (inp[i] - mean[m]) * rstd[m];
  }
}

}  // namespace

void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight, const float* bias,
                       int64_t M, int64_t C, float eps) {
  check(launchKernel(layernormForwardKernel, dim3(static_cast<unsigned>((M + kWarps - 1) / kWarps)), dim3(32 * kWarps),
                     0, stream(), out, mean, rstd, inp, weight, bias, M, C, eps),
        "layernorm_forward");
}

void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                        const float* weight, const float* mean, const float* rstd, int64_t M, int64_t C) {
  if (dinp)
    check(launchKernel(layernormBackwardKernel, dim3(static_cast<unsigned>((M + kWarps - 1) / kWarps)),
                       dim3(32 * kWarps), 0, stream(), dinp, dout, inp, weight, mean, rstd, M, C),
          "layernorm_backward");
  Scratch xhat(sizeof(float) * M * C);
  check(launchKernel(layernormXhatKernel, dim3(gridFor(M * C, 256)), dim3(256), 0, stream(), xhat.f32(), inp, mean,
                     rstd, M, C),
        "layernorm_backward");
  columnSum(dweight, dout, C, xhat.f32(), C, nullptr, M, C, true);
  if (dbias) columnSum(dbias, dout, C, nullptr, 0, nullptr, M, C, true);
}

}  // namespace cuda
}  // namespace tessera
