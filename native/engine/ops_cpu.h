// CPU reference implementations of the backend ops (one file per layer, forward above backward). See
// backend.h for shapes and the accumulate-into-gradients invariant.
#pragma once

#include <cstdint>

#include "backend.h"

namespace tessera {
namespace cpu {

void linear_forward(float* out, const float* inp, const float* weight, const float* bias, int64_t M, int64_t K,
                    int64_t N);
void linear_forward_rows(float* out, int64_t ldo, const float* inp, int64_t ldi, const float* weight,
                         const float* bias, int64_t M, int64_t K, int64_t N);
void linear_gelu_forward(float* out, float* act, const float* inp, const float* weight, const float* bias, int64_t M,
                         int64_t K, int64_t N);
void linear_gelu_forward_bf16(float* out, float* act, const float* inp, const float* weight, const float* bias,
                              int64_t M, int64_t K, int64_t N);
void gelu_linear_backward(float* dpre, float* dweight, float* dbias, const float* dout, const float* pre,
                          const float* act, const float* weight, int64_t M, int64_t K, int64_t N);
void gelu_linear_backward_bf16(float* dpre, float* dweight, float* dbias, const float* dout, const float* pre,
                               const float* act, const float* weight, int64_t M, int64_t K, int64_t N);
void linear_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int64_t M, int64_t K, int64_t N);
void linear_backward_write(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                           const float* weight, int64_t M, int64_t K, int64_t N);
void linear_backward_write_bf16(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                                const float* weight, int64_t M, int64_t K, int64_t N);
// bf16 operands, fp32 accumulation (gemm.h Precision::Bf16): the bf16 backend table's matrix products
void linear_forward_bf16(float* out, const float* inp, const float* weight, const float* bias, int64_t M, int64_t K,
                         int64_t N);
void linear_forward_rows_bf16(float* out, int64_t ldo, const float* inp, int64_t ldi, const float* weight,
                              const float* bias, int64_t M, int64_t K, int64_t N);
void linear_backward_bf16(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                          const float* weight, int64_t M, int64_t K, int64_t N);
void patch_embed_forward_bf16(float* out, float* cols, const uint8_t* pixels, const float* weight, const float* bias,
                              int64_t B, int64_t H, int64_t W, int64_t p, int64_t C, const float* mean,
                              const float* std);
void patch_embed_backward_bf16(float* dweight, float* dbias, const float* dout, const float* cols, int64_t BP,
                               int64_t K, int64_t C);
void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                       const float* bias, int64_t M, int64_t C, float eps);
void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                        const float* weight, const float* mean, const float* rstd, int64_t M, int64_t C);
void attention_forward(float* out, float* att, const float* qkv, int64_t B, int64_t T, int64_t Tq, int64_t C,
                       int64_t NH);
void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* out, const float* att,
                        int64_t B, int64_t T, int64_t Tq, int64_t C, int64_t NH);
void attention_backward_write(float* dqkv, const float* dout, const float* qkv, const float* out, const float* att,
                              int64_t B, int64_t T, int64_t Tq, int64_t C, int64_t NH);
// bf16 operands in attention's four (backward) or two (forward) products, fp32 accumulation and softmax
void attention_forward_bf16(float* out, float* att, const float* qkv, int64_t B, int64_t T, int64_t Tq, int64_t C,
                            int64_t NH);
void attention_backward_bf16(float* dqkv, const float* dout, const float* qkv, const float* out, const float* att,
                             int64_t B, int64_t T, int64_t Tq, int64_t C, int64_t NH);
void attention_backward_write_bf16(float* dqkv, const float* dout, const float* qkv, const float* out,
                                   const float* att, int64_t B, int64_t T, int64_t Tq, int64_t C, int64_t NH);
int64_t attention_saved_floats(int64_t B, int64_t T, int64_t Tq, int64_t C, int64_t NH);
void gelu_forward(float* out, const float* inp, int64_t n);
void gelu_backward(float* dinp, const float* dout, const float* inp, int64_t n);
void gelu_forward_bf16(float* out, const float* inp, int64_t n);
void gelu_backward_bf16(float* dinp, const float* dout, const float* inp, int64_t n);
void swiglu_forward(float* out, const float* inp, int64_t M, int64_t H);
void swiglu_backward(float* dinp, const float* dout, const float* inp, int64_t M, int64_t H);
void residual_scale_forward(float* out, const float* residual, const float* inp, const float* gamma, int64_t M,
                            int64_t C);
void residual_scale_backward(float* dinp, float* dgamma, const float* dout, const float* inp, const float* gamma,
                             int64_t M, int64_t C);
void patch_embed_forward(float* out, float* cols, const uint8_t* pixels, const float* weight, const float* bias,
                         int64_t B, int64_t H, int64_t W, int64_t p, int64_t C, const float* mean,
                         const float* std);
void patch_embed_backward(float* dweight, float* dbias, const float* dout, const float* cols, int64_t BP,
                          int64_t K, int64_t C);
void mil_attention_forward(float* z, float* attn, float* a, float* g, const float* h, const float* wa,
                           const float* ba, const float* wb, const float* bb, const float* wc, const float* bc,
                           int64_t N, int64_t D, int64_t Dh);
void mil_attention_backward(float* dh, float* dwa, float* dba, float* dwb, float* dbb, float* dwc, float* dbc,
                            const float* dz, const float* attn, const float* a, const float* g, const float* h,
                            const float* wa, const float* wb, const float* wc, float* scratch, int64_t N,
                            int64_t D, int64_t Dh);
void tokens_forward(float* x, const float* patches, const float* cls, const float* reg, const float* pos, int64_t B,
                    int64_t P, int64_t R, int64_t C, int64_t posFirst);
void tokens_backward(float* dpatches, float* dcls, float* dreg, float* dpos, const float* dx, int64_t B, int64_t P,
                     int64_t R, int64_t C, int64_t posFirst, bool cls);
void pool_forward(float* out, const float* x, int64_t B, int64_t rows, int64_t C, int64_t avgFirst, bool token,
                  bool avg);
void pool_backward(float* dx, const float* dout, int64_t B, int64_t rows, int64_t C, int64_t avgFirst, bool token,
                   bool avg);
void dropout_forward(float* out, float* mask, const float* inp, int64_t n, float p, uint64_t seed);
void dropout_backward(float* dinp, const float* dout, const float* mask, int64_t n);
void task_loss(double* loss, float* dlogits, const float* logits, int64_t C, bool binary, int label, float scale);
void sum_squares(double* out, const float* x, int64_t n);
void adamw_update_zero_grads(float* p, float* g, float* m, float* v, const ParamSegment* segs, int nsegs,
                             float gradScale, float beta1, float beta2, float eps, int64_t t);
void adamw_update(float* p, const float* g, float* m, float* v, const ParamSegment* segs, int nsegs, float gradScale,
                  float beta1, float beta2, float eps, int64_t t);

// Runs fn(begin, end) over [0, n) in blocks of at least `grain` on the thread pool.
template <class F>
void parallelRange(int64_t n, int64_t grain, F fn);

}  // namespace cpu
}  // namespace tessera

#include "threads.h"

namespace tessera {
namespace cpu {
template <class F>
void parallelRange(int64_t n, int64_t grain, F fn) {
  if (n <= 0) return;
  int64_t blocks = (n + grain - 1) / grain;
  const int64_t maxBlocks = static_cast<int64_t>(poolThreads()) * 4;
  if (blocks > maxBlocks) blocks = maxBlocks;
  const int64_t step = (n + blocks - 1) / blocks;
  parallelFor((n + step - 1) / step, [&](int64_t b) {
    const int64_t begin = b * step;
    const int64_t end = begin + step < n ? begin + step : n;
    fn(begin, end);
  });
}
}  // namespace cpu
}  // namespace tessera
