// Tessera engine model: the ViT patch encoder (timm semantics and parameter names), the gated-attention
// MIL aggregator (Ilse et al. 2018) and one head per task, with every parameter in ONE float32 allocation
// (llm.c style). Gradients and the AdamW moments are parallel allocations of the same length and order, so
// zeroing gradients is one memset, the optimizer runs over one array and a checkpoint is a few writes.
//
// This header is the seam with the I/O code (safetensors, config.json, checkpoints): it loads and saves
// tensors by name through Model::parameters(). Plain C++17, no Node headers.
//
// The model owns its backend (backend.h): the CPU table by default, or one with its own memory (CUDA). Then each
// flat array lives twice, on the host for the I/O code and in the backend's memory for the ops (ModelArray), and is
// copied across only when the other side was written since.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend.h"
#include "host_memory.h"

namespace tessera {

class EncoderActivations;  // vit.h

// One flat float array of the model (parameters, gradients or an AdamW moment). host() is the copy the loaders,
// checkpoints and the binding read and write; onBackend() the copy the ops use, the same pointer for a backend
// with host memory. `write` says the caller will change it, so the other copy is stale until fetched again.
class ModelArray {
 public:
  explicit ModelArray(int64_t n);
  bool allocated() const { return host_ != nullptr; }
  void allocate();  // zeroed; no-op when allocated
  float* host(bool write);
  float* onBackend(const Backend& be, bool write);
  // Zero on whichever side the array is used (no copy).
  void zero(const Backend& be);
  // Brings the host copy up to date and frees the backend's (before the model changes backend).
  void dropBackendCopy();
  // Changes (to a number no array in the process had before) whenever a writable pointer is handed out or the array
  // is zeroed: equal versions mean equal contents, provided writers write through a pointer fetched for writing
  // before the next read (the same rule the backend copies rely on).
  uint64_t version() const { return version_; }
  // The host allocation as it is (no copy), null before allocate().
  const float* hostData() const { return host_.get(); }

 private:
  enum class Newer { Neither, Host, Backend };
  int64_t n_;
  HostFloats host_;
  BackendBuffer backend_;
  const Backend* backendTable_ = nullptr;
  Newer newer_ = Newer::Neither;
  uint64_t version_;
};

// timm's Mlp (fc1 -> exact GELU -> fc2), GluMlp with SiLU and gate_last=False ("SwiGLUPacked": fc1 produces
// [gate | value], fc2 takes hidden/2) or SwiGLU (separate fc1_g / fc1_x, fc2 takes hidden).
enum class MlpKind { Gelu, SwiGLUPacked, SwiGLU };

// What the encoder returns per image: the class token, the mean of the patch tokens (register and class
// tokens excluded, as timm does) or both concatenated [token | avg] (output dim 2 * embed_dim).
enum class GlobalPool { Token, Avg, TokenAvg };

// Field names follow timm's VisionTransformer constructor arguments so config.json maps one to one.
struct ViTConfig {
  int img_size = 224;
  int patch_size = 16;
  int in_chans = 3;  // only 3 (RGB) is supported
  int embed_dim = 768;
  int depth = 12;
  int num_heads = 12;
  double mlp_ratio = 4.0;  // hidden = int(embed_dim * mlp_ratio), as Python's int() truncates
  bool qkv_bias = true;
  float init_values = 0.0f;  // LayerScale init; 0 = no LayerScale (no ls1/ls2 parameters)
  int reg_tokens = 0;
  bool no_embed_class = false;  // true: pos_embed covers patch tokens only (prefix tokens get none)
  bool class_token = true;
  GlobalPool global_pool = GlobalPool::Token;
  // timm: fc_norm defaults to (global_pool == "avg"); then the final LayerNorm is applied to the pooled
  // vector ("fc_norm.*") instead of to every token ("norm.*"). Set explicitly by the config loader.
  bool fc_norm = false;
  float norm_eps = 1e-6f;  // timm ViT uses LayerNorm(eps=1e-6)
  MlpKind mlp = MlpKind::Gelu;
  float mean[3] = {0.485f, 0.456f, 0.406f};  // ImageNet defaults; pretrained_cfg overrides
  float std[3] = {0.229f, 0.224f, 0.225f};

  int gridSize() const { return img_size / patch_size; }
  int numPatches() const { return gridSize() * gridSize(); }
  int numPrefixTokens() const { return (class_token ? 1 : 0) + reg_tokens; }
  int numTokens() const { return numPrefixTokens() + numPatches(); }
  int posEmbedLen() const { return no_embed_class ? numPatches() : numTokens(); }
  int headDim() const { return embed_dim / num_heads; }
  int mlpHidden() const { return static_cast<int>(static_cast<double>(embed_dim) * mlp_ratio); }
  // Width of fc1's output (gate and value side by side for the SwiGLU: twice the hidden width).
  int64_t fc1Width() const { return mlp == MlpKind::SwiGLU ? 2LL * mlpHidden() : mlpHidden(); }
  // Width of the activation fed to fc2 (half of fc1's output for the packed SwiGLU).
  int mlpInner() const { return mlp == MlpKind::SwiGLUPacked ? mlpHidden() / 2 : mlpHidden(); }
  int outputDim() const { return global_pool == GlobalPool::TokenAvg ? 2 * embed_dim : embed_dim; }

  // Throws std::invalid_argument naming the first inconsistent field.
  void validate() const;
};

GlobalPool parseGlobalPool(const std::string& s);  // "token" | "avg" | "token+avg"; throws otherwise
std::string toString(GlobalPool p);

enum class TaskKind { Binary, Categorical };

struct TaskConfig {
  std::string name;  // used in parameter names (heads.<name>.weight); no '.' allowed
  TaskKind kind = TaskKind::Binary;
  int num_classes = 2;  // binary tasks use one logit whatever this says; categorical needs >= 2
  float loss_weight = 1.0f;
  int numOutputs() const { return kind == TaskKind::Binary ? 1 : num_classes; }
};

struct AggregatorConfig {
  int input_dim = 0;  // must equal the encoder's outputDim()
  int hidden_dim = 128;  // width of the tanh / sigmoid branches
  float dropout = 0.0f;  // on the pooled slide vector during training
  std::vector<TaskConfig> tasks;  // empty = encoder-only model (embedding, no aggregator parameters)

  bool enabled() const { return !tasks.empty(); }
  void validate() const;
};

// Which learning rate a parameter gets.
enum class ParamGroup { Encoder, Aggregator };

// A view of one named parameter inside the model's single allocation. `offset` indexes the flat arrays
// (params, grads, AdamW m and v all share it). `grad` is null until gradients are allocated.
struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;
  int64_t offset = 0;
  int64_t numel = 0;
  float* data = nullptr;
  float* grad = nullptr;
  bool decay = false;  // AdamW weight decay applies (matrices only: not biases, norms, tokens, pos_embed, gamma)
  ParamGroup group = ParamGroup::Encoder;
};

class Model {
 public:
  // Builds the parameter table and allocates parameters (zeroed). Throws std::invalid_argument on a bad
  // config. Call initRandom() or load weights afterwards.
  Model(const ViTConfig& vit, const AggregatorConfig& aggregator);
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ViTConfig& vit() const { return vit_; }
  const AggregatorConfig& aggregator() const { return agg_; }

  // All parameters in table order (encoder first, then aggregator, then heads), with host data and grad pointers
  // (fetched from the backend first where newer there, and marked written). Stable across calls.
  std::vector<NamedTensor> parameters();
  // The same table without data pointers (nothing is fetched).
  const std::vector<NamedTensor>& tensors() const { return table_; }
  // Null when no parameter has that name.
  const NamedTensor* find(const std::string& name) const;

  int64_t numParams() const { return numParams_; }
  // Host copies (see ModelArray): up to date, writable.
  float* params() { return params_.host(true); }
  const float* params() const { return params_.host(false); }

  // Gradients and AdamW state are allocated on first use (inference never pays for them).
  float* grads();  // allocates zeroed on first call
  bool hasGrads() const { return grads_.allocated(); }
  void zeroGrads();
  float* adamM();  // allocates zeroed on first call
  float* adamV();
  bool hasOptimizerState() const { return m_.allocated(); }

  // The backend the model computes on: the fp32 table of its family (cpuBackend() by default). setBackend moves
  // the arrays' working copies to the new backend's memory (fetching anything newer there first) and drops the
  // cached activations.
  const Backend& backend() const { return *backend_; }
  void setBackend(const Backend& be);
  // The encoder's table: the backend's bf16 table when bf16EncoderMatmuls is set.
  const Backend& encoderBackend() const { return bf16EncoderMatmuls ? *backend_->bf16 : *backend_; }
  // Copies in the backend's memory for the ops (the same pointers as params() etc. on the CPU). Reading parameters
  // does not mark them changed; gradients and moments are written by every caller.
  const float* paramsOnBackend() { return params_.onBackend(*backend_, false); }
  float* paramsOnBackendForUpdate() { return params_.onBackend(*backend_, true); }
  // See ModelArray::version: the CPU keeps the weights' packed GEMM panels between calls for as long as it is unchanged.
  uint64_t paramsVersion() const { return params_.version(); }
  float* gradsOnBackend();
  float* adamMOnBackend();
  float* adamVOnBackend();
  // Optimizer steps taken (AdamW bias correction and the lr schedule use it); checkpoints save it.
  int64_t step = 0;
  // Train-step calls whose gradients are waiting in grads() (gradient accumulation); checkpoints save it.
  int64_t pendingMicroSteps = 0;
  // The encoder's matrix products (linear layers, patch embedding; forward and backward) in bf16 with fp32
  // accumulation (cpuBf16Backend()); parameters, gradients, optimizer state and the aggregator stay fp32. A run-time
  // choice, off by default, not saved in checkpoints.
  bool bf16EncoderMatmuls = false;

  // Activation buffers kept from one call to the next (train.cpp: one for training steps, keep=true, one for
  // embedding, keep=false), so a step does not page-fault and zero hundreds of MiB afresh each time. Scratch,
  // not model state: checkpoints ignore it; it goes with the model. The caller replaces an entry whose size
  // does not fit.
  std::unique_ptr<EncoderActivations>& cachedActivations(bool keep) { return keep ? trainActs_ : embedActs_; }

  // timm-like init: trunc_normal(std=.02) for matrices, tokens and pos_embed (cls/reg 1e-6 as timm), zeros
  // for biases, ones for norm weights, init_values for LayerScale gammas. Deterministic for a seed.
  void initRandom(uint64_t seed);

  // Named pointers into params() for the forward/backward code (same layout for grads via offset).
  struct BlockOffsets {
    int64_t norm1_w, norm1_b, qkv_w, qkv_b, proj_w, proj_b, ls1, norm2_w, norm2_b, fc1_w, fc1_b, fc2_w, fc2_b,
        ls2;  // -1 where absent (qkv_b without qkv_bias, ls1/ls2 without LayerScale)
  };
  struct EncoderOffsets {
    int64_t patch_w, patch_b, cls_token, reg_token, pos_embed;
    std::vector<BlockOffsets> blocks;
    int64_t norm_w, norm_b;  // "norm.*" or "fc_norm.*" per ViTConfig::fc_norm
  };
  struct HeadOffsets {
    int64_t w, b;
  };
  struct AggregatorOffsets {
    int64_t a_w, a_b, b_w, b_b, c_w, c_b;  // c_b is -1 (attention_c has no bias)
    std::vector<HeadOffsets> heads;  // one per task, in AggregatorConfig::tasks order
  };
  const EncoderOffsets& encoderOffsets() const { return enc_; }
  const AggregatorOffsets& aggregatorOffsets() const { return aggOff_; }
  // Flat range of encoder parameters [0, numEncoderParams()) and aggregator ones after it.
  int64_t numEncoderParams() const { return numEncoderParams_; }

 private:
  int64_t add(const std::string& name, std::vector<int64_t> shape, bool decay, ParamGroup group);

  ViTConfig vit_;
  AggregatorConfig agg_;
  std::vector<NamedTensor> table_;  // data/grad pointers filled in by parameters()
  int64_t numParams_ = 0;
  int64_t numEncoderParams_ = 0;
  EncoderOffsets enc_{};
  AggregatorOffsets aggOff_{};
  const Backend* backend_;
  // mutable: a const read of the host copy may fetch it from the backend first
  mutable ModelArray params_{0}, grads_{0}, m_{0}, v_{0};
  std::unique_ptr<EncoderActivations> trainActs_, embedActs_;
};

}  // namespace tessera
