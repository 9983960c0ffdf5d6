// ViT encoder over a chunk of images. Token order is [class, registers, patches] as in timm's _pos_embed.
#include "vit.h"

#include <algorithm>
#include <optional>
#include <stdexcept>

#include "gemm.h"

namespace tessera {

namespace {

// A gradient buffer inside EncoderActivations::Grads.
struct Span {
  const Backend& be;
  float* p;
  int64_t n;
  float* data() const { return p; }
  void zero() const { be.zero(p, sizeof(float) * static_cast<size_t>(n)); }
};
}  // namespace

namespace {
bool prunes(const ViTConfig& cfg, bool pruneOutputRows) {
  return pruneOutputRows && cfg.global_pool == GlobalPool::Token && cfg.depth > 0;
}

// Buffer sizes (floats) of one block, in Block field order, and the total of one EncoderActivations.
struct Layout {
  int64_t block[15];
  int64_t last[15];  // the pruned last block (keep: blocks[depth-1]; otherwise blocks[1], beside the shared one)
  int64_t nBlocks, normRows, total;
};

Layout layoutFor(const Backend& be, const ViTConfig& cfg, int64_t B, bool keep, bool pruned) {
  Layout L{};
  const int64_t D = cfg.embed_dim, T = cfg.numTokens(), P = cfg.numPatches(), M = B * T, NH = cfg.num_heads;
  const int64_t K = 3LL * cfg.patch_size * cfg.patch_size, F1 = cfg.fc1Width(), Fi = cfg.mlpInner();
  const int64_t Dout = cfg.outputDim();
  const bool ls = cfg.init_values > 0;
  const int64_t blockSizes[15] = {M * D, M * D, M, M, 3 * M * D, keep ? be.attention_saved_floats(B, T, T, D, NH) : 0, M * D,
                                  ls ? M * D : 0, M * D, M * D, M, M, M * F1, M * Fi, ls ? M * D : 0};
  // Pruned: full-size inputs up to qkv (shared with the other blocks' buffers when !keep), one row per image
  // from the attention output on.
  const int64_t lastSizes[15] = {keep ? M * D : 0, keep ? M * D : 0, keep ? M : 0, keep ? M : 0,
                                 keep ? 3 * M * D : 0, keep ? be.attention_saved_floats(B, T, 1, D, NH) : 0, B * D,
                                 ls ? B * D : 0, B * D, B * D,
                                 B, B, B * F1, B * Fi, ls ? B * D : 0};
  int64_t perBlock = 0, perLast = 0;
  for (int i = 0; i < 15; i++) {
    L.block[i] = blockSizes[i];
    L.last[i] = pruned ? lastSizes[i] : blockSizes[i];
    perBlock += blockSizes[i];
    perLast += L.last[i];
  }
  const int64_t blocks = keep ? std::max(cfg.depth - 1, 0) : (cfg.depth > 0 ? 1 : 0);
  const int64_t lasts = keep ? (cfg.depth > 0 ? 1 : 0) : (pruned ? 1 : 0);
  L.nBlocks = blocks + lasts;
  const int64_t finalRows = pruned ? B : M;
  L.normRows = cfg.fc_norm ? B * Dout / D : finalRows;
  L.total = B * P * K + B * P * D + blocks * perBlock + lasts * perLast + (keep ? finalRows : M) * D +
            (cfg.fc_norm ? 0 : finalRows * D) + 2 * L.normRows + 2 * B * Dout;
  return L;
}
}  // namespace

int64_t EncoderActivations::activationFloats(const Backend& be, const ViTConfig& cfg, int64_t capacity, bool keep,
                                             bool pruneOutputRows) {
  return layoutFor(be, cfg, capacity, keep, prunes(cfg, pruneOutputRows)).total;
}

int64_t EncoderActivations::inputSlotBytes(const Backend& be, const ViTConfig& cfg, int64_t capacity) {
  return be.hostMemory ? 0 : 2 * capacity * cfg.img_size * cfg.img_size * 3;
}

EncoderActivations::EncoderActivations(const Backend& be, const ViTConfig& cfg, int64_t capacity, bool keep_,
                                       bool pruneOutputRows)
    : B(capacity), keep(keep_), pruned(prunes(cfg, pruneOutputRows)), be_(&be), cfg_(cfg), capacity_(capacity) {
  if (capacity <= 0) throw std::invalid_argument("The chunk size must be positive.");
  const int64_t D = cfg.embed_dim, T = cfg.numTokens(), P = cfg.numPatches(), M = B * T;
  const int64_t K = 3LL * cfg.patch_size * cfg.patch_size, Dout = cfg.outputDim();
  const Layout L = layoutFor(be, cfg, B, keep, pruned);
  size_ = static_cast<size_t>(L.total);
  gradFloats_ = gradientFloats(be, cfg, capacity);
  storage_ = BackendBuffer(be, size_ * sizeof(float));
  const int64_t slotBytes = inputSlotBytes(be, cfg, capacity);
  if (slotBytes > 0) inputStorage_ = BackendBuffer(be, static_cast<size_t>(slotBytes));
  inputSlots[0] = slotBytes ? static_cast<uint8_t*>(inputStorage_.data()) : nullptr;
  inputSlots[1] = slotBytes ? inputSlots[0] + slotBytes / 2 : nullptr;
  float* p = storage_.f32();
  auto take = [&](int64_t n) {
    float* r = n ? p : nullptr;
    p += n;
    return r;
  };
  cols = take(B * P * K);
  patch_out = take(B * P * D);
  for (int64_t l = 0; l < L.nBlocks; l++) {
    const int64_t* sizes = l == L.nBlocks - 1 && (keep || pruned) ? L.last : L.block;
    Block b{};
    float** fields[15] = {&b.x_in, &b.ln1, &b.mean1, &b.rstd1, &b.qkv, &b.att, &b.attn_out, &b.proj,
                          &b.x_mid, &b.ln2, &b.mean2, &b.rstd2, &b.fc1, &b.act, &b.fc2};
    for (int i = 0; i < 15; i++) *fields[i] = take(sizes[i]);
    blocks.push_back(b);
  }
  const int64_t finalRows = pruned ? B : M;
  x_final = take((keep ? finalRows : M) * D);
  normed = cfg.fc_norm ? nullptr : take(finalRows * D);
  mean_f = take(L.normRows);
  rstd_f = take(L.normRows);
  pooled = take(B * Dout);
  out = take(B * Dout);
  if (!keep) {
    // One residual stream updated in place: every block reads and writes x_final. The pruned last block
    // (blocks[1]) reads x_final and takes its full-size buffers (ln1, qkv) from the shared block.
    blocks[0].x_in = blocks[0].x_mid = x_final;
    if (pruned) {
      Block& last = blocks[1];
      last.x_in = x_final;
      last.ln1 = blocks[0].ln1;
      last.mean1 = blocks[0].mean1;
      last.rstd1 = blocks[0].rstd1;
      last.qkv = blocks[0].qkv;
    }
  }
}

void EncoderActivations::setBatch(int64_t b) {
  if (b < 1 || b > capacity_) throw std::logic_error("chunk larger than the activation buffers");
  B = b;
}

namespace {
// dact only where the MLP's backward needs a scratch for it: gelu_linear_backward writes fc1's input gradient
// straight into dfc1.
bool needsDact(const Backend& be, const ViTConfig& c) { return !(c.mlp == MlpKind::Gelu && be.gelu_linear_backward); }

void gradientSizes(const Backend& be, const ViTConfig& c, int64_t capacity, int64_t sizes[8]) {
  const int64_t D = c.embed_dim, M = capacity * c.numTokens(), F1 = c.fc1Width(), Fi = c.mlpInner();
  const int64_t s[8] = {M * D, M * D, M * D, 3 * M * D, M * F1, needsDact(be, c) ? M * Fi : 0,
                        capacity * c.numPatches() * D, capacity * c.outputDim()};
  for (int i = 0; i < 8; i++) sizes[i] = s[i];
}
}  // namespace

int64_t EncoderActivations::gradientFloats(const Backend& be, const ViTConfig& cfg, int64_t capacity) {
  int64_t sizes[8];
  gradientSizes(be, cfg, capacity, sizes);
  int64_t total = 0;
  for (int64_t n : sizes) total += n;
  return total;
}

EncoderActivations::Grads& EncoderActivations::grads() {
  if (!gradStorage_.data()) {
    int64_t sizes[8];
    gradientSizes(*be_, cfg_, capacity_, sizes);
    gradStorage_ = BackendBuffer(*be_, static_cast<size_t>(gradFloats_) * sizeof(float));
    float* p = gradStorage_.f32();
    float** fields[8] = {&grads_.dx, &grads_.dtmp, &grads_.dattn, &grads_.dqkv,
                         &grads_.dfc1, &grads_.dact, &grads_.dpatch, &grads_.dpooled};
    for (int i = 0; i < 8; i++) {
      *fields[i] = sizes[i] ? p : nullptr;
      p += sizes[i];
    }
  }
  return grads_;
}

namespace {
// fc1 and the MLP's activation. GELU goes into the product's epilogue where the backend has one
// (linear_gelu_forward); without kept activations (inference) the GELU overwrites the product in place, so the
// pre-activation never goes to memory.
void mlpHiddenForward(const Backend& be, const ViTConfig& c, const float* W, const Model::BlockOffsets& bo,
                      EncoderActivations::Block& a, bool keep, int64_t rows) {
  const int64_t D = c.embed_dim, F1 = c.fc1Width(), Fi = c.mlpInner();
  if (c.mlp == MlpKind::Gelu && be.linear_gelu_forward) {
    be.linear_gelu_forward(keep ? a.fc1 : a.act, a.act, a.ln2, W + bo.fc1_w, W + bo.fc1_b, rows, D, F1);
    return;
  }
  be.linear_forward(a.fc1, a.ln2, W + bo.fc1_w, W + bo.fc1_b, rows, D, F1);
  if (c.mlp == MlpKind::Gelu) be.gelu_forward(a.act, a.fc1, rows * F1);
  else be.swiglu_forward(a.act, a.fc1, rows, Fi);
}

// The last block when only the class-token rows are needed (acts.pruned): norm1 and the keys and values for every
// token, the query and everything after the attention for token 0 of each image. Writes acts.x_final (B,D).
void lastBlockRowsForward(const Backend& be, Model& model, const Model::BlockOffsets& bo, EncoderActivations& acts,
                          EncoderActivations::Block& a) {
  const ViTConfig& c = model.vit();
  const float* W = model.paramsOnBackend();
  const int64_t B = acts.B, D = c.embed_dim, T = c.numTokens(), M = B * T, NH = c.num_heads, Fi = c.mlpInner();
  const float* x_in = a.x_in;
  be.layernorm_forward(a.ln1, a.mean1, a.rstd1, x_in, W + bo.norm1_w, W + bo.norm1_b, M, D, c.norm_eps);
  const float* qkvBias = bo.qkv_b >= 0 ? W + bo.qkv_b : nullptr;
  be.linear_forward_rows(a.qkv + D, 3 * D, a.ln1, D, W + bo.qkv_w + D * D, qkvBias ? qkvBias + D : nullptr, M, D,
                         2 * D);  // k, v: every token
  be.linear_forward_rows(a.qkv, T * 3 * D, a.ln1, T * D, W + bo.qkv_w, qkvBias, B, D, D);  // q: token 0
  be.attention_forward(a.attn_out, a.att, a.qkv, B, T, 1, D, NH);
  float* proj = a.proj ? a.proj : a.ln2;  // ln2 is free until norm2 below
  be.linear_forward(proj, a.attn_out, W + bo.proj_w, W + bo.proj_b, B, D, D);
  be.copy_rows(a.x_mid, D, x_in, T * D, B, D);  // the class-token rows of the residual stream
  be.residual_scale_forward(a.x_mid, a.x_mid, proj, bo.ls1 >= 0 ? W + bo.ls1 : nullptr, B, D);
  be.layernorm_forward(a.ln2, a.mean2, a.rstd2, a.x_mid, W + bo.norm2_w, W + bo.norm2_b, B, D, c.norm_eps);
  mlpHiddenForward(be, c, W, bo, a, acts.keep, B);
  // Inference: x_final (the residual stream, no longer read) takes the B output rows.
  float* fc2 = a.fc2 ? a.fc2 : (acts.keep ? acts.x_final : a.ln2);
  be.linear_forward(fc2, a.act, W + bo.fc2_w, W + bo.fc2_b, B, Fi, D);
  be.residual_scale_forward(acts.x_final, a.x_mid, fc2, bo.ls2 >= 0 ? W + bo.ls2 : nullptr, B, D);
}
}  // namespace

void encoderForward(const Backend& be, Model& model, const uint8_t* pixels, EncoderActivations& acts) {
  const ViTConfig& c = model.vit();
  const Model::EncoderOffsets& o = model.encoderOffsets();
  const float* W = model.paramsOnBackend();
  const int64_t B = acts.B, D = c.embed_dim, T = c.numTokens(), P = c.numPatches(), M = B * T;
  const int64_t pre = c.numPrefixTokens(), p = c.patch_size, NH = c.num_heads;
  const int64_t Fi = c.mlpInner(), Dout = c.outputDim();
  // The CPU keeps the weights' packed GEMM panels from one forward to the next while they are unchanged (gemm.h):
  // between inference calls, and between the chunks of a training step.
  std::optional<PackedWeightsScope> packedWeights;
  if (be.hostMemory) packedWeights.emplace(W, model.numParams(), model.paramsVersion());

  be.patch_embed_forward(acts.patch_out, acts.cols, pixels, W + o.patch_w, W + o.patch_b, B, c.img_size,
                         c.img_size, p, D, c.mean, c.std);
  // Assemble tokens and add the position embedding.
  float* x0 = acts.keep && c.depth > 0 ? acts.blocks[0].x_in : acts.x_final;
  be.tokens_forward(x0, acts.patch_out, c.class_token ? W + o.cls_token : nullptr,
                    c.reg_tokens ? W + o.reg_token : nullptr, W + o.pos_embed, B, P, c.reg_tokens, D,
                    c.no_embed_class ? pre : 0);
  for (int64_t l = 0; l < c.depth; l++) {
    const Model::BlockOffsets& bo = o.blocks[l];
    if (acts.pruned && l == c.depth - 1) {
      lastBlockRowsForward(be, model, bo, acts, acts.blocks[acts.keep ? l : 1]);
      break;
    }
    EncoderActivations::Block& a = acts.blocks[acts.keep ? l : 0];
    float* x_in = acts.keep ? a.x_in : acts.x_final;
    float* x_out = acts.keep ? (l + 1 < c.depth ? acts.blocks[l + 1].x_in : acts.x_final) : acts.x_final;
    be.layernorm_forward(a.ln1, a.mean1, a.rstd1, x_in, W + bo.norm1_w, W + bo.norm1_b, M, D, c.norm_eps);
    be.linear_forward(a.qkv, a.ln1, W + bo.qkv_w, bo.qkv_b >= 0 ? W + bo.qkv_b : nullptr, M, D, 3 * D);
    be.attention_forward(a.attn_out, a.att, a.qkv, B, T, T, D, NH);
    // Without LayerScale backward does not need proj / fc2: write them straight into the residual output
    // (training) or into a buffer already consumed (inference, where x_mid and x_out alias x_in).
    float* proj = a.proj ? a.proj : (acts.keep ? a.x_mid : a.ln1);
    be.linear_forward(proj, a.attn_out, W + bo.proj_w, W + bo.proj_b, M, D, D);
    be.residual_scale_forward(a.x_mid, x_in, proj, bo.ls1 >= 0 ? W + bo.ls1 : nullptr, M, D);
    be.layernorm_forward(a.ln2, a.mean2, a.rstd2, a.x_mid, W + bo.norm2_w, W + bo.norm2_b, M, D, c.norm_eps);
    mlpHiddenForward(be, c, W, bo, a, acts.keep, M);
    float* fc2 = a.fc2 ? a.fc2 : (acts.keep ? x_out : a.ln2);
    be.linear_forward(fc2, a.act, W + bo.fc2_w, W + bo.fc2_b, M, Fi, D);
    be.residual_scale_forward(x_out, a.x_mid, fc2, bo.ls2 >= 0 ? W + bo.ls2 : nullptr, M, D);
  }
  // Final norm and pooling (over the class-token rows only when pruned).
  const float* src = acts.x_final;
  const int64_t rows = acts.pruned ? B : M, rowsPerImage = acts.pruned ? 1 : T;
  if (!c.fc_norm) {
    be.layernorm_forward(acts.normed, acts.mean_f, acts.rstd_f, acts.x_final, W + o.norm_w, W + o.norm_b, rows, D,
                         c.norm_eps);
    src = acts.normed;
  }
  float* pooled = c.fc_norm ? acts.pooled : acts.out;
  be.pool_forward(pooled, src, B, rowsPerImage, D, pre, c.global_pool != GlobalPool::Avg,
                  c.global_pool != GlobalPool::Token);
  if (c.fc_norm)
    be.layernorm_forward(acts.out, acts.mean_f, acts.rstd_f, acts.pooled, W + o.norm_w, W + o.norm_b,
                         B * Dout / D, D, c.norm_eps);
}

namespace {
// dinp = dout . weight, with linear_backward's weight and bias gradients: written where the backend can (no zeroing
// pass over dinp first), else zeroed and added to.
void linearBackwardInto(const Backend& be, const Span& dinp, float* dweight, float* dbias, const float* dout,
                        const float* inp, const float* weight, int64_t M, int64_t K, int64_t N) {
  if (be.linear_backward_write)
    return be.linear_backward_write(dinp.data(), dweight, dbias, dout, inp, weight, M, K, N);
  dinp.zero();
  be.linear_backward(dinp.data(), dweight, dbias, dout, inp, weight, M, K, N);
}

// dqkv = attention's gradients for q (rows [0, Tq), zeros past them), k and v: written where the backend can, else
// zeroed and added to.
void attentionBackwardInto(const Backend& be, const Span& dqkv, const float* dout, const EncoderActivations::Block& a,
                           int64_t B, int64_t T, int64_t Tq, int64_t D, int64_t NH) {
  if (be.attention_backward_write)
    return be.attention_backward_write(dqkv.data(), dout, a.qkv, a.attn_out, a.att, B, T, Tq, D, NH);
  dqkv.zero();
  be.attention_backward(dqkv.data(), dout, a.qkv, a.attn_out, a.att, B, T, Tq, D, NH);
}

// Gradient reaching the branch of out = x + gamma * branch given d out in dx (rows x D): gamma * dx, written to
// dtmp (and dgamma accumulated), or without LayerScale dx itself, with no copy.
const float* branchGrad(const Backend& be, float* dtmp, float* dgamma, const float* dx, const float* branch,
                        const float* gamma, int64_t rows, int64_t D) {
  if (!gamma) return dx;
  Span{be, dtmp, rows * D}.zero();
  be.residual_scale_backward(dtmp, dgamma, dx, branch, gamma, rows, D);
  return dtmp;
}

// The backward of a block down to the attention output, over `rows` rows (every token, or only the class
// tokens of a pruned last block). x_out = x_mid + ls2 * fc2(act(fc1(ln2(x_mid)))): on entry dx holds
// d x_out and becomes d x_mid. x_mid = x_in + ls1 * proj(attn(...)): on exit dattn holds d attn_out (dx
// keeps d x_mid, the residual's share of d x_in).
void mlpAndProjectionBackward(const Backend& be, const ViTConfig& c, const Model::BlockOffsets& bo, const float* W,
                              float* G, const EncoderActivations::Block& a, EncoderActivations::Grads& gb,
                              int64_t rows) {
  const int64_t D = c.embed_dim, F1 = c.fc1Width(), Fi = c.mlpInner();
  const float* ls1 = bo.ls1 >= 0 ? W + bo.ls1 : nullptr;
  const float* ls2 = bo.ls2 >= 0 ? W + bo.ls2 : nullptr;
  const Span dx{be, gb.dx, rows * D}, dtmp{be, gb.dtmp, rows * D}, dattn{be, gb.dattn, rows * D},
      dfc1{be, gb.dfc1, rows * F1}, dact{be, gb.dact, rows * Fi};
  const float* dfc2 = branchGrad(be, dtmp.data(), ls2 ? G + bo.ls2 : nullptr, dx.data(), a.fc2, ls2, rows, D);
  if (c.mlp == MlpKind::Gelu && be.gelu_linear_backward) {
    // fc2's input gradient goes through the GELU's backward block by block, in dfc1 (written, not added to: not
    // zeroed)
    be.gelu_linear_backward(dfc1.data(), G + bo.fc2_w, G + bo.fc2_b, dfc2, a.fc1, a.act, W + bo.fc2_w, rows, Fi, D);
  } else {
    linearBackwardInto(be, dact, G + bo.fc2_w, G + bo.fc2_b, dfc2, a.act, W + bo.fc2_w, rows, Fi, D);
    dfc1.zero();
    if (c.mlp == MlpKind::Gelu) be.gelu_backward(dfc1.data(), dact.data(), a.fc1, rows * F1);
    else be.swiglu_backward(dfc1.data(), dact.data(), a.fc1, rows, Fi);
  }
  linearBackwardInto(be, dtmp, G + bo.fc1_w, G + bo.fc1_b, dfc1.data(), a.ln2, W + bo.fc1_w, rows, D, F1);
  be.layernorm_backward(dx.data(), G + bo.norm2_w, G + bo.norm2_b, dtmp.data(), a.x_mid, W + bo.norm2_w, a.mean2,
                        a.rstd2, rows, D);
  const float* dproj = branchGrad(be, dtmp.data(), ls1 ? G + bo.ls1 : nullptr, dx.data(), a.proj, ls1, rows, D);
  linearBackwardInto(be, dattn, G + bo.proj_w, G + bo.proj_b, dproj, a.attn_out, W + bo.proj_w, rows, D, D);
}

// Backward of lastBlockRowsForward. On entry dx holds d x_out for the B class-token rows (B,D); on exit d x_in
// for every row (B*T,D). Only those rows carry gradient into the MLP, the projection and the query; keys,
// values and norm1 get it for every token through the attention.
void lastBlockRowsBackward(const Backend& be, Model& model, const Model::BlockOffsets& bo,
                           EncoderActivations& acts, const EncoderActivations::Block& a) {
  const ViTConfig& c = model.vit();
  const float* W = model.paramsOnBackend();
  float* G = model.gradsOnBackend();
  const int64_t B = acts.B, D = c.embed_dim, T = c.numTokens(), M = B * T, NH = c.num_heads;
  EncoderActivations::Grads& gb = acts.grads();
  const Span dx{be, gb.dx, B * D}, dattn{be, gb.dattn, B * D};
  mlpAndProjectionBackward(be, c, bo, W, G, a, gb, B);
  const Span dqkv{be, gb.dqkv, 3 * M * D}, dtmpAll{be, gb.dtmp, M * D}, dxAll{be, gb.dx, M * D};
  attentionBackwardInto(be, dqkv, dattn.data(), a, B, T, 1, D, NH);
  linearBackwardInto(be, dtmpAll, G + bo.qkv_w, bo.qkv_b >= 0 ? G + bo.qkv_b : nullptr, dqkv.data(), a.ln1,
                     W + bo.qkv_w, M, D, 3 * D);
  // d x_in: the residual passes d x_mid to the class-token rows (staged in dattn, no longer needed); norm1
  // adds its part to every row.
  be.copy(dattn.data(), dx.data(), sizeof(float) * B * D);
  dxAll.zero();
  be.copy_rows(dxAll.data(), T * D, dattn.data(), D, B, D);
  be.layernorm_backward(dxAll.data(), G + bo.norm1_w, G + bo.norm1_b, dtmpAll.data(), a.x_in, W + bo.norm1_w,
                        a.mean1, a.rstd1, M, D);
}
}  // namespace

// Backward walks the encoder in reverse: pooling/final norm, blocks L-1..0, token assembly, patch embedding.
void encoderBackward(const Backend& be, Model& model, EncoderActivations& acts, const float* dout) {
  if (!acts.keep) throw std::logic_error("encoderBackward needs activations saved by a keep=true forward.");
  const ViTConfig& c = model.vit();
  const Model::EncoderOffsets& o = model.encoderOffsets();
  const float* W = model.paramsOnBackend();
  float* G = model.gradsOnBackend();
  const int64_t B = acts.B, D = c.embed_dim, T = c.numTokens(), P = c.numPatches(), M = B * T;
  const int64_t pre = c.numPrefixTokens(), NH = c.num_heads;
  const int64_t Dout = c.outputDim();

  EncoderActivations::Grads& gb = acts.grads();
  Span dx{be, gb.dx, M * D}, dtmp{be, gb.dtmp, M * D}, dqkv{be, gb.dqkv, 3 * M * D}, dattn{be, gb.dattn, M * D};
  dx.zero();
  // Pooling and final norm.
  const float* dpool = dout;
  if (c.fc_norm) {
    Span dpooled{be, gb.dpooled, B * Dout};
    dpooled.zero();
    be.layernorm_backward(dpooled.data(), G + o.norm_w, G + o.norm_b, dout, acts.pooled, W + o.norm_w,
                          acts.mean_f, acts.rstd_f, B * Dout / D, D);
    dpool = dpooled.data();
  }
  float* dsrc = c.fc_norm ? dx.data() : dtmp.data();
  if (!c.fc_norm) dtmp.zero();
  const int64_t rows = acts.pruned ? B : M, rowsPerImage = acts.pruned ? 1 : T;
  be.pool_backward(dsrc, dpool, B, rowsPerImage, D, pre, c.global_pool != GlobalPool::Avg,
                   c.global_pool != GlobalPool::Token);
  if (!c.fc_norm)
    be.layernorm_backward(dx.data(), G + o.norm_w, G + o.norm_b, dtmp.data(), acts.x_final, W + o.norm_w,
                          acts.mean_f, acts.rstd_f, rows, D);

  for (int64_t l = c.depth - 1; l >= 0; l--) {  // blocks in reverse
    const Model::BlockOffsets& bo = o.blocks[l];
    const EncoderActivations::Block& a = acts.blocks[l];
    if (acts.pruned && l == c.depth - 1) {
      lastBlockRowsBackward(be, model, bo, acts, a);
      continue;
    }
    mlpAndProjectionBackward(be, c, bo, W, G, a, gb, M);
    attentionBackwardInto(be, dqkv, dattn.data(), a, B, T, T, D, NH);
    linearBackwardInto(be, dtmp, G + bo.qkv_w, bo.qkv_b >= 0 ? G + bo.qkv_b : nullptr, dqkv.data(), a.ln1,
                       W + bo.qkv_w, M, D, 3 * D);
    be.layernorm_backward(dx.data(), G + bo.norm1_w, G + bo.norm1_b, dtmp.data(), a.x_in, W + bo.norm1_w,
                          a.mean1, a.rstd1, M, D);
  }
  // Token assembly: class / register tokens, pos_embed, patch rows.
  Span dpatch{be, gb.dpatch, B * P * D};
  dpatch.zero();
  be.tokens_backward(dpatch.data(), c.class_token ? G + o.cls_token : nullptr, c.reg_tokens ? G + o.reg_token : nullptr,
                     G + o.pos_embed, dx.data(), B, P, c.reg_tokens, D, c.no_embed_class ? pre : 0, c.class_token);
  be.patch_embed_backward(G + o.patch_w, G + o.patch_b, dpatch.data(), acts.cols, B * P,
                          3LL * c.patch_size * c.patch_size, D);
}

}  // namespace tessera
