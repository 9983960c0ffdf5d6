// Deterministic reductions: column sums (bias, LayerNorm and LayerScale parameter gradients, MIL pooling) and the
// gradients' sum of squares (clipping). Two passes, each summing in a fixed order: partial sums over fixed blocks of
// rows (or elements), then the partials in block order, so results never depend on scheduling (no float atomics).
#include "cuda_internal.h"

namespace tessera {
namespace cuda {

namespace {

constexpr int kColTile = 32;      // columns per block (one per lane)
constexpr int kRowThreads = 8;    // threads down the rows
constexpr int kRowsPerBlock = 256;

// partial[blockIdx.y][c] (or out[c], += when accumulate, when there is one row block) = sum of the block's rows.
__global__ void columnSumPartialKernel(float* partial, const float* a, int64_t lda, const float* b, int64_t ldb,
                                       const float* rowScale, int64_t M, int64_t C, bool direct, bool accumulate) {
  __shared__ float sums[kRowThreads][kColTile];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kColTile + tx;
  const int64_t r0 = static_cast<int64_t>(blockIdx.y) * kRowsPerBlock;
  const int64_t r1 = r0 + kRowsPerBlock < M ? r0 + kRowsPerBlock : M;
  float s = 0.0f;
  if (c < C)
    for (int64_t m = r0 + ty; m < r1; m += kRowThreads) {
      float v = a[m * lda + c];
      if (b) v *= b[m * ldb + c];
      if (rowScale) v *= rowScale[m];
      s += v;
    }
  sums[ty][tx] = s;
  __syncthreads();
  if (ty == 0 && c < C) {
    float t = 0.0f;
    for (int k = 0; k < kRowThreads; k++) t += sums[k][tx];
    if (direct) partial[c] = accumulate ? partial[c] + t : t;
    else partial[static_cast<int64_t>(blockIdx.y) * C + c] = t;
  }
}

__global__ void columnSumFinishKernel(float* out, const float* partial, int64_t blocks, int64_t C, bool accumulate) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= C) return;
  float t = 0.0f;
  for (int64_t r = 0; r < blocks; r++) t += partial[r * C + c];
  out[c] = accumulate ? out[c] + t : t;
}

constexpr int kSquaresThreads = 256;
constexpr int64_t kSquaresChunk = 1 << 16;

__global__ void sumSquaresPartialKernel(double* partial, const float* x, int64_t n) {
  __shared__ double warpSums[kSquaresThreads / 32];
  const int64_t i0 = static_cast<int64_t>(blockIdx.x) * kSquaresChunk;
  const int64_t i1 = i0 + kSquaresChunk < n ? i0 + kSquaresChunk : n;
  double s = 0.0;
  for (int64_t i = i0 + threadIdx.x; i < i1; i += kSquaresThreads) s += static_cast<double>(x[i]) * x[i];
  s = warpSumDouble(s);
  if ((threadIdx.x & 31) == 0) warpSums[threadIdx.x / 32] = s;
  __syncthreads();
  if (threadIdx.x == 0) {
    double t = 0.0;
    for (int w = 0; w < kSquaresThreads / 32; w++) t += warpSums[w];
    partial[blockIdx.x] = t;
  }
}

__global__ void sumSquaresFinishKernel(double* out, const double* partial, int64_t blocks) {
  double t = 0.0;
  for (int64_t b = 0; b < blocks; b++) t += partial[b];
  out[0] = t;
}

}  // namespace

void columnSum(float* out, const float* a, int64_t lda, const float* b, int64_t ldb, const float* rowScale, int64_t M,
               int64_t C, bool accumulate) {
  if (C <= 0) return;
  if (M <= 0) {
    if (!accumulate) check(cudaMemsetAsync(out, 0, sizeof(float) * C, stream()), "columnSum");
    return;
  }
  const int64_t blocks = (M + kRowsPerBlock - 1) / kRowsPerBlock;
  const dim3 grid(static_cast<unsigned>((C + kColTile - 1) / kColTile), static_cast<unsigned>(blocks));
  const dim3 block(kColTile, kRowThreads);
  if (blocks == 1) {
    check(launchKernel(columnSumPartialKernel, grid, block, 0, stream(), out, a, lda, b, ldb, rowScale, M, C, true,
                       accumulate),
          "columnSum");
    return;
  }
  Scratch partial(sizeof(float) * blocks * C);
  check(launchKernel(columnSumPartialKernel, grid, block, 0, stream(), partial.f32(), a, lda, b, ldb, rowScale, M, C,
                     false, false),
        "columnSum");
  check(launchKernel(columnSumFinishKernel, dim3(static_cast<unsigned>((C + 255) / 256)), dim3(256), 0, stream(), out,
                     partial.f32(), blocks, C, accumulate),
        "columnSum");
}

void sumSquares(double* out, const float* x, int64_t n) {
  const int64_t blocks = n > 0 ? (n + kSquaresChunk - 1) / kSquaresChunk : 0;
  Scratch partial(sizeof(double) * (blocks > 0 ? blocks : 1));
  if (blocks > 0)
    check(launchKernel(sumSquaresPartialKernel, dim3(static_cast<unsigned>(blocks)), dim3(kSquaresThreads), 0, stream(),
                       partial.f64(), x, n),
          "sum_squares");
  check(launchKernel(sumSquaresFinishKernel, dim3(1), dim3(1), 0, stream(), out, partial.f64(), blocks), "sum_squares");
}

}  // namespace cuda
}  // namespace tessera
