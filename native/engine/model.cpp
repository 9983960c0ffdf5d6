// Model: the parameter table (timm names), the single allocation behind it, and a timm-like random init.
#include "model.h"

#include <atomic>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "gemm.h"
#include "rng.h"
#include "threads.h"
#include "vit.h"

namespace tessera {

namespace {
std::string fmt(const char* what, long long v) { return std::string(what) + " (got " + std::to_string(v) + ")"; }
}  // namespace

GlobalPool parseGlobalPool(const std::string& s) {
  if (s == "token") return GlobalPool::Token;
  if (s == "avg") return GlobalPool::Avg;
  if (s == "token+avg") return GlobalPool::TokenAvg;
  throw std::invalid_argument("Unknown global_pool \"" + s + "\" (expected token, avg or token+avg).");
}

std::string toString(GlobalPool p) {
  switch (p) {
    case GlobalPool::Token: return "token";
    case GlobalPool::Avg: return "avg";
    case GlobalPool::TokenAvg: return "token+avg";
  }
  return "?";
}

void ViTConfig::validate() const {
  if (in_chans != 3) throw std::invalid_argument(fmt("in_chans must be 3 (RGB)", in_chans));
  if (patch_size <= 0) throw std::invalid_argument(fmt("patch_size must be positive", patch_size));
  if (img_size <= 0 || img_size % patch_size != 0)
    throw std::invalid_argument("img_size must be a positive multiple of patch_size (got img_size " +
                                std::to_string(img_size) + ", patch_size " + std::to_string(patch_size) + ").");
  if (embed_dim <= 0) throw std::invalid_argument(fmt("embed_dim must be positive", embed_dim));
  if (depth < 0) throw std::invalid_argument(fmt("depth must not be negative", depth));
  if (num_heads <= 0 || embed_dim % num_heads != 0)
    throw std::invalid_argument("embed_dim must be divisible by num_heads (got embed_dim " +
                                std::to_string(embed_dim) + ", num_heads " + std::to_string(num_heads) + ").");
  if (!(mlp_ratio > 0.0) || mlpHidden() <= 0) throw std::invalid_argument("mlp_ratio must be positive.");
  if (mlp == MlpKind::SwiGLUPacked && mlpHidden() % 2 != 0)
    throw std::invalid_argument(fmt("the packed SwiGLU needs an even MLP hidden width", mlpHidden()));
  if (reg_tokens < 0) throw std::invalid_argument(fmt("reg_tokens must not be negative", reg_tokens));
  if (init_values < 0) throw std::invalid_argument("init_values must not be negative.");
  if (!class_token && (global_pool == GlobalPool::Token || global_pool == GlobalPool::TokenAvg))
    throw std::invalid_argument("global_pool \"" + toString(global_pool) + "\" needs class_token.");
  if (!(norm_eps > 0)) throw std::invalid_argument("norm eps must be positive.");
  for (int c = 0; c < 3; c++)
    if (!(std[c] > 0)) throw std::invalid_argument("the normalisation std must be positive.");
}

void AggregatorConfig::validate() const {
  if (!enabled()) return;
  if (input_dim <= 0) throw std::invalid_argument(fmt("aggregator input_dim must be positive", input_dim));
  if (hidden_dim <= 0) throw std::invalid_argument(fmt("aggregator hidden_dim must be positive", hidden_dim));
  if (!(dropout >= 0.0f && dropout < 1.0f)) throw std::invalid_argument("aggregator dropout must be in [0, 1).");
  for (size_t i = 0; i < tasks.size(); i++) {
    const TaskConfig& t = tasks[i];
    if (t.name.empty() || t.name.find('.') != std::string::npos)
      throw std::invalid_argument("Task name \"" + t.name + "\" must be non-empty and contain no '.'.");
    for (size_t j = 0; j < i; j++)
      if (tasks[j].name == t.name) throw std::invalid_argument("Task name \"" + t.name + "\" is used twice.");
    if (t.kind == TaskKind::Categorical && t.num_classes < 2)
      throw std::invalid_argument("Categorical task \"" + t.name + "\" needs at least 2 classes.");
    if (!(t.loss_weight >= 0)) throw std::invalid_argument("Task \"" + t.name + "\" has a negative loss weight.");
  }
}

namespace {
uint64_t nextArrayVersion() {
  static std::atomic<uint64_t> counter{0};
  return ++counter;
}
}  // namespace

ModelArray::ModelArray(int64_t n) : n_(n), version_(nextArrayVersion()) {}

void ModelArray::allocate() {
  if (!host_) {
    host_ = allocHostFloats(static_cast<size_t>(n_));
    std::memset(host_.get(), 0, sizeof(float) * static_cast<size_t>(n_));
  }
}

float* ModelArray::host(bool write) {
  allocate();
  if (newer_ == Newer::Backend) {
    backendTable_->copy_to_host(host_.get(), backend_.data(), sizeof(float) * static_cast<size_t>(n_));
    newer_ = Newer::Neither;
  }
  if (write && backend_.data()) newer_ = Newer::Host;
  if (write) version_ = nextArrayVersion();
  return host_.get();
}

float* ModelArray::onBackend(const Backend& be, bool write) {
  if (be.hostMemory) return host(write);
  allocate();
  if (!backend_.data()) {
    backend_ = BackendBuffer(be, sizeof(float) * static_cast<size_t>(n_));
    backendTable_ = &be;
    newer_ = Newer::Host;
  }
  if (newer_ == Newer::Host) {
    be.copy_to_device(backend_.data(), host_.get(), sizeof(float) * static_cast<size_t>(n_));
    newer_ = Newer::Neither;
  }
  if (write) {
    newer_ = Newer::Backend;
    version_ = nextArrayVersion();
  }
  return backend_.f32();
}

void ModelArray::zero(const Backend& be) {
  allocate();
  version_ = nextArrayVersion();
  if (be.hostMemory || !backend_.data()) {
    parallelZero(host_.get(), n_);
    if (backend_.data()) newer_ = Newer::Host;
    return;
  }
  be.zero(backend_.data(), sizeof(float) * static_cast<size_t>(n_));
  newer_ = Newer::Backend;
}

void ModelArray::dropBackendCopy() {
  if (!backend_.data()) return;
  host(false);
  backend_.reset();
  backendTable_ = nullptr;
  newer_ = Newer::Neither;
}

int64_t Model::add(const std::string& name, std::vector<int64_t> shape, bool decay, ParamGroup group) {
  NamedTensor t;
  t.name = name;
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  t.shape = std::move(shape);
  t.offset = numParams_;
  t.numel = n;
  t.decay = decay;
  t.group = group;
  table_.push_back(std::move(t));
  numParams_ += n;
  return table_.back().offset;
}

Model::Model(const ViTConfig& vit, const AggregatorConfig& aggregator)
    : vit_(vit), agg_(aggregator), backend_(&cpuBackend()) {
  vit_.validate();
  agg_.validate();
  if (agg_.enabled() && agg_.input_dim != vit_.outputDim())
    throw std::invalid_argument("aggregator input_dim " + std::to_string(agg_.input_dim) +
                                " does not match the encoder output dim " + std::to_string(vit_.outputDim()) + ".");
  const int64_t D = vit_.embed_dim, p = vit_.patch_size, Hf = vit_.mlpHidden(), Hi = vit_.mlpInner();
  const ParamGroup E = ParamGroup::Encoder;
  // Order follows timm's state_dict order so a saved file reads naturally.
  if (vit_.class_token) enc_.cls_token = add("cls_token", {1, 1, D}, false, E);
  else enc_.cls_token = -1;
  enc_.reg_token = vit_.reg_tokens > 0 ? add("reg_token", {1, vit_.reg_tokens, D}, false, E) : -1;
  enc_.pos_embed = add("pos_embed", {1, vit_.posEmbedLen(), D}, false, E);
  enc_.patch_w = add("patch_embed.proj.weight", {D, 3, p, p}, true, E);
  enc_.patch_b = add("patch_embed.proj.bias", {D}, false, E);
  for (int l = 0; l < vit_.depth; l++) {
    const std::string b = "blocks." + std::to_string(l) + ".";
    BlockOffsets o{};
    o.norm1_w = add(b + "norm1.weight", {D}, false, E);
    o.norm1_b = add(b + "norm1.bias", {D}, false, E);
    o.qkv_w = add(b + "attn.qkv.weight", {3 * D, D}, true, E);
    o.qkv_b = vit_.qkv_bias ? add(b + "attn.qkv.bias", {3 * D}, false, E) : -1;
    o.proj_w = add(b + "attn.proj.weight", {D, D}, true, E);
    o.proj_b = add(b + "attn.proj.bias", {D}, false, E);
    o.ls1 = vit_.init_values > 0 ? add(b + "ls1.gamma", {D}, false, E) : -1;
    o.norm2_w = add(b + "norm2.weight", {D}, false, E);
    o.norm2_b = add(b + "norm2.bias", {D}, false, E);
    if (vit_.mlp == MlpKind::SwiGLU) {
      // fc1_g and fc1_x are adjacent, so together they are the packed [gate | value] matrix of
      // SwiGLUPacked and one code path serves both (biases likewise).
      o.fc1_w = add(b + "mlp.fc1_g.weight", {Hf, D}, true, E);
      add(b + "mlp.fc1_x.weight", {Hf, D}, true, E);
      o.fc1_b = add(b + "mlp.fc1_g.bias", {Hf}, false, E);
      add(b + "mlp.fc1_x.bias", {Hf}, false, E);
    } else {
      o.fc1_w = add(b + "mlp.fc1.weight", {Hf, D}, true, E);
      o.fc1_b = add(b + "mlp.fc1.bias", {Hf}, false, E);
    }
    o.fc2_w = add(b + "mlp.fc2.weight", {D, Hi}, true, E);
    o.fc2_b = add(b + "mlp.fc2.bias", {D}, false, E);
    o.ls2 = vit_.init_values > 0 ? add(b + "ls2.gamma", {D}, false, E) : -1;
    enc_.blocks.push_back(o);
  }
  const std::string normName = vit_.fc_norm ? "fc_norm" : "norm";
  enc_.norm_w = add(normName + ".weight", {D}, false, E);
  enc_.norm_b = add(normName + ".bias", {D}, false, E);
  numEncoderParams_ = numParams_;

  if (agg_.enabled()) {
    const int64_t Din = agg_.input_dim, Dh = agg_.hidden_dim;
    const ParamGroup A = ParamGroup::Aggregator;
    aggOff_.a_w = add("aggregator.attention_a.weight", {Dh, Din}, true, A);
    aggOff_.a_b = add("aggregator.attention_a.bias", {Dh}, false, A);
    aggOff_.b_w = add("aggregator.attention_b.weight", {Dh, Din}, true, A);
    aggOff_.b_b = add("aggregator.attention_b.bias", {Dh}, false, A);
    // No bias on attention_c (as in Ilse et al.): the softmax over patches is shift-invariant, so a bias
    // would get an identically zero gradient.
    aggOff_.c_w = add("aggregator.attention_c.weight", {1, Dh}, true, A);
    aggOff_.c_b = -1;
    for (const TaskConfig& t : agg_.tasks) {
      HeadOffsets h{};
      h.w = add("heads." + t.name + ".weight", {t.numOutputs(), Din}, true, A);
      h.b = add("heads." + t.name + ".bias", {t.numOutputs()}, false, A);
      aggOff_.heads.push_back(h);
    }
  }
  params_ = ModelArray(numParams_);
  grads_ = ModelArray(numParams_);
  m_ = ModelArray(numParams_);
  v_ = ModelArray(numParams_);
  params_.allocate();
}

Model::~Model() {
  releasePackedWeights(params_.hostData());  // the CPU's kept panels of these weights, if any
}

std::vector<NamedTensor> Model::parameters() {
  std::vector<NamedTensor> out = table_;
  float* p = params_.host(true);
  float* g = grads_.allocated() ? grads_.host(true) : nullptr;
  for (NamedTensor& t : out) {
    t.data = p + t.offset;
    t.grad = g ? g + t.offset : nullptr;
  }
  return out;
}

const NamedTensor* Model::find(const std::string& name) const {
  for (const NamedTensor& t : table_)
    if (t.name == name) return &t;
  return nullptr;
}

float* Model::grads() {
  grads_.allocate();
  return grads_.host(true);
}

void Model::zeroGrads() {
  if (grads_.allocated()) grads_.zero(*backend_);
}

float* Model::adamM() {
  m_.allocate();
  v_.allocate();
  return m_.host(true);
}

float* Model::adamV() {
  adamM();
  return v_.host(true);
}

float* Model::gradsOnBackend() {
  grads_.allocate();
  return grads_.onBackend(*backend_, true);
}

float* Model::adamMOnBackend() {
  adamM();
  return m_.onBackend(*backend_, true);
}

float* Model::adamVOnBackend() {
  adamM();
  return v_.onBackend(*backend_, true);
}

void Model::setBackend(const Backend& be) {
  const Backend* table = be.fp32;
  if (table == backend_) return;
  trainActs_.reset();
  embedActs_.reset();
  for (ModelArray* a : {&params_, &grads_, &m_, &v_}) a->dropBackendCopy();
  backend_ = table;
}

void Model::initRandom(uint64_t seed) {
  Rng rng(seed);
  float* p = params();
  for (const NamedTensor& t : table_) {
    float* d = p + t.offset;
    const std::string& n = t.name;
    auto endsWith = [&](const char* s) {
      size_t k = std::strlen(s);
      return n.size() >= k && n.compare(n.size() - k, k, s) == 0;
    };
    if (endsWith(".gamma")) {
      for (int64_t i = 0; i < t.numel; i++) d[i] = vit_.init_values;
    } else if (n == "cls_token" || n == "reg_token") {
      for (int64_t i = 0; i < t.numel; i++) d[i] = 1e-6f * rng.truncNormal();
    } else if (t.decay || n == "pos_embed") {
      for (int64_t i = 0; i < t.numel; i++) d[i] = 0.02f * rng.truncNormal();
    } else if (endsWith("norm1.weight") || endsWith("norm2.weight") || n == "norm.weight" ||
               n == "fc_norm.weight") {
      for (int64_t i = 0; i < t.numel; i++) d[i] = 1.0f;
    } else {
      for (int64_t i = 0; i < t.numel; i++) d[i] = 0.0f;
    }
  }
}

}  // namespace tessera
