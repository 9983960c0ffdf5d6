// Multi-head self-attention core (timm Attention without the projections): per (image, head)
// softmax(q k^T / sqrt(hd)) v, computed with the strided GEMM straight out of the packed qkv tensor. The
// queries may be the first Tq tokens only (the last block of a class-token encoder needs just the class token's
// row); each computed row is the same, bit for bit, as in the full attention. The bf16 table's versions round the
// products' operands to bf16 (fp32 accumulation, softmax and its gradient in fp32), as torch.autocast does for
// these batched products and as the CUDA backend's bf16 table does.
#include <algorithm>
#include <cmath>
#include <vector>

#include "gemm.h"
#include "ops_cpu.h"
#include "vector_math.h"

namespace tessera {
namespace cpu {

namespace {
std::vector<float>& threadScratch(size_t n) {
  thread_local std::vector<float> s;
  if (s.size() < n) s.resize(n);
  return s;
}

// qkv (B,T,3C) laid out [q | k | v], each C = NH * hd wide; queries are tokens [0, Tq) -> out (B,Tq,C);
// att (B,NH,Tq,T) or null
void attentionForward(Precision pr, float* out, float* att, const float* qkv, int64_t B, int64_t T, int64_t Tq,
                      int64_t C, int64_t NH) {
  const int64_t hd = C / NH, C3 = 3 * C;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  parallelFor(B * NH, [&](int64_t bh) {
    const int64_t b = bh / NH, h = bh % NH;
    const float* q = qkv + b * T * C3 + h * hd;
    const float* k = q + C;
    const float* v = q + 2 * C;
    float* P = att ? att + bh * Tq * T : threadScratch(static_cast<size_t>(Tq * T)).data();
    gemmSerial(Tq, T, hd, MatView{q, C3, 1}, MatView{k, 1, C3}, P, T, false, nullptr, pr);
    vecSoftmaxRows(P, Tq, T, T, scale);
    gemmSerial(Tq, hd, T, MatView{P, T, 1}, MatView{v, C3, 1}, out + b * Tq * C + h * hd, C, false, nullptr, pr);
  });
}

// dqkv (B,T,3C) += (write = false) or = (write = true) the gradients for q (rows [0, Tq)), k and v. Each element
// of dqkv has one writer (its image and head), so writing needs no zeroed memory first: the products' first k
// slice stores its sums where it would add them to zeros (the same numbers), and the q rows past Tq, which no
// query reaches, are written as zeros.
void attentionBackward(Precision pr, float* dqkv, const float* dout, const float* qkv, const float* att, int64_t B,
                       int64_t T, int64_t Tq, int64_t C, int64_t NH, bool write) {
  const int64_t hd = C / NH, C3 = 3 * C;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const bool add = !write;
  parallelFor(B * NH, [&](int64_t bh) {
    const int64_t b = bh / NH, h = bh % NH;
    const float* q = qkv + b * T * C3 + h * hd;
    const float* k = q + C;
    const float* v = q + 2 * C;
    float* dq = dqkv + b * T * C3 + h * hd;
    float* dk = dq + C;
    float* dv = dq + 2 * C;
    const float* P = att + bh * Tq * T;
    const float* dO = dout + b * Tq * C + h * hd;
    float* dS = threadScratch(static_cast<size_t>(Tq * T)).data();
    gemmSerial(Tq, T, hd, MatView{dO, C, 1}, MatView{v, 1, C3}, dS, T, false, nullptr, pr);  // dP = dO v^T
    gemmSerial(T, hd, Tq, MatView{P, 1, T}, MatView{dO, C, 1}, dv, C3, add, nullptr, pr);  // dv += P^T dO
    for (int64_t i = 0; i < Tq; i++) vecSoftmaxBackward(dS + i * T, P + i * T, T, scale);  // then 1/sqrt(hd)
    gemmSerial(Tq, hd, T, MatView{dS, T, 1}, MatView{k, C3, 1}, dq, C3, add, nullptr, pr);  // dq += dS k
    gemmSerial(T, hd, Tq, MatView{dS, 1, T}, MatView{q, C3, 1}, dk, C3, add, nullptr, pr);  // dk += dS^T q
    if (write)
      for (int64_t t = Tq; t < T; t++) std::fill(dq + t * C3, dq + t * C3 + hd, 0.0f);
  });
}
}  // namespace

void attention_forward(float* out, float* att, const float* qkv, int64_t B, int64_t T, int64_t Tq, int64_t C,
                       int64_t NH) {
  attentionForward(Precision::Fp32, out, att, qkv, B, T, Tq, C, NH);
}
void attention_forward_bf16(float* out, float* att, const float* qkv, int64_t B, int64_t T, int64_t Tq, int64_t C,
                            int64_t NH) {
  attentionForward(Precision::Bf16, out, att, qkv, B, T, Tq, C, NH);
}

// dqkv (B,T,3C) += gradients for q (rows [0, Tq)), k and v; dout (B,Tq,C), att (B,NH,Tq,T); the forward's output
// is not needed here (it is for a fused kernel, which keeps no probabilities)
void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* /*out*/, const float* att,
                        int64_t B, int64_t T, int64_t Tq, int64_t C, int64_t NH) {
  attentionBackward(Precision::Fp32, dqkv, dout, qkv, att, B, T, Tq, C, NH, false);
}
void attention_backward_bf16(float* dqkv, const float* dout, const float* qkv, const float* /*out*/,
                             const float* att, int64_t B, int64_t T, int64_t Tq, int64_t C, int64_t NH) {
  attentionBackward(Precision::Bf16, dqkv, dout, qkv, att, B, T, Tq, C, NH, false);
}

// The same with dqkv written, every element (q rows past Tq as zeros): no zeroing pass before it
void attention_backward_write(float* dqkv, const float* dout, const float* qkv, const float* /*out*/,
                              const float* att, int64_t B, int64_t T, int64_t Tq, int64_t C, int64_t NH) {
  attentionBackward(Precision::Fp32, dqkv, dout, qkv, att, B, T, Tq, C, NH, true);
}
void attention_backward_write_bf16(float* dqkv, const float* dout, const float* qkv, const float* /*out*/,
                                   const float* att, int64_t B, int64_t T, int64_t Tq, int64_t C, int64_t NH) {
  attentionBackward(Precision::Bf16, dqkv, dout, qkv, att, B, T, Tq, C, NH, true);
}

// The probabilities (B,NH,Tq,T)
int64_t attention_saved_floats(int64_t B, int64_t T, int64_t Tq, int64_t /*C*/, int64_t NH) { return B * NH * Tq * T; }

}  // namespace cpu
}  // namespace tessera
