// Linear layer (x W^T + b), the op that carries almost all of the FLOPs; the arithmetic is in gemm.cpp. The *_bf16
// versions (the bf16 backend table) run the same products with bf16 operands and fp32 accumulation.
#include <algorithm>
#include <vector>

#include "cpu_features.h"
#include "gemm.h"
#include "ops_cpu.h"
#include "vector_math.h"

namespace tessera {
namespace cpu {

namespace {
void linearForward(Precision pr, float* out, int64_t ldo, const float* inp, int64_t ldi, const float* weight,
                   const float* bias, int64_t M, int64_t K, int64_t N) {
  gemm(M, N, K, MatView{inp, ldi, 1}, MatView{weight, 1, K}, out, ldo, false, bias, pr);
}

// The GELU of a finished block of the product, act[r][c] = gelu(C[r][c]), while the block is in cache (act may be C).
// In bf16 the piecewise GELU (vector_math.h): act is next rounded to bf16 as the operand of fc2 and of its weight
// gradient.
struct GeluEpilogue {
  float* act;
  int64_t ldact;
  void (*gelu)(float*, const float*, int64_t);
  static void apply(void* ctx, float* c, int64_t ldc, int64_t row0, int64_t col0, int64_t rows, int64_t cols) {
    const GeluEpilogue& e = *static_cast<const GeluEpilogue*>(ctx);
    for (int64_t r = 0; r < rows; r++) e.gelu(e.act + (row0 + r) * e.ldact + col0, c + r * ldc, cols);
  }
};

void linearGeluForward(Precision pr, float* out, float* act, const float* inp, const float* weight,
                       const float* bias, int64_t M, int64_t K, int64_t N) {
  GeluEpilogue e{act, N, pr == Precision::Bf16 ? vecGeluForwardPiecewise : vecGeluForward};
  const GemmEpilogue ep{GeluEpilogue::apply, &e};
  gemm(M, N, K, MatView{inp, K, 1}, MatView{weight, 1, K}, out, N, false, bias, pr, &ep);
}

// C[r][c] *= gelu'(pre[r][c]) for a finished block of the product C = d act, which is dpre's memory: the GELU's
// backward while its input gradient is in cache, in place. Written, not added: the caller would only zero dpre for it,
// a pass over a tokens x hidden array per layer that the product's epilogue makes unneeded. In place rather than from
// a scratch product into dpre: the scratch array (tokens x hidden, 4.8 MB per ViT-Ti layer at 8 images) was one more
// array written through memory, and a ViT-Ti bf16 training step ran 1-2% faster without it (alternated per step,
// test/bench/RESULTS.md). In bf16 the piecewise GELU: dpre is next rounded to bf16 as the operand of fc1's input and
// weight gradients (its bias gradient sums it in fp32, to the piecewise derivative's 2e-6).
struct GeluBackwardEpilogue {
  const float* pre;
  int64_t ld;
  void (*geluBackward)(float*, const float*, const float*, int64_t, bool);
  static void apply(void* ctx, float* c, int64_t ldc, int64_t row0, int64_t col0, int64_t rows, int64_t cols) {
    const GeluBackwardEpilogue& e = *static_cast<const GeluBackwardEpilogue*>(ctx);
    for (int64_t r = 0; r < rows; r++)
      e.geluBackward(c + r * ldc, c + r * ldc, e.pre + (row0 + r) * e.ld + col0, cols, /*accumulate=*/false);
  }
};

// dinp: accumulated into (addToDinp), or overwritten (and handed to dinpEpilogue block by block, if any).
void linearBackward(Precision pr, float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                    const float* weight, int64_t M, int64_t K, int64_t N, bool addToDinp,
                    const GemmEpilogue* dinpEpilogue = nullptr) {
  if (dinp) {
    // The weight gradient next reads inp, saved by the forward and long since evicted: fetched during this product.
    const WarmDuringGemm warm(dweight ? inp : nullptr, sizeof(float) * static_cast<size_t>(M * K));
    gemm(M, K, N, MatView{dout, N, 1}, MatView{weight, K, 1}, dinp, K, addToDinp, nullptr, pr, dinpEpilogue);
  }
  // The weight gradient sums over the tokens in two halves, each on its own thread (gemmSplitK): each thread reads the
  // tokens it wrote. Alternated per step against gemm on 2 threads of an AMD EPYC Zen 4 (test/bench/RESULTS.md): a
  // ViT-Ti bf16 training step's best 0.979-0.994 of gemm's with the two vCPUs on one core complex, 0.92 with them
  // apart; ViT-S bf16 0.973; ViT-Ti fp32 0.995-1.002; one thread 0.994-1.004.
  // The bias gradient (the row sums of the weight gradient's A = dout^T) comes out of that product's packing of dout,
  // in k slices of the kernel set's KC rows (gemm.h), instead of a third pass over dout: from the packed panels in
  // fp32; in bf16, whose panels hold rounded values, from the fp32 values as the packer loads them (AVX512-BF16) or
  // from the block of dout just packed (in L2).
  const bool biasFromPacking = dbias && dweight;
  if (dweight)
    gemmSplitK(N, K, M, MatView{dout, 1, N}, MatView{inp, K, 1}, dweight, K, pr, biasFromPacking ? dbias : nullptr);
  if (dbias && !biasFromPacking) {
    // Column sums over fixed blocks of kRows rows (each task reads whole rows, in order), then the block sums are
    // added in block order: deterministic for any thread count.
    constexpr int64_t kRows = 64;
    const int64_t blocks = (M + kRows - 1) / kRows;
    std::vector<float> partial(static_cast<size_t>(blocks * N), 0.0f);
    parallelFor(blocks, [&](int64_t b) {
      onAvx512([&]() TESSERA_VECTORIZE {
        float* p = partial.data() + b * N;
        for (int64_t m = b * kRows; m < std::min(M, (b + 1) * kRows); m++) {
          const float* d = dout + m * N;
          for (int64_t n = 0; n < N; n++) p[n] += d[n];
        }
      });
    });
    for (int64_t b = 0; b < blocks; b++) {
      const float* p = partial.data() + b * N;
      for (int64_t n = 0; n < N; n++) dbias[n] += p[n];
    }
  }
}
}  // namespace

// out (M,N) = inp (M,K) . weight (N,K)^T + bias (N)
void linear_forward(float* out, const float* inp, const float* weight, const float* bias, int64_t M, int64_t K,
                    int64_t N) {
  linearForward(Precision::Fp32, out, N, inp, K, weight, bias, M, K, N);
}

// out rows (stride ldo) = inp rows (stride ldi) . weight (N,K)^T + bias (N)
void linear_forward_rows(float* out, int64_t ldo, const float* inp, int64_t ldi, const float* weight,
                         const float* bias, int64_t M, int64_t K, int64_t N) {
  linearForward(Precision::Fp32, out, ldo, inp, ldi, weight, bias, M, K, N);
}

// out (M,N) = inp . weight^T + bias, act (M,N) = gelu(out): linear_forward then gelu_forward in one pass over the
// output (each block's GELU while it is in cache); the same numbers bit for bit. act may equal out.
void linear_gelu_forward(float* out, float* act, const float* inp, const float* weight, const float* bias, int64_t M,
                         int64_t K, int64_t N) {
  linearGeluForward(Precision::Fp32, out, act, inp, weight, bias, M, K, N);
}

// dinp (M,K) += dout . weight; dweight (N,K) += dout^T . inp; dbias (N) += column sums of dout (always fp32)
void linear_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int64_t M, int64_t K, int64_t N) {
  linearBackward(Precision::Fp32, dinp, dweight, dbias, dout, inp, weight, M, K, N, true);
}

// linear_backward with dinp (M,K) = dout . weight written, not added to (no zeroing pass before it); the same numbers
// as zeroing dinp first: the product's first k slice stores its sums where it would have added them to zeros.
void linear_backward_write(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                           const float* weight, int64_t M, int64_t K, int64_t N) {
  linearBackward(Precision::Fp32, dinp, dweight, dbias, dout, inp, weight, M, K, N, false);
}

// The backward of a linear layer whose input is act = gelu(pre): dpre (M,K) = (dout . weight) * gelu'(pre), the
// product written into dpre and the GELU's backward applied to each of its blocks while it is in cache; dweight, dbias
// as linear_backward. The same numbers as zeroing dpre, then linear_backward and gelu_backward (the vector GELU
// backwards read each value before they write it, so dx may be dout).
void gelu_linear_backward(float* dpre, float* dweight, float* dbias, const float* dout, const float* pre,
                          const float* act, const float* weight, int64_t M, int64_t K, int64_t N) {
  GeluBackwardEpilogue e{pre, K, vecGeluBackward};
  const GemmEpilogue ep{GeluBackwardEpilogue::apply, &e};
  linearBackward(Precision::Fp32, dpre, dweight, dbias, dout, act, weight, M, K, N, false, &ep);
}

void gelu_linear_backward_bf16(float* dpre, float* dweight, float* dbias, const float* dout, const float* pre,
                               const float* act, const float* weight, int64_t M, int64_t K, int64_t N) {
  GeluBackwardEpilogue e{pre, K, vecGeluBackwardPiecewise};
  const GemmEpilogue ep{GeluBackwardEpilogue::apply, &e};
  linearBackward(Precision::Bf16, dpre, dweight, dbias, dout, act, weight, M, K, N, false, &ep);
}

void linear_backward_write_bf16(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                                const float* weight, int64_t M, int64_t K, int64_t N) {
  linearBackward(Precision::Bf16, dinp, dweight, dbias, dout, inp, weight, M, K, N, false);
}

void linear_forward_bf16(float* out, const float* inp, const float* weight, const float* bias, int64_t M, int64_t K,
                         int64_t N) {
  linearForward(Precision::Bf16, out, N, inp, K, weight, bias, M, K, N);
}

void linear_forward_rows_bf16(float* out, int64_t ldo, const float* inp, int64_t ldi, const float* weight,
                              const float* bias, int64_t M, int64_t K, int64_t N) {
  linearForward(Precision::Bf16, out, ldo, inp, ldi, weight, bias, M, K, N);
}

void linear_gelu_forward_bf16(float* out, float* act, const float* inp, const float* weight, const float* bias,
                              int64_t M, int64_t K, int64_t N) {
  linearGeluForward(Precision::Bf16, out, act, inp, weight, bias, M, K, N);
}

void linear_backward_bf16(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                          const float* weight, int64_t M, int64_t K, int64_t N) {
  linearBackward(Precision::Bf16, dinp, dweight, dbias, dout, inp, weight, M, K, N, true);
}

}  // namespace cpu
}  // namespace tessera
