// The backend seam (ggml-backend style): a small table of op functions. The model code calls every op
// through a Backend, so a CUDA backend (its own issue) is one more table checked op by op against the CPU
// one. Pointers are host pointers for the CPU backend. Shape comments: B batch (images), T tokens,
// C channels, M rows (= B*T or patches), K input features, N output features, NH heads.
//
// Invariant (as in llm.c): every backward ACCUMULATES (+=) into its gradient outputs, parameter and
// activation gradients alike; callers zero activation-gradient buffers before use. Optional outputs and
// inputs may be null where noted.
#pragma once

#include <cstdint>

namespace tessera {

struct Backend {
  const char* name;

  // out (M,N) = inp (M,K) . weight (N,K)^T + bias (N, may be null)
  void (*linear_forward)(float* out, const float* inp, const float* weight, const float* bias, int64_t M,
                         int64_t K, int64_t N);
  // The same over strided rows: out row m at out + m*ldo, inp row m at inp + m*ldi (a column block of a wider
  // output, or every T-th row of a token matrix)
  void (*linear_forward_rows)(float* out, int64_t ldo, const float* inp, int64_t ldi, const float* weight,
                              const float* bias, int64_t M, int64_t K, int64_t N);
  // dinp (M,K) may be null; dbias may be null
  void (*linear_backward)(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                          const float* weight, int64_t M, int64_t K, int64_t N);

  // out, inp (M,C); mean, rstd (M) may be null (inference)
  void (*layernorm_forward)(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                            const float* bias, int64_t M, int64_t C, float eps);
  void (*layernorm_backward)(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                             const float* weight, const float* mean, const float* rstd, int64_t M, int64_t C);

  // qkv (B,T,3C); queries are each image's first Tq tokens (Tq = T: full self-attention) -> out (B,Tq,C);
  // att (B,NH,Tq,T) softmax probabilities, may be null (inference)
  void (*attention_forward)(float* out, float* att, const float* qkv, int64_t B, int64_t T, int64_t Tq,
                            int64_t C, int64_t NH);
  // dqkv (B,T,3C): q rows [0, Tq), every k and v row
  void (*attention_backward)(float* dqkv, const float* dout, const float* qkv, const float* att, int64_t B,
                             int64_t T, int64_t Tq, int64_t C, int64_t NH);

  // exact (erf) GELU, elementwise over n
  void (*gelu_forward)(float* out, const float* inp, int64_t n);
  void (*gelu_backward)(float* dinp, const float* dout, const float* inp, int64_t n);
  // inp (M,2H) = [gate | value] -> out (M,H) = silu(gate) * value
  void (*swiglu_forward)(float* out, const float* inp, int64_t M, int64_t H);
  void (*swiglu_backward)(float* dinp, const float* dout, const float* inp, int64_t M, int64_t H);

  // out (M,C) = residual (M,C) + gamma (C, may be null = 1) * inp (M,C); out may alias residual
  void (*residual_scale_forward)(float* out, const float* residual, const float* inp, const float* gamma,
                                 int64_t M, int64_t C);
  // dinp += gamma * dout; dgamma += sum_m dout * inp (dgamma null when gamma is); the residual's
  // gradient is dout itself (the caller keeps it)
  void (*residual_scale_backward)(float* dinp, float* dgamma, const float* dout, const float* inp,
                                  const float* gamma, int64_t M, int64_t C);

  // pixels (B,H,W,3) uint8 RGB -> cols (B*P, 3*p*p) normalised ((x/255 - mean)/std), P = (H/p)*(W/p),
  // column order (c, ky, kx) = the conv weight's flattening; then out (B*P, C) = cols . weight^T + bias
  void (*patch_embed_forward)(float* out, float* cols, const uint8_t* pixels, const float* weight,
                              const float* bias, int64_t B, int64_t H, int64_t W, int64_t p, int64_t C,
                              const float* mean, const float* std);
  // images are not trained: only dweight, dbias
  void (*patch_embed_backward)(float* dweight, float* dbias, const float* dout, const float* cols, int64_t BP,
                               int64_t K, int64_t C);

  // Gated attention MIL (Ilse et al. 2018) over one slide's embeddings h (N,D) with hidden width Dh:
  // a = tanh(h Wa^T + ba), g = sigmoid(h Wb^T + bb) (both saved, (N,Dh)), score = (a*g) wc^T + bc,
  // attn = softmax over the N patches, z (D) = attn^T h. bc / dbc may be null (the engine's model has no
  // attention_c bias: the softmax is shift-invariant, so its gradient would be identically zero).
  void (*mil_attention_forward)(float* z, float* attn, float* a, float* g, const float* h, const float* wa,
                                const float* ba, const float* wb, const float* bb, const float* wc,
                                const float* bc, int64_t N, int64_t D, int64_t Dh);
  // dh (N,D) += ; parameter grads +=; scratch holds N * (2*Dh + 1) floats
  void (*mil_attention_backward)(float* dh, float* dwa, float* dba, float* dwb, float* dbb, float* dwc,
                                 float* dbc, const float* dz, const float* attn, const float* a, const float* g,
                                 const float* h, const float* wa, const float* wb, const float* wc,
                                 float* scratch, int64_t N, int64_t D, int64_t Dh);

  // Heads + losses for one slide. logits (C) from the task's head; label -1 = missing (loss 0, no grad).
  // Binary (C = 1): BCE with logits; categorical: cross-entropy. Returns the unscaled loss;
  // dlogits (C) += scale * dloss/dlogits.
  double (*task_loss)(float* dlogits, const float* logits, int64_t C, bool binary, int label, float scale);

  // AdamW (torch.optim.AdamW semantics) over n contiguous parameters:
  // p *= 1 - lr*wd; m, v moments; p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps). t = step number (1-based).
  void (*adamw_update)(float* p, const float* g, float* m, float* v, int64_t n, float lr, float beta1,
                       float beta2, float eps, float wd, int64_t t);
};

const Backend& cpuBackend();
// The CPU table with the matrix products of linear layers and the patch embedding in bf16 (operands rounded to
// bf16, fp32 accumulation; vdpbf16ps where the CPU has AVX512-BF16); every other op as cpuBackend().
const Backend& cpuBf16Backend();

}  // namespace tessera
