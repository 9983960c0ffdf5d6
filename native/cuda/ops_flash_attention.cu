// Fused attention on the tensor cores (flash-attention style), the bf16 table's attention for head dim 64 (every
// ViT in use: S/16, B/16, L/16, g/14 and the pathology models built on them). Q, K, V and dO are rounded to bf16 as
// they are staged; products accumulate in fp32; softmax statistics are fp32. Nothing of size T x T is stored:
// forward keeps each query row's log-sum-exp, backward recomputes the probabilities from it.
//
// Forward: a block of 4 warps takes 64 queries of one (image, head), 16 per warp, Q held as mma A fragments in
// registers; it walks the keys in blocks of 64 staged in shared memory (K row-major, V transposed), with the online
// softmax (running max and sum) rescaling the output accumulators. The probabilities go from the S accumulators
// straight into A fragments for P V (the C and A fragment layouts line up in pairs of n-tiles).
// Backward, deterministic (no atomics): one kernel per block of 64 keys accumulates dK and dV over every query
// block; another per block of 64 queries accumulates dQ over every key block, recomputing S, P and dP; a small
// kernel first forms D = rowsum(dO * O). Each output element is written by one thread.
//
// mma.sync m16n8k16 fragments (PTX ISA): lane = 4g + t; A (16x16, row-major) register r holds row g + 8(r%2),
// columns 2t + 8(r/2) and +1; B (16x8, "col": k contiguous per column n) register r holds column g, rows 2t + 8r
// and +1; C/D element r is row g + 8(r/2), column 2t + r%2.
#include <cmath>

#include "cuda_internal.h"
#include "ops.h"

namespace tessera {
namespace cuda {

namespace {

constexpr int kHd = 64;        // head dim
constexpr int kBlock = 64;     // queries or keys per block
constexpr int kRowPairs = 36;  // bf16 pairs per shared row: 32 + 4 padding (fragment loads hit 32 banks)

// Row `row` (< rows, else zeros) of a (rows, 64) fp32 matrix with row stride `ld`, as 32 packed bf16 pairs, staged
// into dst[row][pair] by the block's 128 threads (16 pairs each, consecutive threads on consecutive pairs).
__device__ void stageRows(uint32_t (*dst)[kRowPairs], const float* src, int64_t ld, int64_t first, int64_t rows) {
  for (int e = threadIdx.x; e < kBlock * kHd / 2; e += 128) {
    const int r = e / (kHd / 2), pr = e % (kHd / 2);
    const int64_t gr = first + r;
    float lo = 0.0f, hi = 0.0f;
    if (gr < rows) {
      lo = src[gr * ld + 2 * pr];
      hi = src[gr * ld + 2 * pr + 1];
    }
    dst[r][pr] = packBf16x2(lo, hi);
  }
}

// The same rows transposed: dst[d][pair of rows] (k = the row index contiguous, for B operands over rows).
__device__ void stageRowsTransposed(uint32_t (*dst)[kRowPairs], const float* src, int64_t ld, int64_t first,
                                    int64_t rows) {
  for (int e = threadIdx.x; e < kBlock * kHd / 2; e += 128) {
    const int d = e % kHd, rp = e / kHd;
    const int64_t r0 = first + 2 * rp;
    const float lo = r0 < rows ? src[r0 * ld + d] : 0.0f;
    const float hi = r0 + 1 < rows ? src[(r0 + 1) * ld + d] : 0.0f;
    dst[d][rp] = packBf16x2(lo, hi);
  }
}

// A fragments (16 rows x 64) of rows r0.. of a (rows, 64) fp32 matrix with row stride ld, straight from memory.
__device__ void loadAFragments(uint32_t frag[4][4], const float* src, int64_t ld, int64_t r0, int64_t rows) {
  const int lane = threadIdx.x & 31, g = lane / 4, t = lane % 4;
  for (int kd = 0; kd < 4; kd++)
    for (int r = 0; r < 4; r++) {
      const int64_t row = r0 + g + 8 * (r % 2);
      const int col = kd * 16 + 2 * t + 8 * (r / 2);
      float lo = 0.0f, hi = 0.0f;
      if (row < rows) {
        lo = src[row * ld + col];
        hi = src[row * ld + col + 1];
      }
      frag[kd][r] = packBf16x2(lo, hi);
    }
}

// acc (16 x 64 columns of B, 8 n-tiles) += A (16 x 64, fragments a[kd]) B, B from shared rows Bs[n][k pair]
__device__ void mmaRowsTimesShared(float acc[8][4], const uint32_t a[4][4], const uint32_t (*Bs)[kRowPairs]) {
  const int lane = threadIdx.x & 31, g = lane / 4, t = lane % 4;
  for (int nj = 0; nj < 8; nj++)
    for (int kd = 0; kd < 4; kd++) {
      const uint32_t b[2] = {Bs[nj * 8 + g][kd * 8 + t], Bs[nj * 8 + g][kd * 8 + t + 4]};
      mmaBf16(acc[nj], a[kd], b, acc[nj]);
    }
}

// The A fragments of a 16 x 64 accumulator tile (8 n-tiles of C fragments), rounded to bf16: n-tiles 2k and 2k+1
// form k-step k.
__device__ void accumulatorToA(uint32_t a[4][4], const float c[8][4]) {
  for (int k = 0; k < 4; k++) {
    a[k][0] = packBf16x2(c[2 * k][0], c[2 * k][1]);
    a[k][1] = packBf16x2(c[2 * k][2], c[2 * k][3]);
    a[k][2] = packBf16x2(c[2 * k + 1][0], c[2 * k + 1][1]);
    a[k][3] = packBf16x2(c[2 * k + 1][2], c[2 * k + 1][3]);
  }
}

__device__ void zero(float acc[8][4]) {
  for (int j = 0; j < 8; j++)
    for (int r = 0; r < 4; r++) acc[j][r] = 0.0f;
}

// The max / sum of a value over the 4 lanes of a quad (the lanes holding one accumulator row).
__device__ float quadMax(float v) {
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
  return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}
__device__ float quadSum(float v) {
  v += __shfl_xor_sync(0xffffffffu, v, 1);
  return v + __shfl_xor_sync(0xffffffffu, v, 2);
}

// ---- forward ------------------------------------------------------------------------------------------------------

// Block (b*NH + h, query block). out (B,Tq,C); lse (B,NH,Tq) or null
__global__ void __launch_bounds__(128) flashForwardKernel(float* out, float* lse, const float* qkv, int64_t T,
                                                          int64_t Tq, int64_t C, int64_t NH) {
  __shared__ uint32_t Ks[kBlock][kRowPairs];  // (key, d pair)
  __shared__ uint32_t Vt[kHd][kRowPairs];     // (d, key pair)
  const int warp = threadIdx.x / 32, lane = threadIdx.x & 31, g = lane / 4, t = lane % 4;
  const int64_t bh = blockIdx.x, b = bh / NH, h = bh % NH, C3 = 3 * C;
  const float* q = qkv + b * T * C3 + h * kHd;
  const float* k = q + C;
  const float* v = q + 2 * C;
  const int64_t r0 = static_cast<int64_t>(blockIdx.y) * kBlock + warp * 16;  // this warp's first query
  const float scale = 0.125f;                                                 // 1/sqrt(64)
  uint32_t qa[4][4];
  loadAFragments(qa, q, C3, r0, Tq);
  float o[8][4], m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
  zero(o);
  for (int64_t k0 = 0; k0 < T; k0 += kBlock) {
    __syncthreads();  // the previous block's K and V are no longer read
    stageRows(Ks, k, C3, k0, T);
    stageRowsTransposed(Vt, v, C3, k0, T);
    __syncthreads();
    float s[8][4];
    zero(s);
    mmaRowsTimesShared(s, qa, Ks);
    // online softmax over this block's keys, rows g (r = 0, 1) and g + 8 (r = 2, 3)
    float mNew[2] = {m[0], m[1]};
    for (int j = 0; j < 8; j++)
      for (int r = 0; r < 4; r++) {
        const int64_t key = k0 + j * 8 + 2 * t + (r % 2);
        s[j][r] = key < T ? s[j][r] * scale : -INFINITY;
        mNew[r / 2] = fmaxf(mNew[r / 2], s[j][r]);
      }
    for (int h2 = 0; h2 < 2; h2++) mNew[h2] = quadMax(mNew[h2]);
    float rowSum[2] = {0.0f, 0.0f};
    for (int j = 0; j < 8; j++)
      for (int r = 0; r < 4; r++) {
        s[j][r] = expf(s[j][r] - mNew[r / 2]);
        rowSum[r / 2] += s[j][r];
      }
    for (int h2 = 0; h2 < 2; h2++) {
      const float correction = expf(m[h2] - mNew[h2]);  // 0 on the first block (m = -inf)
      l[h2] = l[h2] * correction + quadSum(rowSum[h2]);
      m[h2] = mNew[h2];
      for (int j = 0; j < 8; j++) {
        o[j][2 * h2] *= correction;
        o[j][2 * h2 + 1] *= correction;
      }
    }
    uint32_t pa[4][4];
    accumulatorToA(pa, s);
    mmaRowsTimesShared(o, pa, Vt);
  }
  for (int r = 0; r < 4; r++) {
    const int64_t row = r0 + g + 8 * (r / 2);
    if (row >= Tq) continue;
    const float inv = 1.0f / l[r / 2];
    for (int j = 0; j < 8; j++) out[(b * Tq + row) * C + h * kHd + j * 8 + 2 * t + (r % 2)] = o[j][r] * inv;
  }
  if (lse && t == 0)
    for (int h2 = 0; h2 < 2; h2++) {
      const int64_t row = r0 + g + 8 * h2;
      if (row < Tq) lse[bh * Tq + row] = m[h2] + logf(l[h2]);
    }
}

// ---- backward -------------------------------------------------------------------------------------------------------

// D (B,NH,Tq) = rowsum(dO * O) per head: one warp per (query row, head)
__global__ void flashBackwardDotKernel(float* D, const float* dout, const float* out, int64_t B, int64_t Tq, int64_t C,
                                       int64_t NH) {
  const int lane = threadIdx.x & 31;
  const int64_t w = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (w >= B * NH * Tq) return;
  const int64_t bh = w / Tq, i = w % Tq, b = bh / NH, h = bh % NH;
  const float* d = dout + (b * Tq + i) * C + h * kHd;
  const float* o = out + (b * Tq + i) * C + h * kHd;
  float s = d[lane] * o[lane] + d[lane + 32] * o[lane + 32];
  s = warpSum(s);
  if (lane == 0) D[w] = s;
}

// Block (b*NH + h, key block): dK and dV of 64 keys, 16 per warp, over every query block.
__global__ void __launch_bounds__(128) flashBackwardKeyKernel(float* dqkv, const float* dout, const float* qkv,
                                                              const float* lse, const float* D, int64_t T, int64_t Tq,
                                                              int64_t C, int64_t NH) {
  __shared__ uint32_t Qs[kBlock][kRowPairs];   // (query, d pair)
  __shared__ uint32_t Qt[kHd][kRowPairs];      // (d, query pair)
  __shared__ uint32_t dOs[kBlock][kRowPairs];  // (query, d pair)
  __shared__ uint32_t dOt[kHd][kRowPairs];     // (d, query pair)
  __shared__ float lseS[kBlock], dS[kBlock];
  const int warp = threadIdx.x / 32, lane = threadIdx.x & 31, g = lane / 4, t = lane % 4;
  const int64_t bh = blockIdx.x, b = bh / NH, h = bh % NH, C3 = 3 * C;
  const float* q = qkv + b * T * C3 + h * kHd;
  const float* dO = dout + b * Tq * C + h * kHd;
  const int64_t j0 = static_cast<int64_t>(blockIdx.y) * kBlock + warp * 16;  // this warp's first key
  const float scale = 0.125f;
  uint32_t ka[4][4], va[4][4];
  loadAFragments(ka, q + C, C3, j0, T);
  loadAFragments(va, q + 2 * C, C3, j0, T);
  float dk[8][4], dv[8][4];
  zero(dk);
  zero(dv);
  for (int64_t i0 = 0; i0 < Tq; i0 += kBlock) {
    __syncthreads();
    stageRows(Qs, q, C3, i0, Tq);
    stageRowsTransposed(Qt, q, C3, i0, Tq);
    stageRows(dOs, dO, C, i0, Tq);
    stageRowsTransposed(dOt, dO, C, i0, Tq);
    for (int e = threadIdx.x; e < kBlock; e += 128) {
      const int64_t i = i0 + e;
      lseS[e] = i < Tq ? lse[bh * Tq + i] : 0.0f;
      dS[e] = i < Tq ? D[bh * Tq + i] : 0.0f;
    }
    __syncthreads();
    float st[8][4], dpt[8][4];  // S^T and dP^T: 16 keys x 64 queries
    zero(st);
    zero(dpt);
    mmaRowsTimesShared(st, ka, Qs);
    mmaRowsTimesShared(dpt, va, dOs);
    for (int j = 0; j < 8; j++)
      for (int r = 0; r < 4; r++) {
        const int col = j * 8 + 2 * t + (r % 2);  // query within the block
        const bool valid = i0 + col < Tq;
        const float p = valid ? expf(st[j][r] * scale - lseS[col]) : 0.0f;
        st[j][r] = p;                            // P^T
        dpt[j][r] = p * (dpt[j][r] - dS[col]);   // dS^T
      }
    uint32_t pa[4][4], dsa[4][4];
    accumulatorToA(pa, st);
    accumulatorToA(dsa, dpt);
    mmaRowsTimesShared(dv, pa, dOt);   // dV += P^T dO
    mmaRowsTimesShared(dk, dsa, Qt);   // dK += dS^T Q
  }
  for (int r = 0; r < 4; r++) {
    const int64_t key = j0 + g + 8 * (r / 2);
    if (key >= T) continue;
    float* row = dqkv + (b * T + key) * C3 + h * kHd;
    for (int j = 0; j < 8; j++) {
      const int d = j * 8 + 2 * t + (r % 2);
      row[C + d] += dk[j][r] * scale;
      row[2 * C + d] += dv[j][r];
    }
  }
}

// Block (b*NH + h, query block): dQ of 64 queries, 16 per warp, over every key block.
__global__ void __launch_bounds__(128) flashBackwardQueryKernel(float* dqkv, const float* dout, const float* qkv,
                                                                const float* lse, const float* D, int64_t T,
                                                                int64_t Tq, int64_t C, int64_t NH) {
  __shared__ uint32_t Ks[kBlock][kRowPairs];  // (key, d pair)
  __shared__ uint32_t Kt[kHd][kRowPairs];     // (d, key pair)
  __shared__ uint32_t Vs[kBlock][kRowPairs];  // (key, d pair)
  const int warp = threadIdx.x / 32, lane = threadIdx.x & 31, g = lane / 4, t = lane % 4;
  const int64_t bh = blockIdx.x, b = bh / NH, h = bh % NH, C3 = 3 * C;
  const float* q = qkv + b * T * C3 + h * kHd;
  const int64_t r0 = static_cast<int64_t>(blockIdx.y) * kBlock + warp * 16;
  const float scale = 0.125f;
  uint32_t qa[4][4], doa[4][4];
  loadAFragments(qa, q, C3, r0, Tq);
  loadAFragments(doa, dout + b * Tq * C + h * kHd, C, r0, Tq);
  float rowLse[2], rowD[2];
  for (int h2 = 0; h2 < 2; h2++) {
    const int64_t row = r0 + g + 8 * h2;
    rowLse[h2] = row < Tq ? lse[bh * Tq + row] : 0.0f;
    rowD[h2] = row < Tq ? D[bh * Tq + row] : 0.0f;
  }
  float dq[8][4];
  zero(dq);
  for (int64_t k0 = 0; k0 < T; k0 += kBlock) {
    __syncthreads();
    stageRows(Ks, q + C, C3, k0, T);
    stageRowsTransposed(Kt, q + C, C3, k0, T);
    stageRows(Vs, q + 2 * C, C3, k0, T);
    __syncthreads();
    float s[8][4], dp[8][4];
    zero(s);
    zero(dp);
    mmaRowsTimesShared(s, qa, Ks);
    mmaRowsTimesShared(dp, doa, Vs);
    for (int j = 0; j < 8; j++)
      for (int r = 0; r < 4; r++) {
        const int64_t key = k0 + j * 8 + 2 * t + (r % 2), row = r0 + g + 8 * (r / 2);
        const float p = key < T && row < Tq ? expf(s[j][r] * scale - rowLse[r / 2]) : 0.0f;
        s[j][r] = p * (dp[j][r] - rowD[r / 2]);  // dS
      }
    uint32_t dsa[4][4];
    accumulatorToA(dsa, s);
    mmaRowsTimesShared(dq, dsa, Kt);  // dQ += dS K
  }
  for (int r = 0; r < 4; r++) {
    const int64_t row = r0 + g + 8 * (r / 2);
    if (row >= Tq) continue;
    float* dst = dqkv + (b * T + row) * C3 + h * kHd;
    for (int j = 0; j < 8; j++) dst[j * 8 + 2 * t + (r % 2)] += dq[j][r] * scale;
  }
}

// Blocks (b*NH + h, row block): the many heads on x (up to 2^31 - 1), the few row blocks on y.
dim3 gridOver(int64_t rows, int64_t heads) {
  return dim3(static_cast<unsigned>(heads), static_cast<unsigned>((rows + kBlock - 1) / kBlock));
}

}  // namespace

bool flashAttentionApplies(int64_t C, int64_t NH) { return NH > 0 && C % NH == 0 && C / NH == kHd; }

void attention_forward_bf16(float* out, float* saved, const float* qkv, int64_t B, int64_t T, int64_t Tq, int64_t C,
                            int64_t NH) {
  if (!flashAttentionApplies(C, NH)) return attention_forward(out, saved, qkv, B, T, Tq, C, NH);
  check(launchKernel(flashForwardKernel, gridOver(Tq, B * NH), dim3(128), 0, stream(), out, saved, qkv, T, Tq, C, NH),
        "attention_forward (fused)");
}

void attention_backward_bf16(float* dqkv, const float* dout, const float* qkv, const float* out, const float* saved,
                             int64_t B, int64_t T, int64_t Tq, int64_t C, int64_t NH) {
  if (!flashAttentionApplies(C, NH)) return attention_backward(dqkv, dout, qkv, out, saved, B, T, Tq, C, NH);
  Scratch D(sizeof(float) * B * NH * Tq);
  const int64_t rows = B * NH * Tq;
  check(launchKernel(flashBackwardDotKernel, dim3(static_cast<unsigned>((rows + 7) / 8)), dim3(256), 0, stream(),
                     D.f32(), dout, out, B, Tq, C, NH),
        "attention_backward (fused)");
  check(launchKernel(flashBackwardKeyKernel, gridOver(T, B * NH), dim3(128), 0, stream(), dqkv, dout, qkv, saved,
                     D.f32(), T, Tq, C, NH),
        "attention_backward (fused)");
  check(launchKernel(flashBackwardQueryKernel, gridOver(Tq, B * NH), dim3(128), 0, stream(), dqkv, dout, qkv, saved,
                     D.f32(), T, Tq, C, NH),
        "attention_backward (fused)");
}

int64_t attention_saved_floats_bf16(int64_t B, int64_t T, int64_t Tq, int64_t C, int64_t NH) {
  return flashAttentionApplies(C, NH) ? B * NH * Tq : attention_saved_floats(B, T, Tq, C, NH);
}

}  // namespace cuda
}  // namespace tessera
