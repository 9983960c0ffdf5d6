// One long engine call on a libuv worker thread, settled as a promise on the JS thread.
//
// - Work runs off the JS thread under a process-wide compute lock (the engine's thread pool serves one
//   call at a time); Finish builds the JS result on the JS thread.
// - Progress reported by the engine is forwarded to an optional JS callback ({phase, done, total});
//   every report is delivered, in order (a queue: phase changes are never lost).
// - Every C++ exception becomes a rejected promise with an Error whose `code` says what kind it was:
//   ERR_CANCELLED, ERR_OUT_OF_MEMORY, ERR_INVALID_ARG, ERR_BAD_WEIGHTS, ERR_BAD_CONFIG, ERR_ENGINE.
#pragma once

#include <napi.h>

#include <functional>
#include <string>
#include <vector>

#include "../engine/train.h"

namespace tessera_binding {

class EngineWorker : public Napi::AsyncProgressQueueWorker<tessera::Progress> {
 public:
  using Work = std::function<void(const tessera::ProgressFn& progress)>;
  using Finish = std::function<Napi::Value(Napi::Env env)>;
  using Done = std::function<void()>;

  // `keepAlive`: JS values (input buffers, the model object) that must outlive the work.
  // `done` runs on the JS thread before the promise settles (e.g. to clear the model's busy flag).
  EngineWorker(Napi::Env env, const char* name, Napi::Value onProgress, std::vector<Napi::Value> keepAlive, Work work,
               Finish finish, Done done);

  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute(const ExecutionProgress& progress) override;
  void OnProgress(const tessera::Progress* data, size_t count) override;
  void OnOK() override;
  void OnError(const Napi::Error& error) override;

 private:
  Napi::Promise::Deferred deferred_;
  Napi::FunctionReference onProgress_;
  std::vector<Napi::Reference<Napi::Value>> keepAlive_;
  Work work_;
  Finish finish_;
  Done done_;
  std::string code_ = "ERR_ENGINE";
};

// Builds an Error with a `code` property.
Napi::Error makeError(Napi::Env env, const std::string& message, const char* code);

}  // namespace tessera_binding
