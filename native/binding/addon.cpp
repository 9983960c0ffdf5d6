// tessera_engine.node: the N-API face of the C++ engine (native/engine). Exports the Model class, config
// parsing and thread control. N-API only (NAPI_VERSION 8), so one binary serves Node and Electron.
#include <napi.h>

#include "../engine/config.h"
#include "../engine/train.h"
#include "convert.h"
#include "engine_worker.h"
#include "model_wrap.h"
#include "peak_flops.h"
#include "safetensors_js.h"

namespace tessera_binding {

namespace {

// readEncoderConfig(path) -> EncoderSpec; throws an Error (code ERR_BAD_CONFIG) naming the file.
Napi::Value ReadEncoderConfig(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "readEncoderConfig(path) needs a path.");
  try {
    return encoderSpecToJs(env, tessera::loadTimmConfig(info[0].As<Napi::String>().Utf8Value()));
  } catch (const tessera::ConfigError& e) {
    throw makeError(env, e.what(), "ERR_BAD_CONFIG");
  }
}

// parseEncoderConfig(jsonText, sourceName) -> EncoderSpec.
Napi::Value ParseEncoderConfig(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "parseEncoderConfig(text, source) needs the JSON text.");
  std::string source = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "<config>";
  try {
    return encoderSpecToJs(env, tessera::parseTimmConfigText(info[0].As<Napi::String>().Utf8Value(), source));
  } catch (const tessera::ConfigError& e) {
    throw makeError(env, e.what(), "ERR_BAD_CONFIG");
  }
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "setNumThreads(n) needs a number.");
  int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 1 || n > 1024) throw Napi::RangeError::New(env, "setNumThreads(n): n must be from 1 to 1024.");
  tessera::setNumThreads(n);
  return env.Undefined();
}

Napi::Value NumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), tessera::numThreads()); }

Napi::Value MeasurePeakGflops(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int threads = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 1;
  double seconds = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 0.5;
  return Napi::Number::New(env, measurePeakGflops(threads, seconds));
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Model", ModelWrap::Init(env));
  exports.Set("readEncoderConfig", Napi::Function::New<ReadEncoderConfig>(env, "readEncoderConfig"));
  exports.Set("parseEncoderConfig", Napi::Function::New<ParseEncoderConfig>(env, "parseEncoderConfig"));
  exports.Set("setNumThreads", Napi::Function::New<SetNumThreads>(env, "setNumThreads"));
  exports.Set("numThreads", Napi::Function::New<NumThreads>(env, "numThreads"));
  exports.Set("measurePeakGflops", Napi::Function::New<MeasurePeakGflops>(env, "measurePeakGflops"));
  exports.Set("readSafetensors", Napi::Function::New<ReadSafetensors>(env, "readSafetensors"));
  exports.Set("writeSafetensors", Napi::Function::New<WriteSafetensors>(env, "writeSafetensors"));
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  return exports;
}

}  // namespace tessera_binding

// NODE_API_MODULE needs an unqualified function name.
static Napi::Object InitTesseraEngine(Napi::Env env, Napi::Object exports) { return tessera_binding::Init(env, exports); }

NODE_API_MODULE(tessera_engine, InitTesseraEngine)
