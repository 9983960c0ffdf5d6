// tessera_engine.node: the N-API face of the C++ engine (native/engine). Exports the Model class, config
// parsing and thread control. N-API only (NAPI_VERSION 8), so one binary serves Node and Electron.
#include <napi.h>

#include "../cuda/backend_cuda.h"
#include "../engine/config.h"
#include "../engine/cpu_features.h"
#include "../engine/gemm.h"
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

// measurePeakGflops(threads, seconds, unit?) with unit "avx2-fma", "avx512-fma" or "avx512-bf16"; without a unit,
// the fp32 FMA unit of the CPU path in use (0 on the portable path).
Napi::Value MeasurePeakGflops(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int threads = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 1;
  double seconds = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 0.5;
  if (threads < 1 || threads > 1024) throw Napi::RangeError::New(env, "measurePeakGflops: threads must be from 1 to 1024.");
  if (!(seconds > 0 && seconds <= 60)) throw Napi::RangeError::New(env, "measurePeakGflops: seconds must be in (0, 60].");
  PeakUnit unit;
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    const std::string u = info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
    if (u == "avx2-fma") unit = PeakUnit::Avx2Fma;
    else if (u == "avx512-fma") unit = PeakUnit::Avx512Fma;
    else if (u == "avx512-bf16") unit = PeakUnit::Avx512Bf16;
    else throw Napi::TypeError::New(env, "measurePeakGflops: unit must be \"avx2-fma\", \"avx512-fma\" or \"avx512-bf16\".");
  } else {
    const tessera::CpuPath path = tessera::cpuPath();
    if (path == tessera::CpuPath::Portable) return Napi::Number::New(env, 0.0);
    unit = path == tessera::CpuPath::Avx512 ? PeakUnit::Avx512Fma : PeakUnit::Avx2Fma;
  }
  return Napi::Number::New(env, measurePeakGflops(unit, threads, seconds));
}

// setCpuPath("portable" | "avx2" | "avx512") -> the path now in use (capped at the widest this CPU has).
Napi::Value SetCpuPath(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string p = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  tessera::CpuPath path;
  if (p == "portable") path = tessera::CpuPath::Portable;
  else if (p == "avx2") path = tessera::CpuPath::Avx2;
  else if (p == "avx512") path = tessera::CpuPath::Avx512;
  else throw Napi::TypeError::New(env, "setCpuPath(path): path must be \"portable\", \"avx2\" or \"avx512\".");
  return Napi::String::New(env, tessera::cpuPathName(tessera::setCpuPath(path)));
}

// cpuInfo() -> which kernels run here: the CPU path in use and the widest this CPU has (TESSERA_CPU_PATH picks a
// narrower one), its features, and the GEMM micro-kernels for fp32 and bf16 products.
Napi::Value CpuInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("path", tessera::cpuPathName(tessera::cpuPath()));
  o.Set("widestPath", tessera::cpuPathName(tessera::widestCpuPath()));
  o.Set("avx2Fma", tessera::cpuHasAvx2Fma());
  o.Set("avx512", tessera::cpuHasAvx512());
  o.Set("avx512Bf16", tessera::cpuHasAvx512Bf16());
  o.Set("gemmKernel", tessera::gemmKernelName(tessera::Precision::Fp32));
  o.Set("gemmKernelBf16", tessera::gemmKernelName(tessera::Precision::Bf16));
  return o;
}

// cudaInfo() -> the CUDA backend's state: compiled in, a device usable, which (name, compute capability, memory),
// driver and runtime versions, the architectures compiled, cuBLASLt, and one line saying so or why not.
Napi::Value CudaInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const tessera::CudaStatus s = tessera::cudaStatus();
  Napi::Object o = Napi::Object::New(env);
  o.Set("compiled", s.compiled);
  o.Set("available", s.available);
  o.Set("message", s.message);
  o.Set("archs", s.archs);
  o.Set("deviceCount", s.deviceCount);
  if (s.available) {
    Napi::Object d = Napi::Object::New(env);
    d.Set("index", s.device);
    d.Set("name", s.deviceName);
    d.Set("computeCapability", std::to_string(s.computeMajor) + "." + std::to_string(s.computeMinor));
    d.Set("multiprocessors", s.multiprocessors);
    d.Set("totalBytes", static_cast<double>(s.totalBytes));
    d.Set("freeBytes", static_cast<double>(s.freeBytes));
    o.Set("device", d);
  } else {
    o.Set("device", env.Null());
  }
  o.Set("driverVersion", s.driverVersion);
  o.Set("runtimeVersion", s.runtimeVersion);
  o.Set("cublasLt", s.cublasLt);
  o.Set("cublasLtInfo", s.cublasLtInfo);
  return o;
}

// selectCudaDevice(index): the device the CUDA backend uses, before its first use.
Napi::Value SelectCudaDevice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "selectCudaDevice(index) needs a number.");
  std::string error;
  if (!tessera::cudaSelectDevice(info[0].As<Napi::Number>().Int32Value(), &error)) throw makeError(env, error, "ERR_NO_DEVICE");
  return env.Undefined();
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Model", ModelWrap::Init(env));
  exports.Set("readEncoderConfig", Napi::Function::New<ReadEncoderConfig>(env, "readEncoderConfig"));
  exports.Set("parseEncoderConfig", Napi::Function::New<ParseEncoderConfig>(env, "parseEncoderConfig"));
  exports.Set("setNumThreads", Napi::Function::New<SetNumThreads>(env, "setNumThreads"));
  exports.Set("numThreads", Napi::Function::New<NumThreads>(env, "numThreads"));
  exports.Set("measurePeakGflops", Napi::Function::New<MeasurePeakGflops>(env, "measurePeakGflops"));
  exports.Set("cpuInfo", Napi::Function::New<CpuInfo>(env, "cpuInfo"));
  exports.Set("setCpuPath", Napi::Function::New<SetCpuPath>(env, "setCpuPath"));
  exports.Set("cudaInfo", Napi::Function::New<CudaInfo>(env, "cudaInfo"));
  exports.Set("selectCudaDevice", Napi::Function::New<SelectCudaDevice>(env, "selectCudaDevice"));
  exports.Set("readSafetensors", Napi::Function::New<ReadSafetensors>(env, "readSafetensors"));
  exports.Set("writeSafetensors", Napi::Function::New<WriteSafetensors>(env, "writeSafetensors"));
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  return exports;
}

}  // namespace tessera_binding

// NODE_API_MODULE needs an unqualified function name.
static Napi::Object InitTesseraEngine(Napi::Env env, Napi::Object exports) { return tessera_binding::Init(env, exports); }

NODE_API_MODULE(tessera_engine, InitTesseraEngine)
