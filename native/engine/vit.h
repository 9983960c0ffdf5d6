// ViT encoder forward and backward over one chunk of images, with timm semantics: patch embedding, class
// and register tokens, learned pos_embed, pre-norm blocks (attention, MLP, optional LayerScale), final norm
// (per token, or fc_norm on the pooled vector), pooling. Activations live in one allocation per chunk.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "backend.h"
#include "model.h"

namespace tessera {

// Activation storage for chunks of up to `capacity` images. keep=true saves what backward needs (per block);
// keep=false (inference / the first, embedding-only sweep) reuses one block's worth of buffers for all
// blocks. One allocation, uninitialised (every buffer is written before it is read), reused across chunks:
// setBatch() picks the chunk's size. Backward's gradient buffers are allocated on first use.
//
// Output rows only (`pruned`): with global_pool = token the encoder's output is the class token's row of the
// final norm, so the last block needs keys and values for every token but its query, attention output,
// projection, residuals, MLP and the final norm only for that row (register and patch rows are dropped by the
// pooling). The last block then keeps one row per image after the attention: its buffers from attn_out on,
// x_final and the final norm are (B, .) instead of (B*T, .). The results are those of the full computation
// (bit for bit forward; backward sums the same terms without the zero rows). Avg and token+avg pooling read
// every row and take the full path; pruneOutputRows=false forces it (tests compare the two).
//
// Every buffer is in the memory of the backend it was made for (its attention buffers are sized by that table).
// For a backend without host memory it also holds two input slots of `capacity` images each, where the train and
// embed steps stage the next chunk's pixels while the current one computes.
class EncoderActivations {
 public:
  EncoderActivations(const Backend& be, const ViTConfig& cfg, int64_t capacity, bool keep,
                     bool pruneOutputRows = true);
  void setBatch(int64_t b);  // 1 <= b <= capacity
  int64_t capacity() const { return capacity_; }
  const Backend& backend() const { return *be_; }  // the table it was laid out for
  struct Block {
    float *x_in, *ln1, *mean1, *rstd1, *qkv, *att, *attn_out, *proj, *x_mid, *ln2, *mean2, *rstd2, *fc1, *act,
        *fc2;
  };
  int64_t B;
  bool keep;
  bool pruned;  // the last block computes only the class-token rows (see above)
  float* cols;  // (B*P, 3*p*p)
  float* patch_out;  // (B*P, D)
  std::vector<Block> blocks;
  float* x_final;  // (B,T,D) residual stream after the last block; (B,D) when pruned and keep
  float* normed;  // (B,T,D) final norm output (norm.* case); (B,D) when pruned
  float *mean_f, *rstd_f;  // (B*T), (B) when pruned, or (B*Dout/D) for fc_norm
  float* pooled;  // (B, Dout) before fc_norm (fc_norm case)
  float* out;  // (B, Dout) encoder output
  uint8_t* inputSlots[2];  // (capacity, img, img, 3) each; null for a backend with host memory
  // Bytes of the activation buffers, and of backward's gradient buffers (allocated on first backward).
  size_t bytes() const { return size_ * sizeof(float); }
  size_t gradientBytes() const { return static_cast<size_t>(gradFloats_) * sizeof(float); }
  static int64_t gradientFloats(const Backend& be, const ViTConfig& cfg, int64_t capacity);
  static int64_t activationFloats(const Backend& be, const ViTConfig& cfg, int64_t capacity, bool keep,
                                  bool pruneOutputRows = true);
  // Bytes of the input slots (0 for a backend with host memory).
  static int64_t inputSlotBytes(const Backend& be, const ViTConfig& cfg, int64_t capacity);

  // Backward scratch (sized for capacity): dx, dtmp, dattn (M,D); dqkv (M,3D); dfc1 (M,F1); dact (M,Fi), null
  // where the backend's gelu_linear_backward makes it unneeded; dpatch (B*P, D); dpooled (B, Dout).
  struct Grads {
    float *dx, *dtmp, *dattn, *dqkv, *dfc1, *dact, *dpatch, *dpooled;
  };
  Grads& grads();

 private:
  const Backend* be_;
  const ViTConfig cfg_;
  int64_t capacity_;
  size_t size_ = 0;
  int64_t gradFloats_ = 0;
  BackendBuffer storage_;
  BackendBuffer gradStorage_;
  BackendBuffer inputStorage_;
  Grads grads_{};
};

// pixels (B, img, img, 3) uint8 in the backend's memory -> acts.out (B, Dout). `be` is the model's backend or its
// bf16 table (Model::encoderBackend()).
void encoderForward(const Backend& be, Model& model, const uint8_t* pixels, EncoderActivations& acts);
// dout (B, Dout) -> encoder parameter gradients (+=) in the model's gradients. Needs acts from a keep=true forward.
void encoderBackward(const Backend& be, Model& model, EncoderActivations& acts, const float* dout);

}  // namespace tessera
