// Gated-attention MIL pooling over one slide (Ilse et al. 2018; engine/mil_attention.cpp is the reference):
// the two branch projections are linear layers (fp32), the gating, scores and softmax over the slide's patches and
// the weighted sum run here. N is up to some hundred thousand patches: the softmax is one block looping over them,
// sums in double as the CPU, and every reduction is in a fixed order.
#include <cmath>

#include "cuda_internal.h"
#include "ops.h"

namespace tessera {
namespace cuda {

namespace {

constexpr int kSoftmaxThreads = 1024;

// a = tanh(a), g = sigmoid(g), score[n] = sum_j a*g*wc (+ bc): one warp per patch
__global__ void gateAndScoreKernel(float* score, float* a, float* g, const float* wc, const float* bc, int64_t N,
                                   int64_t Dh) {
  const int lane = threadIdx.x & 31;
  const int64_t n = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (n >= N) return;
  float s = 0.0f;
  for (int64_t j = lane; j < Dh; j += 32) {
    const int64_t i = n * Dh + j;
    const float av = tanhf(a[i]), gv = 1.0f / (1.0f + expf(-g[i]));
    a[i] = av;
    g[i] = gv;
    s += av * gv * wc[j];
  }
  s = warpSum(s);
  if (lane == 0) score[n] = s + (bc ? bc[0] : 0.0f);
}

__device__ double blockSumDouble(double v, double* tmp) {
  v = warpSumDouble(v);
  __syncthreads();
  if ((threadIdx.x & 31) == 0) tmp[threadIdx.x / 32] = v;
  __syncthreads();
  double r = 0.0;
  for (int w = 0; w < kSoftmaxThreads / 32; w++) r += tmp[w];
  return r;
}

// attn (N): scores in, softmax out (one block)
__global__ void softmaxOverPatchesKernel(float* attn, int64_t N) {
  __shared__ double tmp[kSoftmaxThreads / 32];
  __shared__ float maxes[kSoftmaxThreads / 32];
  float mx = -INFINITY;
  for (int64_t n = threadIdx.x; n < N; n += kSoftmaxThreads) mx = fmaxf(mx, attn[n]);
  mx = warpMax(mx);
  if ((threadIdx.x & 31) == 0) maxes[threadIdx.x / 32] = mx;
  __syncthreads();
  mx = maxes[0];
  for (int w = 1; w < kSoftmaxThreads / 32; w++) mx = fmaxf(mx, maxes[w]);
  double sum = 0.0;
  for (int64_t n = threadIdx.x; n < N; n += kSoftmaxThreads) {
    const float e = expf(attn[n] - mx);
    attn[n] = e;
    sum += e;
  }
  sum = blockSumDouble(sum, tmp);
  for (int64_t n = threadIdx.x; n < N; n += kSoftmaxThreads) attn[n] = static_cast<float>(attn[n] / sum);
}

// dscore[n] = dz . h[n]; dh[n] += attn[n] * dz: one warp per patch
__global__ void poolingBackwardKernel(float* dscore, float* dh, const float* dz, const float* attn, const float* h,
                                      int64_t N, int64_t D) {
  const int lane = threadIdx.x & 31;
  const int64_t n = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (n >= N) return;
  float s = 0.0f;
  for (int64_t d = lane; d < D; d += 32) {
    s += dz[d] * h[n * D + d];
    dh[n * D + d] += attn[n] * dz[d];
  }
  s = warpSum(s);
  if (lane == 0) dscore[n] = s;
}

// dscore[n] = attn[n] * (dscore[n] - sum_m attn[m] dscore[m]) (the softmax backward; one block, the dot in double)
__global__ void softmaxBackwardOverPatchesKernel(float* dscore, const float* attn, int64_t N) {
  __shared__ double tmp[kSoftmaxThreads / 32];
  double dot = 0.0;
  for (int64_t n = threadIdx.x; n < N; n += kSoftmaxThreads) dot += static_cast<double>(attn[n]) * dscore[n];
  const float d = static_cast<float>(blockSumDouble(dot, tmp));
  for (int64_t n = threadIdx.x; n < N; n += kSoftmaxThreads) dscore[n] = attn[n] * (dscore[n] - d);
}

// The gradients before the branch nonlinearities: dPreA = dgated * g * (1 - a^2), dPreG = dgated * a * g * (1 - g)
__global__ void gateBackwardKernel(float* dPreA, float* dPreG, const float* dscore, const float* a, const float* g,
                                   const float* wc, int64_t N, int64_t Dh) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < N * Dh;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t n = i / Dh, j = i % Dh;
    const float dgated = dscore[n] * wc[j];
    dPreA[i] = dgated * g[i] * (1.0f - a[i] * a[i]);
    dPreG[i] = dgated * a[i] * g[i] * (1.0f - g[i]);
  }
}

}  // namespace

void mil_attention_forward(float* z, float* attn, float* a, float* g, const float* h, const float* wa, const float* ba,
                           const float* wb, const float* bb, const float* wc, const float* bc, int64_t N, int64_t D,
                           int64_t Dh) {
  linearForward(a, Dh, h, D, wa, ba, N, D, Dh, false);
  linearForward(g, Dh, h, D, wb, bb, N, D, Dh, false);
  check(launchKernel(gateAndScoreKernel, dim3(static_cast<unsigned>((N + 7) / 8)), dim3(256), 0, stream(), attn, a, g,
                     wc, bc, N, Dh),
        "mil_attention_forward");
  check(launchKernel(softmaxOverPatchesKernel, dim3(1), dim3(kSoftmaxThreads), 0, stream(), attn, N),
        "mil_attention_forward");
  columnSum(z, h, D, nullptr, 0, attn, N, D, false);  // z = attn^T h
}

void mil_attention_backward(float* dh, float* dwa, float* dba, float* dwb, float* dbb, float* dwc, float* dbc,
                            const float* dz, const float* attn, const float* a, const float* g, const float* h,
                            const float* wa, const float* wb, const float* wc, float* scratch, int64_t N, int64_t D,
                            int64_t Dh) {
  float* dPreA = scratch;
  float* dPreG = scratch + N * Dh;
  float* dscore = scratch + 2 * N * Dh;
  check(launchKernel(poolingBackwardKernel, dim3(static_cast<unsigned>((N + 7) / 8)), dim3(256), 0, stream(), dscore,
                     dh, dz, attn, h, N, D),
        "mil_attention_backward");
  check(launchKernel(softmaxBackwardOverPatchesKernel, dim3(1), dim3(kSoftmaxThreads), 0, stream(), dscore, attn, N),
        "mil_attention_backward");
  if (dbc) columnSum(dbc, dscore, 1, nullptr, 0, nullptr, N, 1, true);
  columnSum(dwc, a, Dh, g, Dh, dscore, N, Dh, true);  // dwc += sum_n dscore[n] a g
  check(launchKernel(gateBackwardKernel, dim3(gridFor(N * Dh, 256)), dim3(256), 0, stream(), dPreA, dPreG, dscore, a, g,
                     wc, N, Dh),
        "mil_attention_backward");
  linearBackward(dh, dwa, dba, dPreA, h, wa, N, D, Dh, false);
  linearBackward(dh, dwb, dbb, dPreG, h, wb, N, D, Dh, false);
}

}  // namespace cuda
}  // namespace tessera
