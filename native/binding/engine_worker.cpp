// EngineWorker; see engine_worker.h.
#include "engine_worker.h"

#include "../engine/backend.h"

#include <mutex>
#include <new>
#include <stdexcept>

#include "../engine/config.h"
#include "../engine/safetensors.h"

namespace tessera_binding {

namespace {
std::mutex& computeLock() {
  static std::mutex m;
  return m;
}
}  // namespace

Napi::Error makeError(Napi::Env env, const std::string& message, const char* code) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  return e;
}

EngineWorker::EngineWorker(Napi::Env env, const char* name, Napi::Value onProgress, std::vector<Napi::Value> keepAlive,
                           Work work, Finish finish, Done done)
    : Napi::AsyncProgressQueueWorker<tessera::Progress>(env, name),
      deferred_(Napi::Promise::Deferred::New(env)),
      work_(std::move(work)),
      finish_(std::move(finish)),
      done_(std::move(done)) {
  if (onProgress.IsFunction()) onProgress_ = Napi::Persistent(onProgress.As<Napi::Function>());
  for (const Napi::Value& v : keepAlive) keepAlive_.push_back(Napi::Persistent(v));
}

void EngineWorker::Execute(const ExecutionProgress& progress) {
  std::lock_guard<std::mutex> lock(computeLock());
  bool wantProgress = !onProgress_.IsEmpty();
  tessera::ProgressFn report;
  if (wantProgress) report = [&progress](const tessera::Progress& p) { progress.Send(&p, 1); };
  try {
    work_(report);
  } catch (const tessera::Cancelled& e) {
    code_ = "ERR_CANCELLED";
    SetError(e.what());
  } catch (const tessera::BackendOutOfMemory& e) {
    code_ = "ERR_OUT_OF_MEMORY";  // a device backend's, with the chunk size that fits
    SetError(e.what());
  } catch (const std::bad_alloc&) {
    code_ = "ERR_OUT_OF_MEMORY";
    SetError("Out of memory: the engine could not allocate what this call needs; use a smaller chunk size, fewer patches or a smaller model.");
  } catch (const tessera::SafetensorsError& e) {
    code_ = "ERR_BAD_WEIGHTS";
    SetError(e.what());
  } catch (const tessera::ConfigError& e) {
    code_ = "ERR_BAD_CONFIG";
    SetError(e.what());
  } catch (const std::invalid_argument& e) {
    code_ = "ERR_INVALID_ARG";
    SetError(e.what());
  } catch (const std::exception& e) {
    code_ = "ERR_ENGINE";
    SetError(e.what());
  } catch (...) {
    code_ = "ERR_ENGINE";
    SetError("The engine failed with an unknown error.");
  }
}

void EngineWorker::OnProgress(const tessera::Progress* data, size_t count) {
  if (onProgress_.IsEmpty() || data == nullptr) return;
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  for (size_t i = 0; i < count; ++i) {
    const tessera::Progress& p = data[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("phase", Napi::String::New(env, p.phase ? p.phase : ""));
    o.Set("done", Napi::Number::New(env, static_cast<double>(p.done)));
    o.Set("total", Napi::Number::New(env, static_cast<double>(p.total)));
    try {
      onProgress_.Call({o});
    } catch (const Napi::Error&) {
      // A throwing progress listener must not take the call down with it; the work goes on.
    }
  }
}

void EngineWorker::OnOK() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  if (done_) done_();
  try {
    deferred_.Resolve(finish_ ? finish_(env) : env.Undefined());
  } catch (const Napi::Error& e) {
    deferred_.Reject(e.Value());
  } catch (const std::exception& e) {
    deferred_.Reject(makeError(env, e.what(), "ERR_ENGINE").Value());
  }
}

void EngineWorker::OnError(const Napi::Error& error) {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  if (done_) done_();
  Napi::Error e = makeError(env, error.Message(), code_.c_str());
  deferred_.Reject(e.Value());
}

}  // namespace tessera_binding
