// timm Hugging Face config.json → EncoderSpec; see config.h for the precedence rules.
#include "config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace tessera {

namespace {

// timm.data constants.
constexpr float kImagenetMean[3] = {0.485f, 0.456f, 0.406f};
constexpr float kImagenetStd[3] = {0.229f, 0.224f, 0.225f};
constexpr float kInceptionMean[3] = {0.5f, 0.5f, 0.5f};
constexpr float kInceptionStd[3] = {0.5f, 0.5f, 0.5f};

// One registered timm architecture: the model_args its factory passes (checked against
// timm/models/vision_transformer.py) and the defaults of its default pretrained tag.
struct Architecture {
  const char* name;
  int patch_size, embed_dim, depth, num_heads;
  double mlp_ratio;
  float init_values;  // 0 = no LayerScale
  int img_size;  // 0 = not set by the factory (VisionTransformer default or pretrained_cfg)
  MlpKind mlp;
  int reg_tokens;
  bool no_embed_class;
  bool imagenetStats;  // default tag normalises with ImageNet mean/std (else Inception 0.5/0.5)
  double crop_pct;
  int cfg_input_size;  // default tag's input_size
};

// mlp_ratio 2.66667 * 2 is what timm writes for the DINOv2 giant (int(1536 * 5.33334) = 8192, packed
// SwiGLU: 4096 gate + 4096 value).
const Architecture kArchitectures[] = {
    {"vit_tiny_patch16_224", 16, 192, 12, 3, 4.0, 0.0f, 0, MlpKind::Gelu, 0, false, false, 0.9, 224},
    {"vit_small_patch16_224", 16, 384, 12, 6, 4.0, 0.0f, 0, MlpKind::Gelu, 0, false, false, 0.9, 224},
    {"vit_base_patch16_224", 16, 768, 12, 12, 4.0, 0.0f, 0, MlpKind::Gelu, 0, false, false, 0.9, 224},
    {"vit_large_patch16_224", 16, 1024, 24, 16, 4.0, 0.0f, 0, MlpKind::Gelu, 0, false, false, 0.9, 224},
    {"vit_huge_patch14_224", 14, 1280, 32, 16, 4.0, 0.0f, 0, MlpKind::Gelu, 0, false, true, 0.9, 224},
    {"vit_giant_patch14_224", 14, 1408, 40, 16, 48.0 / 11.0, 0.0f, 0, MlpKind::Gelu, 0, false, false, 0.9, 224},
    {"vit_small_patch14_dinov2", 14, 384, 12, 6, 4.0, 1e-5f, 518, MlpKind::Gelu, 0, false, true, 1.0, 518},
    {"vit_base_patch14_dinov2", 14, 768, 12, 12, 4.0, 1e-5f, 518, MlpKind::Gelu, 0, false, true, 1.0, 518},
    {"vit_large_patch14_dinov2", 14, 1024, 24, 16, 4.0, 1e-5f, 518, MlpKind::Gelu, 0, false, true, 1.0, 518},
    {"vit_giant_patch14_dinov2", 14, 1536, 40, 24, 2.66667 * 2, 1e-5f, 518, MlpKind::SwiGLUPacked, 0, false, true, 1.0,
     518},
    {"vit_small_patch14_reg4_dinov2", 14, 384, 12, 6, 4.0, 1e-5f, 0, MlpKind::Gelu, 4, true, true, 1.0, 518},
    {"vit_base_patch14_reg4_dinov2", 14, 768, 12, 12, 4.0, 1e-5f, 0, MlpKind::Gelu, 4, true, true, 1.0, 518},
};

const Architecture* findArchitecture(const std::string& name) {
  // Hub configs sometimes carry the pretrained tag ("vit_base_patch16_224.augreg_in21k"): strip it.
  std::string base = name.substr(0, name.find('.'));
  for (const auto& a : kArchitectures) {
    if (base == a.name) return &a;
  }
  return nullptr;
}

// model_args keys that only affect training-time regularisation or the classifier head, which the
// engine replaces with its own aggregator: accepted and ignored.
const std::set<std::string> kIgnoredArgs = {"num_classes",   "drop_rate",      "pos_drop_rate", "patch_drop_rate",
                                            "proj_drop_rate", "attn_drop_rate", "drop_path_rate", "weight_init",
                                            "fix_init",       "pretrained_strict"};

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& why) const {
    throw ConfigError("Model config " + source_ + " is not usable: " + why + ".");
  }

  int integer(const Json& v, const std::string& field) const {
    try {
      return static_cast<int>(v.asInt());
    } catch (const JsonError&) {
      fail(field + " must be an integer");
    }
  }
  double number(const Json& v, const std::string& field) const {
    if (!v.isNumber()) fail(field + " must be a number");
    return v.asNumber();
  }
  bool boolean(const Json& v, const std::string& field) const {
    if (!v.isBool()) fail(field + " must be true or false");
    return v.asBool();
  }
  const std::string& string(const Json& v, const std::string& field) const {
    if (!v.isString()) fail(field + " must be a string");
    return v.asString();
  }
  // timm accepts an int or an (h, w) pair for sizes; the engine needs square inputs.
  int squareSize(const Json& v, const std::string& field) const {
    if (v.isArray()) {
      const auto& items = v.items();
      if (items.size() != 2) fail(field + " must be an integer or a pair");
      int h = integer(items[0], field), w = integer(items[1], field);
      if (h != w) fail(field + " is " + std::to_string(h) + "x" + std::to_string(w) + "; only square sizes are supported");
      return h;
    }
    return integer(v, field);
  }
  void triple(const Json& v, const std::string& field, float out[3]) const {
    if (!v.isArray() || v.items().size() != 3) fail(field + " must be a list of three numbers");
    for (int i = 0; i < 3; ++i) out[i] = static_cast<float>(number(v.items()[i], field));
  }

 private:
  std::string source_;
};

// Python class paths or short names, as they appear in published configs ("timm.layers.SwiGLUPacked",
// "torch.nn.SiLU", "swiglu").
std::string normaliseLayerName(std::string s) {
  auto dot = s.rfind('.');
  if (dot != std::string::npos) s = s.substr(dot + 1);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
  return s;
}

}  // namespace

std::string knownArchitectures() {
  std::string out;
  for (const auto& a : kArchitectures) {
    if (!out.empty()) out += ", ";
    out += a.name;
  }
  return out;
}

EncoderSpec parseTimmConfig(const Json& doc, const std::string& source) {
  Reader r(source);
  if (!doc.isObject()) r.fail("the file is not a JSON object");
  EncoderSpec spec;
  ViTConfig& v = spec.vit;

  const Json* archField = doc.find("architecture");
  if (!archField) r.fail("it has no \"architecture\" field (expected a timm name such as vit_small_patch16_224)");
  spec.architecture = r.string(*archField, "architecture");
  const Architecture* arch = findArchitecture(spec.architecture);
  const Json* modelArgs = doc.find("model_args");
  if (modelArgs && !modelArgs->isObject()) r.fail("model_args must be an object");
  const Json* pcfg = doc.find("pretrained_cfg");
  if (pcfg && !pcfg->isObject()) r.fail("pretrained_cfg must be an object");

  // Architecture defaults. An unknown name is accepted only when model_args spell out the dimensions,
  // as timm itself would fail to build it otherwise.
  bool imagenetStats = true;
  int archImgSize = 0;
  int cfgInputSize = 224;
  if (arch) {
    v.patch_size = arch->patch_size;
    v.embed_dim = arch->embed_dim;
    v.depth = arch->depth;
    v.num_heads = arch->num_heads;
    v.mlp_ratio = arch->mlp_ratio;
    v.init_values = arch->init_values;
    v.mlp = arch->mlp;
    v.reg_tokens = arch->reg_tokens;
    v.no_embed_class = arch->no_embed_class;
    archImgSize = arch->img_size;
    imagenetStats = arch->imagenetStats;
    spec.crop_pct = arch->crop_pct;
    cfgInputSize = arch->cfg_input_size;
  } else {
    for (const char* k : {"embed_dim", "depth", "num_heads", "patch_size"}) {
      if (!modelArgs || !modelArgs->find(k)) {
        r.fail("architecture \"" + spec.architecture + "\" is not one the engine knows (" + knownArchitectures() +
               ") and model_args does not give " + k);
      }
    }
  }

  // pretrained_cfg: normalisation and evaluation transform, the source of img_size when the weights need
  // a fixed input size, and of global_pool when model_args leaves it out. A file with a pretrained_cfg
  // gets timm's PretrainedCfg defaults for absent fields; a file without one gets the architecture's
  // default tag (fixed_input_size is true for every ViT tag).
  float mean[3], stdev[3];
  int pcfgInputSize = cfgInputSize;
  bool fixedInputSize = true;
  if (pcfg) {
    imagenetStats = true;
    pcfgInputSize = 224;
    fixedInputSize = false;
    spec.crop_pct = 0.875;
  }
  std::copy(imagenetStats ? kImagenetMean : kInceptionMean, (imagenetStats ? kImagenetMean : kInceptionMean) + 3, mean);
  std::copy(imagenetStats ? kImagenetStd : kInceptionStd, (imagenetStats ? kImagenetStd : kInceptionStd) + 3, stdev);
  std::string pcfgGlobalPool;
  if (pcfg) {
    if (const Json* m = pcfg->find("mean")) r.triple(*m, "pretrained_cfg.mean", mean);
    if (const Json* s = pcfg->find("std")) r.triple(*s, "pretrained_cfg.std", stdev);
    if (const Json* is = pcfg->find("input_size")) {
      if (!is->isArray() || is->items().size() != 3) r.fail("pretrained_cfg.input_size must be [channels, height, width]");
      int c = r.integer(is->items()[0], "pretrained_cfg.input_size");
      int h = r.integer(is->items()[1], "pretrained_cfg.input_size");
      int w = r.integer(is->items()[2], "pretrained_cfg.input_size");
      if (c != 3) r.fail("pretrained_cfg.input_size has " + std::to_string(c) + " channels; only RGB (3) is supported");
      if (h != w) r.fail("pretrained_cfg.input_size is " + std::to_string(h) + "x" + std::to_string(w) + "; only square inputs are supported");
      pcfgInputSize = h;
    }
    if (const Json* f = pcfg->find("fixed_input_size")) fixedInputSize = r.boolean(*f, "pretrained_cfg.fixed_input_size");
    if (const Json* c = pcfg->find("crop_pct")) {
      if (!c->isNull()) spec.crop_pct = r.number(*c, "pretrained_cfg.crop_pct");
    }
    if (const Json* i = pcfg->find("interpolation")) spec.interpolation = r.string(*i, "pretrained_cfg.interpolation");
    if (const Json* g = pcfg->find("global_pool")) {
      if (g->isString()) pcfgGlobalPool = g->asString();
    }
  }
  for (int i = 0; i < 3; ++i) {
    if (!(stdev[i] > 0)) r.fail("pretrained_cfg.std must be positive");
    v.mean[i] = mean[i];
    v.std[i] = stdev[i];
  }

  // Image size: model_args > architecture > pretrained_cfg.input_size (fixed_input_size) > 224.
  v.img_size = archImgSize ? archImgSize : (fixedInputSize ? pcfgInputSize : 224);

  std::string globalPool = pcfgGlobalPool.empty() ? "token" : pcfgGlobalPool;
  const Json* fcNormArg = nullptr;
  std::string mlpLayer, actLayer;
  std::vector<std::string> unsupported;
  if (modelArgs) {
    for (const auto& kv : modelArgs->members()) {
      const std::string& k = kv.first;
      const Json& val = kv.second;
      const std::string field = "model_args." + k;
      if (k == "img_size") v.img_size = r.squareSize(val, field);
      else if (k == "patch_size") v.patch_size = r.squareSize(val, field);
      else if (k == "embed_dim") v.embed_dim = r.integer(val, field);
      else if (k == "depth") v.depth = r.integer(val, field);
      else if (k == "num_heads") v.num_heads = r.integer(val, field);
      else if (k == "mlp_ratio") v.mlp_ratio = r.number(val, field);
      else if (k == "qkv_bias") v.qkv_bias = r.boolean(val, field);
      else if (k == "init_values") v.init_values = val.isNull() ? 0.0f : static_cast<float>(r.number(val, field));
      else if (k == "reg_tokens") v.reg_tokens = r.integer(val, field);
      else if (k == "no_embed_class") v.no_embed_class = r.boolean(val, field);
      else if (k == "class_token") v.class_token = r.boolean(val, field);
      else if (k == "global_pool") globalPool = r.string(val, field);
      else if (k == "fc_norm") fcNormArg = &val;
      else if (k == "dynamic_img_size") spec.dynamic_img_size = r.boolean(val, field);
      else if (k == "mlp_layer") mlpLayer = normaliseLayerName(r.string(val, field));
      else if (k == "act_layer") actLayer = normaliseLayerName(r.string(val, field));
      else if (k == "in_chans") {
        if (r.integer(val, field) != 3) r.fail(field + " must be 3 (RGB)");
      } else if (k == "pos_embed") {
        if (r.string(val, field) != "learn") r.fail(field + " must be \"learn\"");
      } else if (k == "pre_norm" || k == "qk_norm" || k == "dynamic_img_pad" || k == "scale_attn_norm" ||
                 k == "scale_mlp_norm") {
        if (r.boolean(val, field)) unsupported.push_back(k + "=true");
      } else if (k == "final_norm" || k == "proj_bias") {
        if (!r.boolean(val, field)) unsupported.push_back(k + "=false");
      } else if (k == "pool_include_prefix") {
        if (r.boolean(val, field)) unsupported.push_back(k + "=true");
      } else if (kIgnoredArgs.count(k)) {
        continue;
      } else {
        unsupported.push_back(k);
      }
    }
  }
  if (!unsupported.empty()) {
    std::string list;
    for (const auto& u : unsupported) list += (list.empty() ? "" : ", ") + u;
    r.fail("model_args uses options the engine does not implement: " + list);
  }

  // Global pool. timm: "token" = class token, "avg" = mean of patch tokens; "token+avg" is Tessera's own
  // (class token and patch mean concatenated, as some pathology models are used).
  try {
    v.global_pool = parseGlobalPool(globalPool);
  } catch (const std::exception&) {
    r.fail("global_pool \"" + globalPool + "\" is not supported (use \"token\", \"avg\" or \"token+avg\")");
  }
  v.fc_norm = fcNormArg && !fcNormArg->isNull() ? r.boolean(*fcNormArg, "model_args.fc_norm")
                                               : v.global_pool == GlobalPool::Avg;
  if (!v.class_token && v.global_pool != GlobalPool::Avg) r.fail("class_token=false needs global_pool \"avg\"");

  // MLP: timm's Block passes act_layer into whatever mlp_layer is, so a GLU layer is SwiGLU only with SiLU.
  bool silu = actLayer == "silu" || actLayer == "swish";
  bool gelu = actLayer.empty() || actLayer == "gelu";
  if (!mlpLayer.empty()) {
    if (mlpLayer == "mlp") v.mlp = MlpKind::Gelu;
    else if (mlpLayer == "swiglupacked") v.mlp = MlpKind::SwiGLUPacked;
    else if (mlpLayer == "swiglu") v.mlp = MlpKind::SwiGLU;
    else r.fail("mlp_layer \"" + mlpLayer + "\" is not supported (Mlp, SwiGLUPacked or SwiGLU)");
  }
  if (!actLayer.empty() && !silu && !gelu) r.fail("act_layer \"" + actLayer + "\" is not supported (GELU or SiLU)");
  if (v.mlp == MlpKind::Gelu && silu) r.fail("act_layer SiLU with a plain Mlp is not supported (GELU only)");
  if (v.mlp != MlpKind::Gelu && !actLayer.empty() && !silu) {
    r.fail("mlp_layer SwiGLU needs act_layer SiLU (GELU-gated units are not supported)");
  }
  if (v.mlp != MlpKind::Gelu && actLayer.empty() && !(arch && arch->mlp != MlpKind::Gelu)) {
    r.fail("mlp_layer SwiGLU needs act_layer SiLU; timm would use GELU here, which the engine does not implement");
  }

  // The engine runs at the model's img_size (a checkpoint's position embedding is resampled to it), so
  // preprocessing produces that size whatever pretrained_cfg.input_size says.
  spec.input_size = v.img_size;
  if (!(spec.crop_pct > 0 && spec.crop_pct <= 1.0)) r.fail("pretrained_cfg.crop_pct must be in (0, 1]");

  try {
    v.validate();
  } catch (const std::exception& e) {
    r.fail(e.what());
  }
  return spec;
}

EncoderSpec parseTimmConfigText(const std::string& text, const std::string& source) {
  Json doc;
  try {
    doc = Json::parse(text);
  } catch (const JsonError& e) {
    throw ConfigError("Model config " + source + " is not valid JSON: " + e.what() + ".");
  }
  return parseTimmConfig(doc, source);
}

EncoderSpec loadTimmConfig(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw ConfigError("Cannot open model config " + path + ".");
  std::stringstream ss;
  ss << f.rdbuf();
  return parseTimmConfigText(ss.str(), path);
}

static const char* mlpLayerName(MlpKind k) {
  switch (k) {
    case MlpKind::Gelu: return "Mlp";
    case MlpKind::SwiGLUPacked: return "SwiGLUPacked";
    case MlpKind::SwiGLU: return "SwiGLU";
  }
  return "Mlp";
}

Json encoderSpecToTimmJson(const EncoderSpec& spec) {
  const ViTConfig& v = spec.vit;
  Json doc = Json::object();
  doc.set("architecture", Json(spec.architecture.empty() ? std::string("vit_base_patch16_224") : spec.architecture));
  doc.set("num_classes", Json(0));
  doc.set("num_features", Json(v.outputDim()));
  doc.set("global_pool", Json(toString(v.global_pool)));
  Json args = Json::object();
  args.set("img_size", Json(v.img_size));
  args.set("patch_size", Json(v.patch_size));
  args.set("embed_dim", Json(v.embed_dim));
  args.set("depth", Json(v.depth));
  args.set("num_heads", Json(v.num_heads));
  args.set("mlp_ratio", Json(v.mlp_ratio));
  args.set("qkv_bias", Json(v.qkv_bias));
  args.set("init_values", v.init_values > 0 ? Json(static_cast<double>(v.init_values)) : Json(nullptr));
  args.set("reg_tokens", Json(v.reg_tokens));
  args.set("no_embed_class", Json(v.no_embed_class));
  args.set("class_token", Json(v.class_token));
  args.set("global_pool", Json(toString(v.global_pool)));
  args.set("fc_norm", Json(v.fc_norm));
  args.set("mlp_layer", Json(mlpLayerName(v.mlp)));
  args.set("act_layer", Json(v.mlp == MlpKind::Gelu ? "GELU" : "SiLU"));
  args.set("dynamic_img_size", Json(spec.dynamic_img_size));
  args.set("num_classes", Json(0));
  doc.set("model_args", std::move(args));
  Json p = Json::object();
  Json inputSize = Json::array();
  inputSize.push(Json(3));
  inputSize.push(Json(spec.input_size));
  inputSize.push(Json(spec.input_size));
  p.set("input_size", std::move(inputSize));
  p.set("fixed_input_size", Json(true));
  p.set("interpolation", Json(spec.interpolation));
  p.set("crop_pct", Json(spec.crop_pct));
  p.set("crop_mode", Json("center"));
  Json mean = Json::array(), stdev = Json::array();
  for (int i = 0; i < 3; ++i) {
    mean.push(Json(static_cast<double>(v.mean[i])));
    stdev.push(Json(static_cast<double>(v.std[i])));
  }
  p.set("mean", std::move(mean));
  p.set("std", std::move(stdev));
  p.set("num_classes", Json(0));
  doc.set("pretrained_cfg", std::move(p));
  return doc;
}

}  // namespace tessera
