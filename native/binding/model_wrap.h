// The JS `Model` class: owns one tessera::Model (all parameters in one allocation), runs its long calls on
// worker threads (EngineWorker) and frees its memory on dispose(). One call at a time per model: a second
// call while one is running is refused with ERR_BUSY rather than queued behind it.
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>
#include <vector>

#include "../engine/config.h"
#include "../engine/model.h"

namespace tessera_binding {

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit ModelWrap(const Napi::CallbackInfo& info);

 private:
  // Static: Model.loadCheckpoint(dir) -> Promise<Model>.
  static Napi::Value LoadCheckpoint(const Napi::CallbackInfo& info);

  Napi::Value LoadWeights(const Napi::CallbackInfo& info);
  Napi::Value SaveWeights(const Napi::CallbackInfo& info);
  Napi::Value SaveCheckpoint(const Napi::CallbackInfo& info);
  Napi::Value InitRandom(const Napi::CallbackInfo& info);
  Napi::Value Embed(const Napi::CallbackInfo& info);
  Napi::Value PredictSlide(const Napi::CallbackInfo& info);
  Napi::Value PredictFromEmbeddings(const Napi::CallbackInfo& info);
  Napi::Value TrainStepEndToEnd(const Napi::CallbackInfo& info);
  Napi::Value TrainStepFrozen(const Napi::CallbackInfo& info);
  Napi::Value Cancel(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value ParameterInfo(const Napi::CallbackInfo& info);
  Napi::Value GetParameter(const Napi::CallbackInfo& info);
  Napi::Value SetParameter(const Napi::CallbackInfo& info);

  Napi::Value GetEncoder(const Napi::CallbackInfo& info);
  Napi::Value GetAggregator(const Napi::CallbackInfo& info);
  Napi::Value GetStep(const Napi::CallbackInfo& info);
  Napi::Value GetNumParams(const Napi::CallbackInfo& info);
  Napi::Value GetDisposed(const Napi::CallbackInfo& info);
  Napi::Value GetBusy(const Napi::CallbackInfo& info);
  Napi::Value GetMatmulPrecision(const Napi::CallbackInfo& info);
  void SetMatmulPrecision(const Napi::CallbackInfo& info, const Napi::Value& value);
  Napi::Value GetDevice(const Napi::CallbackInfo& info);
  void SetDevice(const Napi::CallbackInfo& info, const Napi::Value& value);

  // Queues a training step on the engine's worker (options and progress from info[1], info[2]).
  template <typename Slide, typename Step>
  Napi::Value queueTrainStep(const Napi::CallbackInfo& info, tessera::Model* m, const char* name,
                             std::vector<Slide> slides, std::vector<Napi::Value> keep, Step step);

  // Throws a JS Error when disposed or (requireIdle) busy.
  tessera::Model& live(Napi::Env env, bool requireIdle = true);
  // Marks the model busy, clears the cancel flag; returns the JS-thread callback that ends the call.
  std::function<void()> beginCall();

  std::unique_ptr<tessera::Model> model_;
  tessera::EncoderSpec encoder_;
  std::atomic<bool> cancel_{false};
  bool busy_ = false;
  bool disposeRequested_ = false;
};

}  // namespace tessera_binding
