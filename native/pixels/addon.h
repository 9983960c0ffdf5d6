// tessera_pixels: pixel work for the slide reader that JavaScript does too slowly (partial JPEG decoding,
// Lanczos scaling). Synchronous calls, made from the decode workers.
#pragma once

#include <napi.h>

#include <string>

namespace tessera {

// An integer argument, or a TypeError / RangeError naming it.
inline int intArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (v != static_cast<double>(static_cast<int>(v)))
    throw Napi::RangeError::New(info.Env(), std::string(name) + " must be an integer");
  return static_cast<int>(v);
}

#ifdef TESSERA_HAVE_LIBJPEG
void registerJpeg(Napi::Env env, Napi::Object exports);  // jpeg_region.cpp
#endif

}  // namespace tessera
