// JS access to safetensors files; see safetensors_js.h.
#include "safetensors_js.h"

#include <cstring>
#include <set>

#include "../engine/safetensors.h"
#include "engine_worker.h"

namespace tessera_binding {

Napi::Value ReadSafetensors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "readSafetensors(path, names?) needs a path.");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  bool all = info.Length() > 1 && info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
  std::set<std::string> wanted;
  if (info.Length() > 1 && info[1].IsArray()) {
    Napi::Array names = info[1].As<Napi::Array>();
    for (uint32_t i = 0; i < names.Length(); ++i) wanted.insert(names.Get(i).ToString().Utf8Value());
  }
  try {
    tessera::SafetensorsReader reader(path);
    Napi::Object out = Napi::Object::New(env);
    Napi::Object meta = Napi::Object::New(env);
    for (const auto& kv : reader.metadata()) meta.Set(kv.first, kv.second);
    out.Set("metadata", meta);
    Napi::Array tensors = Napi::Array::New(env, reader.entries().size());
    uint32_t i = 0;
    for (const auto& e : reader.entries()) {
      Napi::Object t = Napi::Object::New(env);
      t.Set("name", e.name);
      t.Set("dtype", e.dtypeName);
      Napi::Array shape = Napi::Array::New(env, e.shape.size());
      for (size_t d = 0; d < e.shape.size(); ++d) shape.Set(static_cast<uint32_t>(d), static_cast<double>(e.shape[d]));
      t.Set("shape", shape);
      if (all || wanted.count(e.name)) {
        Napi::Float32Array data = Napi::Float32Array::New(env, static_cast<size_t>(e.numel()));
        reader.readF32(e, data.Data());
        t.Set("data", data);
      }
      tensors.Set(i++, t);
    }
    out.Set("tensors", tensors);
    return out;
  } catch (const tessera::SafetensorsError& e) {
    throw makeError(env, e.what(), "ERR_BAD_WEIGHTS");
  } catch (const std::bad_alloc&) {
    throw makeError(env, "Out of memory reading " + path + ".", "ERR_OUT_OF_MEMORY");
  }
}

Napi::Value WriteSafetensors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsArray()) {
    throw Napi::TypeError::New(env, "writeSafetensors(path, tensors, metadata?) needs a path and an array of tensors.");
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  Napi::Array arr = info[1].As<Napi::Array>();
  std::vector<tessera::TensorView> views;
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    std::string where = "tensors[" + std::to_string(i) + "]";
    Napi::Value v = arr.Get(i);
    if (!v.IsObject()) throw Napi::TypeError::New(env, where + " must be an object.");
    Napi::Object o = v.As<Napi::Object>();
    Napi::Value name = o.Get("name"), shape = o.Get("shape"), data = o.Get("data");
    if (!name.IsString()) throw Napi::TypeError::New(env, where + ".name must be a string.");
    if (!shape.IsArray()) throw Napi::TypeError::New(env, where + ".shape must be an array.");
    if (!data.IsTypedArray() || data.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw Napi::TypeError::New(env, where + ".data must be a Float32Array.");
    }
    tessera::TensorView view;
    view.name = name.As<Napi::String>().Utf8Value();
    int64_t numel = 1;
    Napi::Array sh = shape.As<Napi::Array>();
    for (uint32_t d = 0; d < sh.Length(); ++d) {
      Napi::Value dim = sh.Get(d);
      double dv = dim.IsNumber() ? dim.As<Napi::Number>().DoubleValue() : -1;
      if (dv < 0 || dv != static_cast<double>(static_cast<int64_t>(dv))) {
        throw Napi::RangeError::New(env, where + ".shape must hold non-negative integers.");
      }
      view.shape.push_back(static_cast<int64_t>(dv));
      numel *= static_cast<int64_t>(dv);
    }
    Napi::Float32Array fa = data.As<Napi::Float32Array>();
    if (static_cast<int64_t>(fa.ElementLength()) != numel) {
      throw Napi::RangeError::New(env, where + " (" + view.name + ") has " + std::to_string(fa.ElementLength()) +
                                           " values but shape needs " + std::to_string(numel) + ".");
    }
    view.data = fa.Data();
    views.push_back(std::move(view));
  }
  std::map<std::string, std::string> metadata;
  if (info.Length() > 2 && info[2].IsObject()) {
    Napi::Object m = info[2].As<Napi::Object>();
    Napi::Array keys = m.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); ++i) {
      std::string k = keys.Get(i).ToString().Utf8Value();
      metadata[k] = m.Get(k).ToString().Utf8Value();
    }
  }
  try {
    tessera::writeSafetensors(path, views, metadata);
  } catch (const tessera::SafetensorsError& e) {
    throw makeError(env, e.what(), "ERR_BAD_WEIGHTS");
  }
  return env.Undefined();
}

}  // namespace tessera_binding
