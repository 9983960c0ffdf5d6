// Multi-head attention core, fp32 (the fp32 table, and the bf16 table for head dims the fused kernels do not take):
// the CPU's computation on the device. One block per (image, head, query row): scores, softmax and the weighted sum
// of values, keeping the probabilities (B,NH,Tq,T) for backward as the CPU does. The backward computes each query's
// dS row and dq, then each key's dk and dv from the stored dS and P (two kernels, every sum in a fixed order: no
// atomics, deterministic). Not fast: it is the checking mode; ops_flash_attention.cu is the bf16 path.
#include <cmath>
#include <stdexcept>

#include "cuda_internal.h"
#include "ops.h"

namespace tessera {
namespace cuda {

namespace {

constexpr int kThreads = 128;
constexpr int64_t kMaxSharedRow = 8192;  // scores kept in shared memory up to this many keys (else in scratch)

__device__ float blockReduce(float v, bool isMax, float* tmp) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x / 32;
  v = isMax ? warpMax(v) : warpSum(v);
  __syncthreads();  // tmp may still be read from the previous reduction
  if (lane == 0) tmp[warp] = v;
  __syncthreads();
  float r = tmp[0];
  for (int w = 1; w < kThreads / 32; w++) r = isMax ? fmaxf(r, tmp[w]) : r + tmp[w];
  return r;
}

// Block (b*NH + h, i): the probabilities of query i of image b, head h, and its output row; out (B,Tq,C)
__global__ void attentionForwardKernel(float* out, float* saved, float* scratch, const float* qkv, int64_t T,
                                       int64_t Tq, int64_t C, int64_t NH) {
  __shared__ float tmp[kThreads / 32];
  __shared__ float q[128];
  TESSERA_DYNAMIC_SHARED(float, smemRow);
  const int64_t i = blockIdx.y, bh = blockIdx.x, b = bh / NH, h = bh % NH, hd = C / NH, C3 = 3 * C;
  const float scale = 1.0f / sqrtf(static_cast<float>(hd));
  const float* base = qkv + b * T * C3 + h * hd;
  const int64_t rowIndex = (bh * Tq + i) * T;
  float* row = saved ? saved + rowIndex : (scratch ? scratch + rowIndex : smemRow);
  for (int64_t d = threadIdx.x; d < hd; d += kThreads) q[d] = base[i * C3 + d];
  __syncthreads();
  float mx = -INFINITY;
  for (int64_t j = threadIdx.x; j < T; j += kThreads) {
    const float* k = base + j * C3 + C;
    float s = 0.0f;
    for (int64_t d = 0; d < hd; d++) s += q[d] * k[d];
    row[j] = s;
    mx = fmaxf(mx, s * scale);
  }
  mx = blockReduce(mx, true, tmp);
  float sum = 0.0f;
  for (int64_t j = threadIdx.x; j < T; j += kThreads) {
    const float e = expf(row[j] * scale - mx);
    row[j] = e;
    sum += e;
  }
  const float inv = 1.0f / blockReduce(sum, false, tmp);
  for (int64_t j = threadIdx.x; j < T; j += kThreads) row[j] *= inv;
  __syncthreads();
  for (int64_t d = threadIdx.x; d < hd; d += kThreads) {
    float o = 0.0f;
    for (int64_t j = 0; j < T; j++) o += row[j] * base[j * C3 + 2 * C + d];
    out[(b * Tq + i) * C + h * hd + d] = o;
  }
}

// dS row of query i (into dS) and dq_i += dS K
__global__ void attentionBackwardQueryKernel(float* dqkv, float* dS, const float* dout, const float* qkv,
                                             const float* P, int64_t T, int64_t Tq, int64_t C, int64_t NH) {
  __shared__ float tmp[kThreads / 32];
  __shared__ float dO[128];
  const int64_t i = blockIdx.y, bh = blockIdx.x, b = bh / NH, h = bh % NH, hd = C / NH, C3 = 3 * C;
  const float scale = 1.0f / sqrtf(static_cast<float>(hd));
  const float* base = qkv + b * T * C3 + h * hd;
  const float* p = P + (bh * Tq + i) * T;
  float* ds = dS + (bh * Tq + i) * T;
  for (int64_t d = threadIdx.x; d < hd; d += kThreads) dO[d] = dout[(b * Tq + i) * C + h * hd + d];
  __syncthreads();
  float dot = 0.0f;
  for (int64_t j = threadIdx.x; j < T; j += kThreads) {
    const float* v = base + j * C3 + 2 * C;
    float s = 0.0f;
    for (int64_t d = 0; d < hd; d++) s += dO[d] * v[d];
    ds[j] = s;  // dP for now
    dot += p[j] * s;
  }
  dot = blockReduce(dot, false, tmp);
  for (int64_t j = threadIdx.x; j < T; j += kThreads) ds[j] = p[j] * (ds[j] - dot) * scale;
  __syncthreads();
  for (int64_t d = threadIdx.x; d < hd; d += kThreads) {
    float s = 0.0f;
    for (int64_t j = 0; j < T; j++) s += ds[j] * base[j * C3 + C + d];
    dqkv[(b * T + i) * C3 + h * hd + d] += s;
  }
}

// dk_j += sum_i dS_ij q_i, dv_j += sum_i P_ij dO_i
__global__ void attentionBackwardKeyKernel(float* dqkv, const float* dS, const float* dout, const float* qkv,
                                           const float* P, int64_t T, int64_t Tq, int64_t C, int64_t NH) {
  const int64_t j = blockIdx.y, bh = blockIdx.x, b = bh / NH, h = bh % NH, hd = C / NH, C3 = 3 * C;
  const float* base = qkv + b * T * C3 + h * hd;
  for (int64_t d = threadIdx.x; d < hd; d += kThreads) {
    float dk = 0.0f, dv = 0.0f;
    for (int64_t i = 0; i < Tq; i++) {
      const int64_t r = (bh * Tq + i) * T + j;
      dk += dS[r] * base[i * C3 + d];
      dv += P[r] * dout[(b * Tq + i) * C + h * hd + d];
    }
    float* row = dqkv + (b * T + j) * C3 + h * hd + d;
    row[C] += dk;
    row[2 * C] += dv;
  }
}

}  // namespace

void attention_forward(float* out, float* saved, const float* qkv, int64_t B, int64_t T, int64_t Tq, int64_t C,
                       int64_t NH) {
  if (C / NH > 128) throw std::invalid_argument("The CUDA attention takes head dims up to 128.");
  const bool rowInShared = !saved && T <= kMaxSharedRow;
  Scratch scratch(saved || rowInShared ? 0 : sizeof(float) * B * NH * Tq * T);
  check(launchKernel(attentionForwardKernel, dim3(static_cast<unsigned>(B * NH), static_cast<unsigned>(Tq)),
                     dim3(kThreads), rowInShared ? sizeof(float) * T : 0, stream(), out, saved, scratch.f32(), qkv, T,
                     Tq, C, NH),
        "attention_forward");
}

void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* /*out*/, const float* saved,
                        int64_t B, int64_t T, int64_t Tq, int64_t C, int64_t NH) {
  Scratch dS(sizeof(float) * B * NH * Tq * T);
  const dim3 block(kThreads);
  check(launchKernel(attentionBackwardQueryKernel, dim3(static_cast<unsigned>(B * NH), static_cast<unsigned>(Tq)), block,
                     0, stream(), dqkv, dS.f32(), dout, qkv, saved, T, Tq, C, NH),
        "attention_backward");
  check(launchKernel(attentionBackwardKeyKernel, dim3(static_cast<unsigned>(B * NH), static_cast<unsigned>(T)), block, 0,
                     stream(), dqkv, dS.f32(), dout, qkv, saved, T, Tq, C, NH),
        "attention_backward");
}

int64_t attention_saved_floats(int64_t B, int64_t T, int64_t Tq, int64_t /*C*/, int64_t NH) { return B * NH * Tq * T; }

}  // namespace cuda
}  // namespace tessera
