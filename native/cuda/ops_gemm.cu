// Matrix products: the linear layers and the patch embedding, forward and backward, over gemm(): cuBLASLt where it
// is loaded (cublaslt.cu), otherwise the backend's own kernels here:
//  - fp32: a 64x64 tile per block of 256 threads, 4x4 results per thread, exact fp32 (the checking mode);
//  - bf16: a 128x128 tile per block of 8 warps on the tensor cores (mma.sync m16n8k16, fp32 accumulators), the
//    fp32 operands rounded to bf16 as they are staged in shared memory, the next k-slice's loads in flight in
//    registers while the current one multiplies.
// Operands come as strided views (Mat), so transposed operands need no copy; the loads are coalesced along whichever
// dimension is contiguous (a template parameter). The bias is added and C accumulated in the epilogue.
#include "cuda_internal.h"
#include "ops.h"

namespace tessera {
namespace cuda {

namespace {

// ---- fp32 ------------------------------------------------------------------------------------------------------

constexpr int kF32Tile = 64, kF32K = 16;

template <bool AK, bool BN>  // AK: A's k is contiguous (else its rows are); BN: B's n is contiguous (else its k is)
__global__ void __launch_bounds__(256) gemmF32Kernel(int64_t M, int64_t N, int64_t K, Mat A, Mat B, float* C,
                                                     int64_t ldc, bool accumulate, const float* bias) {
  __shared__ float As[kF32K][kF32Tile + 4];
  __shared__ float Bs[kF32K][kF32Tile + 4];
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int64_t m0 = static_cast<int64_t>(blockIdx.y) * kF32Tile, n0 = static_cast<int64_t>(blockIdx.x) * kF32Tile;
  float acc[4][4] = {};
  for (int64_t k0 = 0; k0 < K; k0 += kF32K) {
    for (int e = tid; e < kF32Tile * kF32K; e += 256) {
      const int i = AK ? e / kF32K : e % kF32Tile, k = AK ? e % kF32K : e / kF32Tile;
      const int64_t gi = m0 + i, gk = k0 + k;
      As[k][i] = gi < M && gk < K ? A.p[gi * A.rs + gk * A.cs] : 0.0f;
      const int j = BN ? e % kF32Tile : e / kF32K, kb = BN ? e / kF32Tile : e % kF32K;
      const int64_t gj = n0 + j, gkb = k0 + kb;
      Bs[kb][j] = gj < N && gkb < K ? B.p[gkb * B.rs + gj * B.cs] : 0.0f;
    }
    __syncthreads();
    #pragma unroll
    for (int k = 0; k < kF32K; k++) {
      float a[4], b[4];
      #pragma unroll
      for (int r = 0; r < 4; r++) a[r] = As[k][ty + 16 * r];
      #pragma unroll
      for (int c = 0; c < 4; c++) b[c] = Bs[k][tx + 16 * c];
      #pragma unroll
      for (int r = 0; r < 4; r++)
        #pragma unroll
        for (int c = 0; c < 4; c++) acc[r][c] += a[r] * b[c];
    }
    __syncthreads();
  }
  #pragma unroll
  for (int r = 0; r < 4; r++)
    #pragma unroll
    for (int c = 0; c < 4; c++) {
      const int64_t i = m0 + ty + 16 * r, j = n0 + tx + 16 * c;
      if (i < M && j < N) {
        float v = acc[r][c];
        if (bias) v += bias[j];
        float* dst = C + i * ldc + j;
        *dst = accumulate ? *dst + v : v;
      }
    }
}

// ---- bf16 tensor cores ---------------------------------------------------------------------------------------------

constexpr int kBM = 128, kBN = 128, kBK = 32, kPad = 8;  // a row of 40 bf16 (80 bytes): fragment loads hit 32 banks
constexpr int kPairsPerThread = kBM * kBK / 2 / 256;     // bf16 pairs each thread stages per operand per k-slice

template <bool AK, bool BN>
__global__ void __launch_bounds__(256) gemmBf16Kernel(int64_t M, int64_t N, int64_t K, Mat A, Mat B, float* C,
                                                      int64_t ldc, bool accumulate, const float* bias) {
  __shared__ uint32_t As[kBM][(kBK + kPad) / 2];  // (m, k pair): bf16 pairs, k contiguous
  __shared__ uint32_t Bs[kBN][(kBK + kPad) / 2];  // (n, k pair)
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane / 4, t = lane % 4;
  const int wm = warp / 4, wn = warp % 4;  // warp tile: rows wm*64 .. +64, columns wn*32 .. +32
  const int64_t m0 = static_cast<int64_t>(blockIdx.y) * kBM, n0 = static_cast<int64_t>(blockIdx.x) * kBN;

  // Thread tid stages pairs e = tid + 256*q: elements (row, 2*kp) and (row, 2*kp+1) of the slice, the contiguous
  // dimension fastest across the warp. Staged values wait in registers (ra, rb) while the previous slice multiplies.
  float ra[kPairsPerThread][2], rb[kPairsPerThread][2];
#define TESSERA_PAIR(e, kFast, row, kp)         \
  const int row = (kFast) ? (e) / (kBK / 2) : (e) % kBM; \
  const int kp = (kFast) ? (e) % (kBK / 2) : (e) / kBM
#define TESSERA_LOAD(k0)                                                                          \
  _Pragma("unroll") for (int q = 0; q < kPairsPerThread; q++) {                                  \
    {                                                                                             \
      TESSERA_PAIR(tid + 256 * q, AK, row, kp);                                                   \
      const int64_t gi = m0 + row, gk = (k0) + 2 * kp;                                            \
      ra[q][0] = gi < M && gk < K ? A.p[gi * A.rs + gk * A.cs] : 0.0f;                            \
      ra[q][1] = gi < M && gk + 1 < K ? A.p[gi * A.rs + (gk + 1) * A.cs] : 0.0f;                  \
    }                                                                                             \
    {                                                                                             \
      TESSERA_PAIR(tid + 256 * q, !BN, row, kp);                                                  \
      const int64_t gj = n0 + row, gk = (k0) + 2 * kp;                                            \
      rb[q][0] = gj < N && gk < K ? B.p[gk * B.rs + gj * B.cs] : 0.0f;                            \
      rb[q][1] = gj < N && gk + 1 < K ? B.p[(gk + 1) * B.rs + gj * B.cs] : 0.0f;                  \
    }                                                                                             \
  }

  float acc[4][4][4];
  #pragma unroll
  for (int i = 0; i < 4; i++)
    #pragma unroll
    for (int j = 0; j < 4; j++)
      #pragma unroll
      for (int r = 0; r < 4; r++) acc[i][j][r] = 0.0f;

  if (K > 0) {
    TESSERA_LOAD(0)
  }
  for (int64_t k0 = 0; k0 < K; k0 += kBK) {
#pragma unroll
    for (int q = 0; q < kPairsPerThread; q++) {
      {
        TESSERA_PAIR(tid + 256 * q, AK, row, kp);
        As[row][kp] = packBf16x2(ra[q][0], ra[q][1]);
      }
      {
        TESSERA_PAIR(tid + 256 * q, !BN, row, kp);
        Bs[row][kp] = packBf16x2(rb[q][0], rb[q][1]);
      }
    }
    __syncthreads();
    if (k0 + kBK < K) {  // the next slice's global loads overlap this slice's products
      TESSERA_LOAD(k0 + kBK)
    }
    #pragma unroll
    for (int kk = 0; kk < kBK / 16; kk++) {
      const int kp = kk * 8 + t;  // pair index of k = kk*16 + 2t
      uint32_t af[4][4], bfr[4][2];
      #pragma unroll
      for (int i = 0; i < 4; i++) {
        const int r = wm * 64 + i * 16 + g;
        af[i][0] = As[r][kp];
        af[i][1] = As[r + 8][kp];
        af[i][2] = As[r][kp + 4];
        af[i][3] = As[r + 8][kp + 4];
      }
      #pragma unroll
      for (int j = 0; j < 4; j++) {
        const int c = wn * 32 + j * 8 + g;
        bfr[j][0] = Bs[c][kp];
        bfr[j][1] = Bs[c][kp + 4];
      }
      #pragma unroll
      for (int i = 0; i < 4; i++)
        #pragma unroll
        for (int j = 0; j < 4; j++) mmaBf16(acc[i][j], af[i], bfr[j], acc[i][j]);
    }
    __syncthreads();
  }
#undef TESSERA_LOAD
#undef TESSERA_PAIR
  #pragma unroll
  for (int i = 0; i < 4; i++)
    #pragma unroll
    for (int j = 0; j < 4; j++)
      #pragma unroll
      for (int r = 0; r < 4; r++) {
        const int64_t row = m0 + wm * 64 + i * 16 + g + 8 * (r / 2), col = n0 + wn * 32 + j * 8 + 2 * t + (r % 2);
        if (row < M && col < N) {
          float v = acc[i][j][r];
          if (bias) v += bias[col];
          float* dst = C + row * ldc + col;
          *dst = accumulate ? *dst + v : v;
        }
      }
}

// The kernel variant for the operands' layout.
template <bool AK, bool BN>
void launchGemm(int64_t M, int64_t N, int64_t K, Mat A, Mat B, float* C, int64_t ldc, bool accumulate,
                const float* bias, bool bf16) {
  if (bf16) {
    const dim3 grid(static_cast<unsigned>((N + kBN - 1) / kBN), static_cast<unsigned>((M + kBM - 1) / kBM));
    check(launchKernel(gemmBf16Kernel<AK, BN>, grid, dim3(256), 0, stream(), M, N, K, A, B, C, ldc, accumulate, bias),
          "gemm (bf16 tensor cores)");
  } else {
    const dim3 grid(static_cast<unsigned>((N + kF32Tile - 1) / kF32Tile), static_cast<unsigned>((M + kF32Tile - 1) / kF32Tile));
    check(launchKernel(gemmF32Kernel<AK, BN>, grid, dim3(256), 0, stream(), M, N, K, A, B, C, ldc, accumulate, bias),
          "gemm (fp32)");
  }
}

// cols (B*P, 3*p*p) from pixels (B,H,W,3), column (c, ky, kx), normalised as the CPU does: (v/255 - mean)/std.
struct Norm {
  float mean[3], std[3];
};

__global__ void im2colKernel(float* cols, const uint8_t* pixels, int64_t B, int64_t H, int64_t W, int64_t p, Norm nrm) {
  const int64_t gw = W / p, P = (H / p) * gw, K = 3 * p * p, n = B * P * K;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = i / K, col = i % K;
    const int64_t b = r / P, gy = (r % P) / gw, gx = r % gw;
    const int64_t c = col / (p * p), ky = (col / p) % p, kx = col % p;
    const uint8_t v = pixels[((b * H + gy * p + ky) * W + gx * p + kx) * 3 + c];
    const float mean = c == 0 ? nrm.mean[0] : (c == 1 ? nrm.mean[1] : nrm.mean[2]);  // no run-time index: registers
    const float sd = c == 0 ? nrm.std[0] : (c == 1 ? nrm.std[1] : nrm.std[2]);
    cols[i] = (static_cast<float>(v) / 255.0f - mean) / sd;
  }
}

}  // namespace

void gemmOwn(int64_t M, int64_t N, int64_t K, Mat A, Mat B, float* C, int64_t ldc, bool accumulate, const float* bias,
             bool bf16) {
  if (M <= 0 || N <= 0) return;
  const bool ak = A.cs == 1, bn = B.cs == 1;
  if (ak && bn) launchGemm<true, true>(M, N, K, A, B, C, ldc, accumulate, bias, bf16);
  else if (ak) launchGemm<true, false>(M, N, K, A, B, C, ldc, accumulate, bias, bf16);
  else if (bn) launchGemm<false, true>(M, N, K, A, B, C, ldc, accumulate, bias, bf16);
  else launchGemm<false, false>(M, N, K, A, B, C, ldc, accumulate, bias, bf16);
}

void gemm(int64_t M, int64_t N, int64_t K, Mat A, Mat B, float* C, int64_t ldc, bool accumulate, const float* bias,
          bool bf16) {
  if (M <= 0 || N <= 0) return;
  if (cublasLtEnabled() && cublasLtGemm(M, N, K, A, B, C, ldc, accumulate, bias, bf16)) return;
  gemmOwn(M, N, K, A, B, C, ldc, accumulate, bias, bf16);
}

void linearForward(float* out, int64_t ldo, const float* inp, int64_t ldi, const float* weight, const float* bias,
                   int64_t M, int64_t K, int64_t N, bool bf16) {
  gemm(M, N, K, Mat{inp, ldi, 1}, Mat{weight, 1, K}, out, ldo, false, bias, bf16);
}

void linearBackward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                    const float* weight, int64_t M, int64_t K, int64_t N, bool bf16) {
  if (dinp) gemm(M, K, N, Mat{dout, N, 1}, Mat{weight, K, 1}, dinp, K, true, nullptr, bf16);  // dinp += dout W
  gemm(N, K, M, Mat{dout, 1, N}, Mat{inp, K, 1}, dweight, K, true, nullptr, bf16);              // dW += dout^T inp
  if (dbias) columnSum(dbias, dout, N, nullptr, 0, nullptr, M, N, true);
}

void linear_forward(float* out, const float* inp, const float* weight, const float* bias, int64_t M, int64_t K,
                    int64_t N) {
  linearForward(out, N, inp, K, weight, bias, M, K, N, false);
}
void linear_forward_rows(float* out, int64_t ldo, const float* inp, int64_t ldi, const float* weight, const float* bias,
                         int64_t M, int64_t K, int64_t N) {
  linearForward(out, ldo, inp, ldi, weight, bias, M, K, N, false);
}
void linear_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp, const float* weight,
                     int64_t M, int64_t K, int64_t N) {
  linearBackward(dinp, dweight, dbias, dout, inp, weight, M, K, N, false);
}
void linear_forward_bf16(float* out, const float* inp, const float* weight, const float* bias, int64_t M, int64_t K,
                         int64_t N) {
  linearForward(out, N, inp, K, weight, bias, M, K, N, true);
}
void linear_forward_rows_bf16(float* out, int64_t ldo, const float* inp, int64_t ldi, const float* weight,
                              const float* bias, int64_t M, int64_t K, int64_t N) {
  linearForward(out, ldo, inp, ldi, weight, bias, M, K, N, true);
}
void linear_backward_bf16(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                          const float* weight, int64_t M, int64_t K, int64_t N) {
  linearBackward(dinp, dweight, dbias, dout, inp, weight, M, K, N, true);
}

namespace {
void im2col(float* cols, const uint8_t* pixels, int64_t B, int64_t H, int64_t W, int64_t p, const float* mean,
            const float* std) {
  const Norm nrm{{mean[0], mean[1], mean[2]}, {std[0], std[1], std[2]}};
  const int64_t n = B * (H / p) * (W / p) * 3 * p * p;
  check(launchKernel(im2colKernel, dim3(gridFor(n, 256)), dim3(256), 0, stream(), cols, pixels, B, H, W, p, nrm),
        "patch_embed_forward");
}
}  // namespace

void patch_embed_forward(float* out, float* cols, const uint8_t* pixels, const float* weight, const float* bias,
                         int64_t B, int64_t H, int64_t W, int64_t p, int64_t C, const float* mean, const float* std) {
  im2col(cols, pixels, B, H, W, p, mean, std);
  linear_forward(out, cols, weight, bias, B * (H / p) * (W / p), 3 * p * p, C);
}
void patch_embed_backward(float* dweight, float* dbias, const float* dout, const float* cols, int64_t BP, int64_t K,
                          int64_t C) {
  linearBackward(nullptr, dweight, dbias, dout, cols, nullptr, BP, K, C, false);
}
void patch_embed_forward_bf16(float* out, float* cols, const uint8_t* pixels, const float* weight, const float* bias,
                              int64_t B, int64_t H, int64_t W, int64_t p, int64_t C, const float* mean,
                              const float* std) {
  im2col(cols, pixels, B, H, W, p, mean, std);
  linear_forward_bf16(out, cols, weight, bias, B * (H / p) * (W / p), 3 * p * p, C);
}
void patch_embed_backward_bf16(float* dweight, float* dbias, const float* dout, const float* cols, int64_t BP,
                               int64_t K, int64_t C) {
  linearBackward(nullptr, dweight, dbias, dout, cols, nullptr, BP, K, C, true);
}

}  // namespace cuda
}  // namespace tessera
