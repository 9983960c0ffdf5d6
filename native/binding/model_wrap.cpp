// The JS Model class; see model_wrap.h. Every method validates its arguments on the JS thread (types,
// buffer lengths against the model's shapes, label ranges) before any work is queued.
#include "model_wrap.h"

#include "../cuda/backend_cuda.h"

#include <cstring>
#include <new>

#include "../engine/checkpoint.h"
#include "../engine/model_weights.h"
#include "../engine/train.h"
#include "convert.h"
#include "engine_worker.h"

namespace tessera_binding {

namespace {

// Handed from LoadCheckpoint's worker to the constructor through a Napi::External.
struct PendingModel {
  std::unique_ptr<tessera::Model> model;
  tessera::EncoderSpec encoder;
};

struct Inputs {
  Napi::FunctionReference constructor;
};

Napi::Uint8Array pixelsArg(const Napi::Value& v, int64_t n, const tessera::ViTConfig& vit, const std::string& what) {
  Napi::Env env = v.Env();
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(env, what + " must be a Uint8Array (or Buffer) of RGB pixels.");
  }
  Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  int64_t per = static_cast<int64_t>(vit.img_size) * vit.img_size * 3;
  if (n <= 0) throw Napi::RangeError::New(env, what + ": the number of patches must be positive.");
  if (static_cast<int64_t>(a.ElementLength()) != n * per) {
    throw Napi::RangeError::New(env, what + " holds " + std::to_string(a.ElementLength()) + " bytes but " +
                                         std::to_string(n) + " patches of " + std::to_string(vit.img_size) + "x" +
                                         std::to_string(vit.img_size) + " RGB need " + std::to_string(n * per) + ".");
  }
  return a;
}

Napi::Float32Array embeddingsArg(const Napi::Value& v, int64_t n, int dim, const std::string& what) {
  Napi::Env env = v.Env();
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(env, what + " must be a Float32Array.");
  }
  Napi::Float32Array a = v.As<Napi::Float32Array>();
  if (n <= 0) throw Napi::RangeError::New(env, what + ": the number of patches must be positive.");
  if (static_cast<int64_t>(a.ElementLength()) != n * dim) {
    throw Napi::RangeError::New(env, what + " holds " + std::to_string(a.ElementLength()) + " floats but " +
                                         std::to_string(n) + " embeddings of dimension " + std::to_string(dim) +
                                         " need " + std::to_string(n * dim) + ".");
  }
  return a;
}

int64_t countArg(const Napi::Value& v, const std::string& what) {
  if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), what + " must be a number.");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 1) || d != static_cast<double>(static_cast<int64_t>(d))) {
    throw Napi::RangeError::New(v.Env(), what + " must be a positive integer.");
  }
  return static_cast<int64_t>(d);
}

std::vector<int> labelsArg(const Napi::Value& v, const tessera::AggregatorConfig& agg, const std::string& what) {
  Napi::Env env = v.Env();
  if (!v.IsArray()) throw Napi::TypeError::New(env, what + " must be an array with one label per task (-1 = missing).");
  Napi::Array a = v.As<Napi::Array>();
  if (a.Length() != agg.tasks.size()) {
    throw Napi::RangeError::New(env, what + " has " + std::to_string(a.Length()) + " labels but the model has " +
                                         std::to_string(agg.tasks.size()) + " tasks.");
  }
  std::vector<int> labels;
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value e = a.Get(i);
    const auto& task = agg.tasks[i];
    int max = task.kind == tessera::TaskKind::Binary ? 1 : task.num_classes - 1;
    double d = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : -2;
    if (d != static_cast<int>(d) || d < -1 || d > max) {
      throw Napi::RangeError::New(env, what + "[" + std::to_string(i) + "] for task \"" + task.name +
                                           "\" must be an integer from 0 to " + std::to_string(max) + ", or -1 when missing.");
    }
    labels.push_back(static_cast<int>(d));
  }
  return labels;
}

int chunkSizeArg(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return 32;
  if (!v.IsObject()) throw Napi::TypeError::New(v.Env(), "options must be an object.");
  int c = intField(v.As<Napi::Object>(), "chunkSize", 32, "options");
  if (c < 0) throw Napi::RangeError::New(v.Env(), "options.chunkSize must be 0 (chosen from free memory) or positive.");
  return c;
}

Napi::Object predictionToJs(Napi::Env env, const tessera::SlidePrediction& p, const tessera::AggregatorConfig& agg) {
  Napi::Object o = Napi::Object::New(env);
  Napi::Object probs = Napi::Object::New(env);
  for (size_t t = 0; t < p.probabilities.size(); ++t) {
    const auto& v = p.probabilities[t];
    Napi::Float32Array a = Napi::Float32Array::New(env, v.size());
    std::memcpy(a.Data(), v.data(), v.size() * sizeof(float));
    probs.Set(t < agg.tasks.size() ? agg.tasks[t].name : std::to_string(t), a);
  }
  o.Set("probabilities", probs);
  Napi::Float32Array att = Napi::Float32Array::New(env, p.attention.size());
  std::memcpy(att.Data(), p.attention.data(), p.attention.size() * sizeof(float));
  o.Set("attention", att);
  return o;
}

tessera::WeightsScope scopeArg(const Napi::Value& v) {
  if (v.IsUndefined()) return tessera::WeightsScope::Encoder;
  std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s == "encoder") return tessera::WeightsScope::Encoder;
  if (s == "all") return tessera::WeightsScope::All;
  if (s == "encoder+optional-aggregator") return tessera::WeightsScope::EncoderOptionalAggregator;
  throw Napi::TypeError::New(v.Env(), "scope must be \"encoder\", \"all\" or \"encoder+optional-aggregator\".");
}

std::string pathArg(const Napi::Value& v, const char* what) {
  if (!v.IsString() || v.As<Napi::String>().Utf8Value().empty()) {
    throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a non-empty path string.");
  }
  return v.As<Napi::String>().Utf8Value();
}

}  // namespace

Napi::Function ModelWrap::Init(Napi::Env env) {
  Napi::Function ctor = DefineClass(
      env, "Model",
      {
          StaticMethod<&ModelWrap::LoadCheckpoint>("loadCheckpoint"),
          InstanceMethod<&ModelWrap::LoadWeights>("loadWeights"),
          InstanceMethod<&ModelWrap::SaveWeights>("saveWeights"),
          InstanceMethod<&ModelWrap::SaveCheckpoint>("saveCheckpoint"),
          InstanceMethod<&ModelWrap::InitRandom>("initRandom"),
          InstanceMethod<&ModelWrap::Embed>("embed"),
          InstanceMethod<&ModelWrap::PredictSlide>("predictSlide"),
          InstanceMethod<&ModelWrap::PredictFromEmbeddings>("predictFromEmbeddings"),
          InstanceMethod<&ModelWrap::TrainStepEndToEnd>("trainStepEndToEnd"),
          InstanceMethod<&ModelWrap::TrainStepFrozen>("trainStepFrozen"),
          InstanceMethod<&ModelWrap::Cancel>("cancel"),
          InstanceMethod<&ModelWrap::Dispose>("dispose"),
          InstanceMethod<&ModelWrap::ParameterInfo>("parameterInfo"),
          InstanceMethod<&ModelWrap::GetParameter>("getParameter"),
          InstanceMethod<&ModelWrap::SetParameter>("setParameter"),
          InstanceAccessor<&ModelWrap::GetEncoder>("encoder"),
          InstanceAccessor<&ModelWrap::GetAggregator>("aggregator"),
          InstanceAccessor<&ModelWrap::GetStep>("step"),
          InstanceAccessor<&ModelWrap::GetNumParams>("numParams"),
          InstanceAccessor<&ModelWrap::GetDisposed>("disposed"),
          InstanceAccessor<&ModelWrap::GetBusy>("busy"),
          InstanceAccessor<&ModelWrap::GetMatmulPrecision, &ModelWrap::SetMatmulPrecision>("matmulPrecision"),
          InstanceAccessor<&ModelWrap::GetDevice, &ModelWrap::SetDevice>("device"),
      });
  auto* data = new Inputs();
  data->constructor = Napi::Persistent(ctor);
  env.SetInstanceData<Inputs>(data);
  return ctor;
}

// new Model(encoderSpec, aggregator?)  — or, internally, new Model(External<PendingModel>).
ModelWrap::ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() >= 1 && info[0].IsExternal()) {
    auto* pending = info[0].As<Napi::External<PendingModel>>().Data();
    model_ = std::move(pending->model);
    encoder_ = pending->encoder;
    return;
  }
  if (info.Length() < 1 || !info[0].IsObject()) {
    throw Napi::TypeError::New(env, "new Model(encoder, aggregator?) needs an encoder spec object ({ vit: {...}, ... }).");
  }
  encoder_ = encoderSpecFromJs(info[0].As<Napi::Object>());
  tessera::AggregatorConfig agg =
      aggregatorFromJs(info.Length() >= 2 ? info[1] : env.Undefined(), encoder_.vit.outputDim());
  try {
    model_ = std::make_unique<tessera::Model>(encoder_.vit, agg);
  } catch (const std::bad_alloc&) {
    throw makeError(env, "Out of memory: cannot allocate the model's parameters.", "ERR_OUT_OF_MEMORY");
  } catch (const std::invalid_argument& e) {
    throw Napi::RangeError::New(env, e.what());
  }
}

tessera::Model& ModelWrap::live(Napi::Env env, bool requireIdle) {
  if (!model_ || disposeRequested_) throw makeError(env, "The model has been disposed.", "ERR_DISPOSED");
  if (requireIdle && busy_) {
    throw makeError(env, "The model is busy with another call; wait for it (or cancel it) first.", "ERR_BUSY");
  }
  return *model_;
}

std::function<void()> ModelWrap::beginCall() {
  busy_ = true;
  cancel_.store(false);
  // The worker keeps the JS object alive (keepAlive), so `this` is valid when this runs.
  return [this]() {
    busy_ = false;
    if (disposeRequested_) model_.reset();
  };
}

Napi::Value ModelWrap::LoadCheckpoint(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dir = pathArg(info.Length() ? info[0] : env.Undefined(), "checkpoint folder");
  auto pending = std::make_shared<PendingModel>();
  auto* worker = new EngineWorker(
      env, "tessera.loadCheckpoint", env.Undefined(), {},
      [dir, pending](const tessera::ProgressFn&) {
        tessera::CheckpointInfo ci;
        pending->model = tessera::loadCheckpoint(dir, &ci);
        pending->encoder = ci.encoder;
      },
      [pending](Napi::Env e) -> Napi::Value {
        Inputs* data = e.GetInstanceData<Inputs>();
        return data->constructor.New({Napi::External<PendingModel>::New(e, pending.get())});
      },
      nullptr);
  worker->Queue();
  return worker->promise();
}

Napi::Value ModelWrap::LoadWeights(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  tessera::Model& model = live(env);
  std::string path = pathArg(info.Length() ? info[0] : env.Undefined(), "weights path");
  tessera::WeightsScope scope = scopeArg(info.Length() > 1 ? info[1] : env.Undefined());
  tessera::Model* m = &model;
  auto* worker = new EngineWorker(
      env, "tessera.loadWeights", env.Undefined(), {Value()},
      [m, path, scope](const tessera::ProgressFn&) { tessera::loadModelWeights(*m, path, scope); }, nullptr, beginCall());
  worker->Queue();
  return worker->promise();
}

Napi::Value ModelWrap::SaveWeights(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  tessera::Model* m = &live(env);
  std::string path = pathArg(info.Length() ? info[0] : env.Undefined(), "weights path");
  auto* worker = new EngineWorker(
      env, "tessera.saveWeights", env.Undefined(), {Value()},
      [m, path](const tessera::ProgressFn&) { tessera::saveModelWeights(*m, path); }, nullptr, beginCall());
  worker->Queue();
  return worker->promise();
}

Napi::Value ModelWrap::SaveCheckpoint(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  tessera::Model* m = &live(env);
  std::string dir = pathArg(info.Length() ? info[0] : env.Undefined(), "checkpoint folder");
  tessera::EncoderSpec spec = encoder_;
  auto* worker = new EngineWorker(
      env, "tessera.saveCheckpoint", env.Undefined(), {Value()},
      [m, dir, spec](const tessera::ProgressFn&) { tessera::saveCheckpoint(*m, spec, dir); }, nullptr, beginCall());
  worker->Queue();
  return worker->promise();
}

Napi::Value ModelWrap::InitRandom(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  tessera::Model& m = live(env);
  double seed = info.Length() && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 0;
  if (seed < 0 || seed != static_cast<double>(static_cast<uint64_t>(seed))) {
    throw Napi::RangeError::New(env, "seed must be a non-negative integer.");
  }
  m.initRandom(static_cast<uint64_t>(seed));
  return env.Undefined();
}

// embed(pixels: Uint8Array, n, options?, onProgress?) -> Promise<Float32Array (n x outputDim)>
Napi::Value ModelWrap::Embed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  tessera::Model* m = &live(env);
  int64_t n = countArg(info.Length() > 1 ? info[1] : env.Undefined(), "patch count");
  Napi::Uint8Array pixels = pixelsArg(info.Length() ? info[0] : env.Undefined(), n, m->vit(), "pixels");
  int chunk = chunkSizeArg(info.Length() > 2 ? info[2] : env.Undefined());
  Napi::Value onProgress = info.Length() > 3 ? info[3] : env.Undefined();
  int64_t dim = m->vit().outputDim();
  // Output lives in a JS ArrayBuffer from the start: no copy at the end.
  Napi::ArrayBuffer out = Napi::ArrayBuffer::New(env, static_cast<size_t>(n * dim) * sizeof(float));
  float* outData = static_cast<float*>(out.Data());
  const uint8_t* in = pixels.Data();
  std::atomic<bool>* cancel = &cancel_;
  // Handles die with this call's scope; the worker reaches the buffer again through a reference.
  auto outRef = std::make_shared<Napi::Reference<Napi::ArrayBuffer>>(Napi::Persistent(out));
  auto* worker = new EngineWorker(
      env, "tessera.embed", onProgress, {Value(), pixels},
      [m, in, n, outData, chunk, cancel](const tessera::ProgressFn& p) { tessera::embed(*m, in, n, outData, chunk, p, cancel); },
      [outRef, n, dim](Napi::Env e) -> Napi::Value {
        return Napi::Float32Array::New(e, static_cast<size_t>(n * dim), outRef->Value(), 0);
      },
      beginCall());
  worker->Queue();
  return worker->promise();
}

// predictSlide(pixels, n, options?, onProgress?) -> Promise<{probabilities: {task: Float32Array}, attention}>
Napi::Value ModelWrap::PredictSlide(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  tessera::Model* m = &live(env);
  if (!m->aggregator().enabled()) throw makeError(env, "This model has no aggregator or tasks; use embed().", "ERR_INVALID_ARG");
  int64_t n = countArg(info.Length() > 1 ? info[1] : env.Undefined(), "patch count");
  Napi::Uint8Array pixels = pixelsArg(info.Length() ? info[0] : env.Undefined(), n, m->vit(), "pixels");
  int chunk = chunkSizeArg(info.Length() > 2 ? info[2] : env.Undefined());
  Napi::Value onProgress = info.Length() > 3 ? info[3] : env.Undefined();
  const uint8_t* in = pixels.Data();
  std::atomic<bool>* cancel = &cancel_;
  auto result = std::make_shared<tessera::SlidePrediction>();
  auto* worker = new EngineWorker(
      env, "tessera.predictSlide", onProgress, {Value(), pixels},
      [m, in, n, chunk, cancel, result](const tessera::ProgressFn& p) {
        *result = tessera::predictSlide(*m, in, n, chunk, p, cancel);
      },
      [result, m](Napi::Env e) -> Napi::Value { return predictionToJs(e, *result, m->aggregator()); }, beginCall());
  worker->Queue();
  return worker->promise();
}

Napi::Value ModelWrap::PredictFromEmbeddings(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  tessera::Model* m = &live(env);
  if (!m->aggregator().enabled()) throw makeError(env, "This model has no aggregator or tasks.", "ERR_INVALID_ARG");
  int64_t n = countArg(info.Length() > 1 ? info[1] : env.Undefined(), "patch count");
  Napi::Float32Array emb = embeddingsArg(info.Length() ? info[0] : env.Undefined(), n, m->vit().outputDim(), "embeddings");
  const float* in = emb.Data();
  auto result = std::make_shared<tessera::SlidePrediction>();
  auto* worker = new EngineWorker(
      env, "tessera.predictFromEmbeddings", env.Undefined(), {Value(), emb},
      [m, in, n, result](const tessera::ProgressFn&) { *result = tessera::predictFromEmbeddings(*m, in, n); },
      [result, m](Napi::Env e) -> Napi::Value { return predictionToJs(e, *result, m->aggregator()); }, beginCall());
  worker->Queue();
  return worker->promise();
}

// The slides argument of a training step: a non-empty array of objects, each with numPatches, labels and
// the data `readSlide` takes from it (its typed array is added to `keep`, alive until the step ends).
template <typename Slide, typename ReadSlide>
std::vector<Slide> slidesArg(Napi::Env env, const Napi::CallbackInfo& info, const tessera::Model& m,
                             const char* shape, std::vector<Napi::Value>& keep, ReadSlide readSlide) {
  if (!m.aggregator().enabled()) throw makeError(env, "This model has no aggregator or tasks to train.", "ERR_INVALID_ARG");
  if (info.Length() < 1 || !info[0].IsArray() || info[0].As<Napi::Array>().Length() == 0) {
    throw Napi::TypeError::New(env, std::string("slides must be a non-empty array of ") + shape + ".");
  }
  Napi::Array arr = info[0].As<Napi::Array>();
  std::vector<Slide> slides;
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    std::string what = "slides[" + std::to_string(i) + "]";
    Napi::Value sv = arr.Get(i);
    if (!sv.IsObject()) throw Napi::TypeError::New(env, what + " must be an object.");
    Napi::Object s = sv.As<Napi::Object>();
    Slide slide;
    slide.numPatches = countArg(s.Get("numPatches"), what + ".numPatches");
    keep.push_back(readSlide(s, slide, what));
    slide.labels = labelsArg(s.Get("labels"), m.aggregator(), what + ".labels");
    slides.push_back(std::move(slide));
  }
  return slides;
}

// Queues one training step on the engine's worker: `step(model, slides, options, progress, cancel)`.
template <typename Slide, typename Step>
Napi::Value ModelWrap::queueTrainStep(const Napi::CallbackInfo& info, tessera::Model* m, const char* name,
                                      std::vector<Slide> slides, std::vector<Napi::Value> keep, Step step) {
  Napi::Env env = info.Env();
  tessera::TrainOptions opt = trainOptionsFromJs(info.Length() > 1 ? info[1] : env.Undefined());
  Napi::Value onProgress = info.Length() > 2 ? info[2] : env.Undefined();
  keep.insert(keep.begin(), Value());
  std::atomic<bool>* cancel = &cancel_;
  auto result = std::make_shared<tessera::StepResult>();
  auto* worker = new EngineWorker(
      env, name, onProgress, keep,
      [m, slides = std::move(slides), opt, cancel, result, step](const tessera::ProgressFn& p) {
        *result = step(*m, slides, opt, p, cancel);
      },
      [result](Napi::Env e) -> Napi::Value { return stepResultToJs(e, *result); }, beginCall());
  worker->Queue();
  return worker->promise();
}

// trainStepEndToEnd(slides: [{pixels, numPatches, labels}], options?, onProgress?) -> Promise<StepResult>
Napi::Value ModelWrap::TrainStepEndToEnd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  tessera::Model* m = &live(env);
  std::vector<Napi::Value> keep;
  auto slides = slidesArg<tessera::SlidePatches>(
      env, info, *m, "{ pixels, numPatches, labels }", keep,
      [m](Napi::Object s, tessera::SlidePatches& sp, const std::string& what) -> Napi::Value {
        Napi::Uint8Array px = pixelsArg(s.Get("pixels"), sp.numPatches, m->vit(), what + ".pixels");
        sp.pixels = px.Data();
        return px;
      });
  return queueTrainStep(info, m, "tessera.trainStepEndToEnd", std::move(slides), std::move(keep),
                        [](tessera::Model& model, const std::vector<tessera::SlidePatches>& sl,
                           const tessera::TrainOptions& o, const tessera::ProgressFn& p,
                           const std::atomic<bool>* c) { return tessera::trainStepEndToEnd(model, sl, o, p, c); });
}

// trainStepFrozen(slides: [{embeddings, numPatches, labels}], options?, onProgress?) -> Promise<StepResult>
Napi::Value ModelWrap::TrainStepFrozen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  tessera::Model* m = &live(env);
  std::vector<Napi::Value> keep;
  auto slides = slidesArg<tessera::SlideEmbeddings>(
      env, info, *m, "{ embeddings, numPatches, labels }", keep,
      [m](Napi::Object s, tessera::SlideEmbeddings& se, const std::string& what) -> Napi::Value {
        Napi::Float32Array emb =
            embeddingsArg(s.Get("embeddings"), se.numPatches, m->vit().outputDim(), what + ".embeddings");
        se.embeddings = emb.Data();
        return emb;
      });
  return queueTrainStep(info, m, "tessera.trainStepFrozen", std::move(slides), std::move(keep),
                        [](tessera::Model& model, const std::vector<tessera::SlideEmbeddings>& sl,
                           const tessera::TrainOptions& o, const tessera::ProgressFn& p,
                           const std::atomic<bool>* c) { return tessera::trainStepFrozen(model, sl, o, p, c); });
}

Napi::Value ModelWrap::Cancel(const Napi::CallbackInfo& info) {
  cancel_.store(true);
  return info.Env().Undefined();
}

// Frees the parameters now, or, while a call runs, cancels it and frees them when it ends.
Napi::Value ModelWrap::Dispose(const Napi::CallbackInfo& info) {
  if (busy_) {
    disposeRequested_ = true;
    cancel_.store(true);
  } else {
    model_.reset();
    disposeRequested_ = true;
  }
  return info.Env().Undefined();
}

Napi::Value ModelWrap::ParameterInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  tessera::Model& m = live(env, false);
  std::vector<tessera::NamedTensor> params = m.parameters();
  Napi::Array out = Napi::Array::New(env, params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const auto& t = params[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", t.name);
    Napi::Array shape = Napi::Array::New(env, t.shape.size());
    for (size_t d = 0; d < t.shape.size(); ++d) shape.Set(static_cast<uint32_t>(d), static_cast<double>(t.shape[d]));
    o.Set("shape", shape);
    o.Set("decay", t.decay);
    o.Set("group", t.group == tessera::ParamGroup::Encoder ? "encoder" : "aggregator");
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

Napi::Value ModelWrap::GetParameter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  tessera::Model& m = live(env);
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "getParameter(name) needs a name.");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  const tessera::NamedTensor* t = m.find(name);
  if (!t) throw makeError(env, "The model has no parameter named \"" + name + "\".", "ERR_INVALID_ARG");
  Napi::Float32Array a = Napi::Float32Array::New(env, static_cast<size_t>(t->numel));
  std::memcpy(a.Data(), m.params() + t->offset, static_cast<size_t>(t->numel) * sizeof(float));
  return a;
}

Napi::Value ModelWrap::SetParameter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  tessera::Model& m = live(env);
  if (info.Length() < 2 || !info[0].IsString()) throw Napi::TypeError::New(env, "setParameter(name, values) needs a name.");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  const tessera::NamedTensor* t = m.find(name);
  if (!t) throw makeError(env, "The model has no parameter named \"" + name + "\".", "ERR_INVALID_ARG");
  Napi::Float32Array a = embeddingsArg(info[1], 1, static_cast<int>(t->numel), "values for " + name);
  std::memcpy(m.params() + t->offset, a.Data(), static_cast<size_t>(t->numel) * sizeof(float));
  return env.Undefined();
}

Napi::Value ModelWrap::GetEncoder(const Napi::CallbackInfo& info) { return encoderSpecToJs(info.Env(), encoder_); }
Napi::Value ModelWrap::GetAggregator(const Napi::CallbackInfo& info) {
  return aggregatorToJs(info.Env(), live(info.Env(), false).aggregator());
}
Napi::Value ModelWrap::GetStep(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(live(info.Env(), false).step));
}
Napi::Value ModelWrap::GetNumParams(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(live(info.Env(), false).numParams()));
}
Napi::Value ModelWrap::GetDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !model_ || disposeRequested_);
}
Napi::Value ModelWrap::GetBusy(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), busy_); }
Napi::Value ModelWrap::GetMatmulPrecision(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), live(info.Env(), false).bf16EncoderMatmuls ? "bf16" : "fp32");
}
// "fp32" or "bf16": the precision of the encoder's matrix products from the next call on (not while one runs).
void ModelWrap::SetMatmulPrecision(const Napi::CallbackInfo& info, const Napi::Value& value) {
  Napi::Env env = info.Env();
  tessera::Model& m = live(env);
  const std::string p = value.IsString() ? value.As<Napi::String>().Utf8Value() : "";
  if (p != "fp32" && p != "bf16") throw Napi::TypeError::New(env, "matmulPrecision must be \"fp32\" or \"bf16\".");
  m.bf16EncoderMatmuls = p == "bf16";
}

Napi::Value ModelWrap::GetDevice(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), live(info.Env(), false).backend().hostMemory ? "cpu" : "cuda");
}
// "cpu" or "cuda": where the model computes from the next call on (not while one runs). Its parameters and optimizer
// state follow (copied on first use); "cuda" without a usable device throws ERR_NO_DEVICE with the reason.
void ModelWrap::SetDevice(const Napi::CallbackInfo& info, const Napi::Value& value) {
  Napi::Env env = info.Env();
  tessera::Model& m = live(env);
  const std::string d = value.IsString() ? value.As<Napi::String>().Utf8Value() : "";
  if (d == "cpu") return m.setBackend(tessera::cpuBackend());
  if (d != "cuda") throw Napi::TypeError::New(env, "device must be \"cpu\" or \"cuda\".");
  const tessera::Backend* cuda = tessera::cudaBackend();
  if (!cuda) throw makeError(env, tessera::cudaStatus().message, "ERR_NO_DEVICE");
  m.setBackend(*cuda);
}

}  // namespace tessera_binding
