// readSafetensors / writeSafetensors for JS: inspecting weight files and writing small ones (tests, export
// helpers). Synchronous: meant for headers and small tensors; model loading goes through Model.loadWeights.
#pragma once

#include <napi.h>

namespace tessera_binding {

// readSafetensors(path, names?) -> { metadata: {..}, tensors: [{ name, dtype, shape, data?: Float32Array }] }
// `data` is filled for the listed names (all when names === true); throws ERR_BAD_WEIGHTS.
Napi::Value ReadSafetensors(const Napi::CallbackInfo& info);
// writeSafetensors(path, [{ name, shape, data: Float32Array }], metadata?)
Napi::Value WriteSafetensors(const Napi::CallbackInfo& info);

}  // namespace tessera_binding
