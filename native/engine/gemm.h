// Single-precision matrix multiply used by every layer: C (M,N) = / += A (M,K) . B (K,N), with A and B
// given by arbitrary row/column strides (so transposed operands need no copy). Cache-blocked with packed
// panels and a register micro-kernel per CPU path (cpu_features.h): 12x32 AVX-512, 6x16 AVX2+FMA, 6x16 portable
// C++. Each C element is summed over k in the same order whatever the threading, so results are deterministic
// and independent of the thread count (and equal across paths up to rounding).
//
// Precision::Bf16 rounds both operands to bfloat16 as they are packed and accumulates in fp32 (the mixed precision
// of torch.autocast on CPU): vdpbf16ps on AVX512-BF16 CPUs, the path's fp32 kernel on the rounded values elsewhere.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tessera {

enum class Precision { Fp32, Bf16 };

struct MatView {
  const float* p;
  int64_t rs;  // stride between rows
  int64_t cs;  // stride between columns
};

// Applied once to each finished block of C, after its full k sum and the bias, while the block is still in cache:
// fn(ctx, c, ldc, row0, col0, rows, cols), c = &C[row0][col0]. It fuses an elementwise step into the product (the
// linear layer's GELU) instead of a second pass over C in memory. Blocks are disjoint and may run on any thread.
struct GemmEpilogue {
  void (*fn)(void* ctx, float* c, int64_t ldc, int64_t row0, int64_t col0, int64_t rows, int64_t cols);
  void* ctx;
};

// Serial. accumulate=false overwrites C. colBias (N values, or null) is added to every row after the product.
// rowSumsOfA (M values, or null) += each row of A summed over k, taken from A's packed panels while they are in cache
// (a weight gradient's A is dout^T: its row sums are the bias gradient, without another pass over dout). Summed in
// k slices of the kernel set's KC, each in k order, the slices' sums added in order: the same numbers for any thread
// count. Operands rounded to bf16 are not used for it: the sums are of A's fp32 values.
void gemmSerial(int64_t M, int64_t N, int64_t K, MatView A, MatView B, float* C, int64_t ldc, bool accumulate,
                const float* colBias = nullptr, Precision precision = Precision::Fp32,
                const GemmEpilogue* epilogue = nullptr, float* rowSumsOfA = nullptr);
// Splits M or N over the thread pool when the product is big enough.
void gemm(int64_t M, int64_t N, int64_t K, MatView A, MatView B, float* C, int64_t ldc, bool accumulate,
          const float* colBias = nullptr, Precision precision = Precision::Fp32,
          const GemmEpilogue* epilogue = nullptr, float* rowSumsOfA = nullptr);

// C (M,N) += A (M,K) . B (K,N), summed as two fixed halves of K (split at K/2, rounded down to even) when K >=
// kSplitKMin, else as gemm: C plus the first half's product (gemm's order), then plus the second half's, itself summed
// from zero. On 2 threads each thread runs one half, serially, reading only its own half of the k rows of A and B. A
// weight gradient (K = tokens) is where this pays: the rows each thread wrote in the layers before are its half of
// the tokens, so neither thread reads the other's, where gemm's tasks (split by output rows) each read every token.
// On other thread counts the halves run one after the other through gemm; the numbers are the same for any count.
// rowSumsOfA as gemm's, summed the same way (the first half's k slices added to rowSumsOfA, the second's from zero).
void gemmSplitK(int64_t M, int64_t N, int64_t K, MatView A, MatView B, float* C, int64_t ldc,
                Precision precision = Precision::Fp32, float* rowSumsOfA = nullptr);
constexpr int64_t kSplitKMin = 1024;

// Weights kept packed between calls. While a scope is open on a thread, that thread's parallel GEMMs keep the packed
// panels of any B operand inside [base, base + n) floats (the model's parameters) and reuse them, in this scope and in
// later ones with the same base and version, so an inference call does not repack every weight matrix. The caller
// promises the floats do not change while the scope is open, and gives a new version whenever they may have (a
// process-wide unique number: Model::paramsVersion). A scope with another base drops what was kept; so does
// releasePackedWeights(base). At most kPackedWeightsMaxBytes are kept (larger models pack the rest per call).
class PackedWeightsScope {
 public:
  PackedWeightsScope(const float* base, int64_t n, uint64_t version);
  ~PackedWeightsScope();
  PackedWeightsScope(const PackedWeightsScope&) = delete;
  PackedWeightsScope& operator=(const PackedWeightsScope&) = delete;

 private:
  bool active_;
};
constexpr int64_t kPackedWeightsMaxBytes = int64_t(512) << 20;
void releasePackedWeights(const float* base);
// Bytes of packed weights kept now (tests).
int64_t packedWeightsBytes();

// While open on a thread, that thread's parallel GEMMs also bring [p, p + bytes) toward the cache, a few lines before
// each tile (software prefetches spread over the product's tiles; the serial GEMM, for small products, does not): the
// caller names what its next product will read from memory, so that product's packers find it in cache. A training
// step's weight gradient reads the layer's input, saved by the forward and long since evicted; the input-gradient
// product before it is compute-bound.
class WarmDuringGemm {
 public:
  WarmDuringGemm(const void* p, size_t bytes);
  ~WarmDuringGemm();
  WarmDuringGemm(const WarmDuringGemm&) = delete;
  WarmDuringGemm& operator=(const WarmDuringGemm&) = delete;

 private:
  const char* previousP_;
  int64_t previousLines_;
};

// Which micro-kernel runs: "avx512-12x32", "avx2-fma" or "portable" (fp32), and for bf16 "avx512-bf16-12x32" or
// the fp32 name + "+bf16-rounding" (emulated).
const char* gemmKernelName(Precision precision = Precision::Fp32);
// The k per slice (KC) of the kernel set that runs: rowSumsOfA's summation order (tests).
int64_t gemmSliceK(Precision precision = Precision::Fp32);

}  // namespace tessera
