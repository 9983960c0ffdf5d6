// The backend seam (ggml-backend style): a table of memory functions and op functions. The model code calls every
// op and every copy through a Backend, so the same model runs on the CPU tables (backend_cpu*.cpp) or the CUDA ones
// (native/cuda), and native/tests/backend_ops_test.cpp checks every op of every table against the CPU one.
//
// Memory: pointers given to ops are the backend's own ("backend memory": host memory for the CPU tables, device
// memory or mapped pinned host memory for CUDA), allocated with alloc / alloc_host. Host code never reads or writes
// backend memory directly unless hostMemory is true; it copies with copy_to_device / copy_to_host. Ops may run
// asynchronously (queued in order on one stream); copy_to_host and synchronize wait for everything queued before.
//
// Shape comments: B batch (images), T tokens, C channels, M rows (= B*T or patches), K input features, N output
// features, NH heads.
//
// Invariant (as in llm.c): every backward ACCUMULATES (+=) into its gradient outputs, parameter and activation
// gradients alike; callers zero activation-gradient buffers before use. Optional outputs and inputs may be null
// where noted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>
#include <stdexcept>
#include <string>

namespace tessera {

// One contiguous run of parameters [begin, end) that share a learning rate and weight decay (AdamW).
struct ParamSegment {
  int64_t begin, end;
  float lr, weightDecay;
};

// Thrown by a backend's alloc when its memory is full (a std::bad_alloc, so callers that handle host out-of-memory
// handle it too); what() names the backend and the size asked for.
struct BackendOutOfMemory : std::bad_alloc {
  explicit BackendOutOfMemory(std::string message) : message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

struct Backend {
  const char* name;
  // Pointers from alloc are host pointers (the CPU tables): host code may use them directly, no copies needed.
  bool hostMemory;
  // The same backend with the encoder's matrix products in bf16 (operands rounded to bf16, fp32 accumulation);
  // fp32: the same backend with fp32 products. Both tables share one memory space.
  const Backend* bf16;
  const Backend* fp32;

  // ---- memory ----------------------------------------------------------------------------------------------
  // Uninitialised backend memory, aligned to 256 bytes; throws BackendOutOfMemory. free(nullptr) is a no-op.
  void* (*alloc)(size_t bytes);
  void (*free)(void* p);
  // Host memory that the backend's ops read and write in place (pinned and mapped for CUDA): for buffers too large
  // for the device. Slower for the ops than alloc's memory. Freed with free_host.
  void* (*alloc_host)(size_t bytes);
  void (*free_host)(void* p);
  // p[0, bytes) = 0
  void (*zero)(void* p, size_t bytes);
  // Host -> backend, backend -> host (waits for the ops queued before it), backend -> backend.
  void (*copy_to_device)(void* dst, const void* src, size_t bytes);
  void (*copy_to_host)(void* dst, const void* src, size_t bytes);
  void (*copy)(void* dst, const void* src, size_t bytes);
  // dst row r at dst + r*ldd, src row r at src + r*lds, rows x cols floats (backend memory both)
  void (*copy_rows)(float* dst, int64_t ldd, const float* src, int64_t lds, int64_t rows, int64_t cols);
  // Input staging that overlaps compute (two slots, 0 and 1): prefetch copies host src into backend dst, after the
  // ops queued before the slot's last prefetch_release have finished (they read the slot's previous contents);
  // src may be reused when it returns. prefetch_wait(slot) makes the ops queued after it see the data.
  void (*prefetch)(void* dst, const void* src, size_t bytes, int slot);
  void (*prefetch_wait)(int slot);
  void (*prefetch_release)(int slot);
  // Waits for every queued op and copy; throws std::runtime_error if one failed.
  void (*synchronize)();
  // Free and total bytes of the backend's memory; false when unknown (the CPU: host memory is the OS's business).
  bool (*memory_info)(int64_t* freeBytes, int64_t* totalBytes);

  // ---- ops -------------------------------------------------------------------------------------------------
  // out (M,N) = inp (M,K) . weight (N,K)^T + bias (N, may be null)
  void (*linear_forward)(float* out, const float* inp, const float* weight, const float* bias, int64_t M,
                         int64_t K, int64_t N);
  // The same over strided rows: out row m at out + m*ldo, inp row m at inp + m*ldi (a column block of a wider
  // output, or every T-th row of a token matrix)
  void (*linear_forward_rows)(float* out, int64_t ldo, const float* inp, int64_t ldi, const float* weight,
                              const float* bias, int64_t M, int64_t K, int64_t N);
  // Optional (null: the caller runs linear_forward then gelu_forward): out (M,N) = inp . weight^T + bias,
  // act (M,N) = exact GELU of out, in one pass (the CPU applies the GELU to each block of the product while it is in
  // cache); act may equal out when the pre-activation is not needed. The same numbers as the two ops.
  void (*linear_gelu_forward)(float* out, float* act, const float* inp, const float* weight, const float* bias,
                              int64_t M, int64_t K, int64_t N);
  // dinp (M,K) may be null; dbias may be null
  void (*linear_backward)(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                          const float* weight, int64_t M, int64_t K, int64_t N);
  // Optional (null: the caller zeroes dinp, then linear_backward): the same, with dinp (M,K) = dout . weight written
  // instead of added to, which saves the training step a zeroing pass over each input gradient and the product's
  // reads of those zeros. The same numbers as zeroing first.
  void (*linear_backward_write)(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                                const float* weight, int64_t M, int64_t K, int64_t N);

  // Optional (null: linear_backward then gelu_backward): the backward of a linear layer whose input is
  // act = gelu(pre) (M,K): dpre (M,K) = (dout . weight) * gelu'(pre) (overwritten: no zeroing pass before it),
  // dweight (N,K) += dout^T . act, dbias (N) += column sums of dout (dbias may be null). The CPU applies the GELU's
  // backward to each block of that product while it is in cache, in place in dpre; the same numbers as zeroing dpre,
  // then the two ops.
  void (*gelu_linear_backward)(float* dpre, float* dweight, float* dbias, const float* dout, const float* pre,
                               const float* act, const float* weight, int64_t M, int64_t K, int64_t N);

  // out, inp (M,C); mean, rstd (M) may be null (inference)
  void (*layernorm_forward)(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                            const float* bias, int64_t M, int64_t C, float eps);
  void (*layernorm_backward)(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                             const float* weight, const float* mean, const float* rstd, int64_t M, int64_t C);

  // qkv (B,T,3C); queries are each image's first Tq tokens (Tq = T: full self-attention) -> out (B,Tq,C).
  // saved: what backward needs beyond qkv and out, attention_saved_floats(...) floats, may be null (inference):
  // the softmax probabilities (B,NH,Tq,T) for the CPU, the rows' log-sum-exp (B,NH,Tq) for a fused kernel.
  void (*attention_forward)(float* out, float* saved, const float* qkv, int64_t B, int64_t T, int64_t Tq,
                            int64_t C, int64_t NH);
  // dqkv (B,T,3C): q rows [0, Tq), every k and v row; out is the forward's output
  void (*attention_backward)(float* dqkv, const float* dout, const float* qkv, const float* out,
                             const float* saved, int64_t B, int64_t T, int64_t Tq, int64_t C, int64_t NH);
  // Optional (null: the caller zeroes dqkv, then attention_backward): the same with every element of dqkv written
  // (q rows past Tq as zeros) instead of added to, which saves the training step a zeroing pass over dqkv (3 x
  // tokens x C floats per block). The same numbers as zeroing first.
  void (*attention_backward_write)(float* dqkv, const float* dout, const float* qkv, const float* out,
                                   const float* saved, int64_t B, int64_t T, int64_t Tq, int64_t C, int64_t NH);
  int64_t (*attention_saved_floats)(int64_t B, int64_t T, int64_t Tq, int64_t C, int64_t NH);

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
  // column order (c, ky, kx) = the conv weight's flattening; then out (B*P, C) = cols . weight^T + bias.
  // mean, std: 3 host floats each.
  void (*patch_embed_forward)(float* out, float* cols, const uint8_t* pixels, const float* weight,
                              const float* bias, int64_t B, int64_t H, int64_t W, int64_t p, int64_t C,
                              const float* mean, const float* std);
  // images are not trained: only dweight, dbias
  void (*patch_embed_backward)(float* dweight, float* dbias, const float* dout, const float* cols, int64_t BP,
                               int64_t K, int64_t C);

  // Token assembly (timm's _pos_embed): x (B,T,C) with T = nc + R + P, nc = 1 if cls else 0, rows per image
  // [cls (C) | reg (R,C) | patches (P,C)]; pos (T - posFirst, C) is added to rows posFirst.. (0: every token;
  // nc + R: patch tokens only). cls, reg may be null (no class token, no registers).
  void (*tokens_forward)(float* x, const float* patches, const float* cls, const float* reg, const float* pos,
                         int64_t B, int64_t P, int64_t R, int64_t C, int64_t posFirst);
  // dpatches (B*P, C), dcls (C), dreg (R,C), dpos (T - posFirst, C) += from dx (B,T,C); dcls/dreg null when absent
  void (*tokens_backward)(float* dpatches, float* dcls, float* dreg, float* dpos, const float* dx, int64_t B,
                          int64_t P, int64_t R, int64_t C, int64_t posFirst, bool cls);

  // Pooling: x (B, rows, C) -> out (B, Cout): [row 0 if token] [mean of rows avgFirst.. if avg] (Cout = C or 2C)
  void (*pool_forward)(float* out, const float* x, int64_t B, int64_t rows, int64_t C, int64_t avgFirst, bool token,
                       bool avg);
  // dx (B, rows, C) += from dout (B, Cout)
  void (*pool_backward)(float* dx, const float* dout, int64_t B, int64_t rows, int64_t C, int64_t avgFirst,
                        bool token, bool avg);

  // Inverted dropout: mask[i] = 0 with probability p, else 1/(1-p), from dropoutMask(seed, i) (rng.h), the same on
  // every backend; out = inp * mask (out may alias inp). p = 0: mask = 1.
  void (*dropout_forward)(float* out, float* mask, const float* inp, int64_t n, float p, uint64_t seed);
  // dinp += dout * mask
  void (*dropout_backward)(float* dinp, const float* dout, const float* mask, int64_t n);

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
  // Binary (C = 1): BCE with logits; categorical: cross-entropy. loss[0] = the unscaled loss (written, in
  // backend memory, so nothing waits for it); dlogits (C) += scale * dloss/dlogits. Labels are validated by the
  // caller.
  void (*task_loss)(double* loss, float* dlogits, const float* logits, int64_t C, bool binary, int label,
                    float scale);

  // out[0] = sum of x[i]^2 over n, in double, the same for any thread count
  void (*sum_squares)(double* out, const float* x, int64_t n);

  // AdamW (torch.optim.AdamW semantics) over the parameter runs segs[0, nsegs) (a host array) of the flat arrays
  // p, g, m, v, with the gradient scaled by gradScale first (global-norm clipping; 1 = none):
  // p *= 1 - lr*wd; m, v moments; p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps). t = step number (1-based).
  void (*adamw_update)(float* p, const float* g, float* m, float* v, const ParamSegment* segs, int nsegs,
                       float gradScale, float beta1, float beta2, float eps, int64_t t);
  // Optional (null: adamw_update, then the caller zeroes the gradients): the same update, and g = 0 over the segments
  // in the same pass.
  void (*adamw_update_zero_grads)(float* p, float* g, float* m, float* v, const ParamSegment* segs, int nsegs,
                                  float gradScale, float beta1, float beta2, float eps, int64_t t);
};

const Backend& cpuBackend();
// The CPU table with the matrix products of linear layers, the patch embedding and attention in bf16 (operands
// rounded to bf16, fp32 accumulation; vdpbf16ps where the CPU has AVX512-BF16); every other op as cpuBackend().
const Backend& cpuBf16Backend();

// A backend allocation owned by its holder and freed through the same backend (alloc, or alloc_host when onHost).
class BackendBuffer {
 public:
  BackendBuffer() = default;
  BackendBuffer(const Backend& be, size_t bytes, bool onHost = false)
      : be_(&be), bytes_(bytes), onHost_(onHost), p_(bytes ? (onHost ? be.alloc_host(bytes) : be.alloc(bytes)) : nullptr) {}
  ~BackendBuffer() { reset(); }
  BackendBuffer(const BackendBuffer&) = delete;
  BackendBuffer& operator=(const BackendBuffer&) = delete;
  BackendBuffer(BackendBuffer&& o) noexcept { *this = std::move(o); }
  BackendBuffer& operator=(BackendBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      be_ = o.be_;
      bytes_ = o.bytes_;
      onHost_ = o.onHost_;
      p_ = o.p_;
      o.p_ = nullptr;
      o.bytes_ = 0;
    }
    return *this;
  }
  void reset() {
    if (p_) (onHost_ ? be_->free_host : be_->free)(p_);
    p_ = nullptr;
    bytes_ = 0;
  }
  float* f32() const { return static_cast<float*>(p_); }
  void* data() const { return p_; }
  size_t bytes() const { return bytes_; }
  bool onHost() const { return onHost_; }

 private:
  const Backend* be_ = nullptr;
  size_t bytes_ = 0;
  bool onHost_ = false;
  void* p_ = nullptr;
};

}  // namespace tessera
