// The CPU table with bf16 matrix products (see backend.h): cpuBackend() with the linear and patch-embedding ops
// swapped for their bf16 versions. Attention's products, norms, activations, losses and AdamW stay fp32.
#include "backend.h"
#include "ops_cpu.h"

namespace tessera {

const Backend& cpuBf16Backend() {
  static const Backend b = [] {
    Backend t = cpuBackend();
    t.name = "cpu-bf16";
    t.linear_forward = cpu::linear_forward_bf16;
    t.linear_forward_rows = cpu::linear_forward_rows_bf16;
    t.linear_backward = cpu::linear_backward_bf16;
    t.patch_embed_forward = cpu::patch_embed_forward_bf16;
    t.patch_embed_backward = cpu::patch_embed_backward_bf16;
    return t;
  }();
  return b;
}

}  // namespace tessera
