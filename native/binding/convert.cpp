// JS <-> engine struct conversions; see convert.h.
#include "convert.h"

#include <cmath>

namespace tessera_binding {

using tessera::GlobalPool;
using tessera::MlpKind;

namespace {

[[noreturn]] void typeError(Napi::Env env, const std::string& msg) { throw Napi::TypeError::New(env, msg); }

std::string mlpName(MlpKind k) {
  switch (k) {
    case MlpKind::Gelu: return "gelu";
    case MlpKind::SwiGLUPacked: return "swiglu_packed";
    case MlpKind::SwiGLU: return "swiglu";
  }
  return "gelu";
}

void tripleField(const Napi::Object& o, const char* name, float out[3], const char* where) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined()) return;
  if (!v.IsArray() || v.As<Napi::Array>().Length() != 3) {
    typeError(o.Env(), std::string(where) + "." + name + " must be an array of three numbers.");
  }
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < 3; ++i) {
    Napi::Value e = a.Get(i);
    if (!e.IsNumber()) typeError(o.Env(), std::string(where) + "." + name + " must be an array of three numbers.");
    out[i] = e.As<Napi::Number>().FloatValue();
  }
}

}  // namespace

double numberField(const Napi::Object& o, const char* name, double fallback, const char* where) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber()) typeError(o.Env(), std::string(where) + "." + name + " must be a number.");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) typeError(o.Env(), std::string(where) + "." + name + " must be a finite number.");
  return d;
}

int intField(const Napi::Object& o, const char* name, int fallback, const char* where) {
  double d = numberField(o, name, fallback, where);
  if (std::floor(d) != d || std::fabs(d) > 2147483647.0) {
    typeError(o.Env(), std::string(where) + "." + name + " must be an integer.");
  }
  return static_cast<int>(d);
}

bool boolField(const Napi::Object& o, const char* name, bool fallback, const char* where) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) typeError(o.Env(), std::string(where) + "." + name + " must be true or false.");
  return v.As<Napi::Boolean>().Value();
}

std::string stringField(const Napi::Object& o, const char* name, const std::string& fallback, const char* where) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined()) return fallback;
  if (!v.IsString()) typeError(o.Env(), std::string(where) + "." + name + " must be a string.");
  return v.As<Napi::String>().Utf8Value();
}

tessera::ViTConfig vitFromJs(const Napi::Object& o) {
  const char* w = "vit";
  tessera::ViTConfig v;
  v.img_size = intField(o, "imgSize", v.img_size, w);
  v.patch_size = intField(o, "patchSize", v.patch_size, w);
  v.embed_dim = intField(o, "embedDim", v.embed_dim, w);
  v.depth = intField(o, "depth", v.depth, w);
  v.num_heads = intField(o, "numHeads", v.num_heads, w);
  v.mlp_ratio = numberField(o, "mlpRatio", v.mlp_ratio, w);
  v.qkv_bias = boolField(o, "qkvBias", v.qkv_bias, w);
  v.init_values = static_cast<float>(numberField(o, "initValues", v.init_values, w));
  v.reg_tokens = intField(o, "regTokens", v.reg_tokens, w);
  v.no_embed_class = boolField(o, "noEmbedClass", v.no_embed_class, w);
  v.class_token = boolField(o, "classToken", v.class_token, w);
  std::string pool = stringField(o, "globalPool", "token", w);
  try {
    v.global_pool = tessera::parseGlobalPool(pool);
  } catch (const std::exception& e) {
    typeError(o.Env(), std::string("vit.globalPool: ") + e.what());
  }
  v.fc_norm = boolField(o, "fcNorm", v.global_pool == GlobalPool::Avg, w);
  v.norm_eps = static_cast<float>(numberField(o, "normEps", v.norm_eps, w));
  std::string mlp = stringField(o, "mlp", "gelu", w);
  if (mlp == "gelu") v.mlp = MlpKind::Gelu;
  else if (mlp == "swiglu_packed") v.mlp = MlpKind::SwiGLUPacked;
  else if (mlp == "swiglu") v.mlp = MlpKind::SwiGLU;
  else typeError(o.Env(), "vit.mlp must be \"gelu\", \"swiglu_packed\" or \"swiglu\" (got \"" + mlp + "\").");
  tripleField(o, "mean", v.mean, w);
  tripleField(o, "std", v.std, w);
  try {
    v.validate();
  } catch (const std::exception& e) {
    throw Napi::RangeError::New(o.Env(), std::string("Invalid ViT config: ") + e.what());
  }
  return v;
}

Napi::Object vitToJs(Napi::Env env, const tessera::ViTConfig& v) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("imgSize", v.img_size);
  o.Set("patchSize", v.patch_size);
  o.Set("embedDim", v.embed_dim);
  o.Set("depth", v.depth);
  o.Set("numHeads", v.num_heads);
  o.Set("mlpRatio", v.mlp_ratio);
  o.Set("qkvBias", v.qkv_bias);
  o.Set("initValues", static_cast<double>(v.init_values));
  o.Set("regTokens", v.reg_tokens);
  o.Set("noEmbedClass", v.no_embed_class);
  o.Set("classToken", v.class_token);
  o.Set("globalPool", tessera::toString(v.global_pool));
  o.Set("fcNorm", v.fc_norm);
  o.Set("normEps", static_cast<double>(v.norm_eps));
  o.Set("mlp", mlpName(v.mlp));
  Napi::Array mean = Napi::Array::New(env, 3), std = Napi::Array::New(env, 3);
  for (uint32_t i = 0; i < 3; ++i) {
    mean.Set(i, static_cast<double>(v.mean[i]));
    std.Set(i, static_cast<double>(v.std[i]));
  }
  o.Set("mean", mean);
  o.Set("std", std);
  o.Set("outputDim", v.outputDim());
  return o;
}

tessera::AggregatorConfig aggregatorFromJs(const Napi::Value& value, int encoderOutputDim) {
  tessera::AggregatorConfig a;
  if (value.IsUndefined() || value.IsNull()) return a;
  if (!value.IsObject()) typeError(value.Env(), "aggregator must be an object.");
  Napi::Object o = value.As<Napi::Object>();
  const char* w = "aggregator";
  a.input_dim = intField(o, "inputDim", encoderOutputDim, w);
  a.hidden_dim = intField(o, "hiddenDim", a.hidden_dim, w);
  a.dropout = static_cast<float>(numberField(o, "dropout", a.dropout, w));
  Napi::Value tasks = o.Get("tasks");
  if (!tasks.IsArray()) typeError(o.Env(), "aggregator.tasks must be an array of task specs.");
  Napi::Array arr = tasks.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value tv = arr.Get(i);
    if (!tv.IsObject()) typeError(o.Env(), "aggregator.tasks[" + std::to_string(i) + "] must be an object.");
    Napi::Object t = tv.As<Napi::Object>();
    std::string where = "aggregator.tasks[" + std::to_string(i) + "]";
    tessera::TaskConfig tc;
    tc.name = stringField(t, "name", "", where.c_str());
    std::string kind = stringField(t, "kind", "binary", where.c_str());
    if (kind == "binary") tc.kind = tessera::TaskKind::Binary;
    else if (kind == "categorical") tc.kind = tessera::TaskKind::Categorical;
    else typeError(o.Env(), where + ".kind must be \"binary\" or \"categorical\".");
    tc.num_classes = intField(t, "numClasses", 2, where.c_str());
    tc.loss_weight = static_cast<float>(numberField(t, "lossWeight", 1.0, where.c_str()));
    a.tasks.push_back(std::move(tc));
  }
  try {
    a.validate();
  } catch (const std::exception& e) {
    throw Napi::RangeError::New(o.Env(), std::string("Invalid aggregator config: ") + e.what());
  }
  return a;
}

Napi::Value aggregatorToJs(Napi::Env env, const tessera::AggregatorConfig& a) {
  if (!a.enabled()) return env.Null();
  Napi::Object o = Napi::Object::New(env);
  o.Set("inputDim", a.input_dim);
  o.Set("hiddenDim", a.hidden_dim);
  o.Set("dropout", static_cast<double>(a.dropout));
  Napi::Array tasks = Napi::Array::New(env, a.tasks.size());
  for (size_t i = 0; i < a.tasks.size(); ++i) {
    const auto& t = a.tasks[i];
    Napi::Object tj = Napi::Object::New(env);
    tj.Set("name", t.name);
    tj.Set("kind", t.kind == tessera::TaskKind::Binary ? "binary" : "categorical");
    tj.Set("numClasses", t.num_classes);
    tj.Set("lossWeight", static_cast<double>(t.loss_weight));
    tasks.Set(static_cast<uint32_t>(i), tj);
  }
  o.Set("tasks", tasks);
  return o;
}

tessera::TrainOptions trainOptionsFromJs(const Napi::Value& value) {
  tessera::TrainOptions t;
  if (value.IsUndefined() || value.IsNull()) return t;
  if (!value.IsObject()) typeError(value.Env(), "train options must be an object.");
  Napi::Object o = value.As<Napi::Object>();
  const char* w = "options";
  t.chunkSize = intField(o, "chunkSize", t.chunkSize, w);
  t.lrEncoder = static_cast<float>(numberField(o, "lrEncoder", t.lrEncoder, w));
  t.lrAggregator = static_cast<float>(numberField(o, "lrAggregator", t.lrAggregator, w));
  t.weightDecay = static_cast<float>(numberField(o, "weightDecay", t.weightDecay, w));
  t.beta1 = static_cast<float>(numberField(o, "beta1", t.beta1, w));
  t.beta2 = static_cast<float>(numberField(o, "beta2", t.beta2, w));
  t.eps = static_cast<float>(numberField(o, "eps", t.eps, w));
  t.warmupSteps = static_cast<int64_t>(numberField(o, "warmupSteps", static_cast<double>(t.warmupSteps), w));
  t.totalSteps = static_cast<int64_t>(numberField(o, "totalSteps", static_cast<double>(t.totalSteps), w));
  t.minLrRatio = static_cast<float>(numberField(o, "minLrRatio", t.minLrRatio, w));
  t.clipNorm = static_cast<float>(numberField(o, "clipNorm", t.clipNorm, w));
  t.accumulationSteps = intField(o, "accumulationSteps", t.accumulationSteps, w);
  t.seed = static_cast<uint64_t>(numberField(o, "seed", 0, w));
  if (t.chunkSize < 0) throw Napi::RangeError::New(o.Env(), "options.chunkSize must be 0 (chosen from free memory) or positive.");
  if (t.accumulationSteps <= 0) throw Napi::RangeError::New(o.Env(), "options.accumulationSteps must be positive.");
  if (t.warmupSteps < 0 || t.totalSteps < 0) throw Napi::RangeError::New(o.Env(), "options.warmupSteps and totalSteps must not be negative.");
  return t;
}

Napi::Object stepResultToJs(Napi::Env env, const tessera::StepResult& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("loss", r.loss);
  Napi::Array tasks = Napi::Array::New(env, r.tasks.size());
  for (size_t i = 0; i < r.tasks.size(); ++i) {
    Napi::Object t = Napi::Object::New(env);
    t.Set("loss", r.tasks[i].loss);
    t.Set("labelled", r.tasks[i].labelled);
    tasks.Set(static_cast<uint32_t>(i), t);
  }
  o.Set("tasks", tasks);
  o.Set("optimizerStepped", r.optimizerStepped);
  o.Set("gradNorm", r.gradNorm);
  o.Set("lrEncoder", r.lrEncoder);
  o.Set("lrAggregator", r.lrAggregator);
  o.Set("step", static_cast<double>(r.step));
  return o;
}

tessera::EncoderSpec encoderSpecFromJs(const Napi::Object& o) {
  tessera::EncoderSpec s;
  const char* w = "encoder";
  s.architecture = stringField(o, "architecture", "", w);
  Napi::Value vit = o.Get("vit");
  if (!vit.IsObject()) typeError(o.Env(), "encoder.vit must be an object.");
  s.vit = vitFromJs(vit.As<Napi::Object>());
  s.dynamic_img_size = boolField(o, "dynamicImgSize", false, w);
  s.input_size = intField(o, "inputSize", s.vit.img_size, w);
  s.crop_pct = numberField(o, "cropPct", 1.0, w);
  s.interpolation = stringField(o, "interpolation", "bicubic", w);
  return s;
}

Napi::Object encoderSpecToJs(Napi::Env env, const tessera::EncoderSpec& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("architecture", s.architecture);
  o.Set("vit", vitToJs(env, s.vit));
  o.Set("dynamicImgSize", s.dynamic_img_size);
  o.Set("inputSize", s.input_size);
  o.Set("cropPct", s.crop_pct);
  o.Set("interpolation", s.interpolation);
  return o;
}

}  // namespace tessera_binding
