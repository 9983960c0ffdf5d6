// What the CUDA op files share: the backend's stream, error checks that throw, stream-ordered scratch memory, and
// the matrix-product and column-sum helpers the ops are built from. Host-side declarations only; each .cu file
// holds its kernels and the host functions that launch them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "cuda_compat.h"

namespace tessera {
namespace cuda {

// The stream every op is queued on (in order), and the device's multiprocessor count.
cudaStream_t stream();
int multiprocessors();

// Throws std::runtime_error naming `what` and the CUDA error (out of memory: BackendOutOfMemory).
void check(cudaError_t e, const char* what);

// Device memory for one op's temporaries, allocated and freed in stream order from the device's memory pool (a
// free is safe as soon as the kernels that use it are queued).
class Scratch {
 public:
  explicit Scratch(size_t bytes);
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  float* f32() const { return static_cast<float*>(p_); }
  double* f64() const { return static_cast<double*>(p_); }
  void* data() const { return p_; }

 private:
  void* p_ = nullptr;
};

// ---- matrix products (ops_gemm.cu, cublaslt.cu) -------------------------------------------------------------------

// A matrix by strides: element (i, j) at p[i*rs + j*cs].
struct Mat {
  const float* p;
  int64_t rs, cs;
};

// C (M,N) [row stride ldc] = (accumulate ? C : 0) + A (M,K) . B (K,N) + bias (N, may be null), fp32 accumulation;
// bf16: the operands rounded to bf16 first (tensor cores). Through cuBLASLt where it is loaded and enabled, else
// the backend's own kernels.
void gemm(int64_t M, int64_t N, int64_t K, Mat A, Mat B, float* C, int64_t ldc, bool accumulate, const float* bias,
          bool bf16);
// The backend's own kernels only (the op test checks them with cuBLASLt switched off).
void gemmOwn(int64_t M, int64_t N, int64_t K, Mat A, Mat B, float* C, int64_t ldc, bool accumulate,
             const float* bias, bool bf16);

// cuBLASLt, loaded at run time (cublaslt.cu): false when absent, switched off, or the call cannot be expressed.
bool cublasLtLoaded();
bool cublasLtGemm(int64_t M, int64_t N, int64_t K, Mat A, Mat B, float* C, int64_t ldc, bool accumulate,
                  const float* bias, bool bf16);
std::string cublasLtDescription();  // "libcublasLt.so.13 (version 130000)" or why not
bool cublasLtEnabled();
void setCublasLtEnabled(bool on);

// out[c] (+= when accumulate) = sum over rows m in order of blocks of a[m*lda + c] (* b[m*ldb + c] when b) (*
// rowScale[m] when rowScale), for c < C: the deterministic column sums behind bias, LayerNorm parameter and
// LayerScale gradients and the MIL pooling (ops_reduce.cu).
void columnSum(float* out, const float* a, int64_t lda, const float* b, int64_t ldb, const float* rowScale, int64_t M,
               int64_t C, bool accumulate);

// ---- linear ops (ops_gemm.cu), shared by the tables -------------------------------------------------------------

void linearForward(float* out, int64_t ldo, const float* inp, int64_t ldi, const float* weight, const float* bias,
                   int64_t M, int64_t K, int64_t N, bool bf16);
void linearBackward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                    const float* weight, int64_t M, int64_t K, int64_t N, bool bf16);

// Grid size for n elements in blocks of `threads`, capped so grid-stride loops cover the rest.
inline unsigned gridFor(int64_t n, int threads) {
  const int64_t blocks = (n + threads - 1) / threads;
  const int64_t cap = static_cast<int64_t>(multiprocessors()) * 32;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > cap ? cap : blocks));
}

}  // namespace cuda
}  // namespace tessera
