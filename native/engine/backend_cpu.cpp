// The CPU backend table: every op's reference implementation.
#include "backend.h"
#include "ops_cpu.h"

namespace tessera {

const Backend& cpuBackend() {
  static const Backend b = {
      "cpu",
      cpu::linear_forward,
      cpu::linear_forward_rows,
      cpu::linear_backward,
      cpu::layernorm_forward,
      cpu::layernorm_backward,
      cpu::attention_forward,
      cpu::attention_backward,
      cpu::gelu_forward,
      cpu::gelu_backward,
      cpu::swiglu_forward,
      cpu::swiglu_backward,
      cpu::residual_scale_forward,
      cpu::residual_scale_backward,
      cpu::patch_embed_forward,
      cpu::patch_embed_backward,
      cpu::mil_attention_forward,
      cpu::mil_attention_backward,
      cpu::task_loss,
      cpu::adamw_update,
  };
  return b;
}

}  // namespace tessera
