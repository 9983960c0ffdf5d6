// The CPU backend tables: every op's reference implementation (ops_cpu.h), host memory, and the same table with the
// encoder's matrix products in bf16. Copies are memcpy, staging and synchronisation are no-ops: every op has
// finished when it returns.
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "backend.h"
#include "host_memory.h"
#include "ops_cpu.h"
#include "threads.h"

namespace tessera {

namespace {

void* hostAlloc(size_t bytes) {
  void* p = allocHost(bytes);
  if (!p) throw BackendOutOfMemory("Out of host memory: could not allocate " + std::to_string(bytes >> 20) + " MiB.");
  return p;
}

void hostFree(void* p) { freeHost(p); }

void zeroBytes(void* p, size_t bytes) {
  if (bytes % sizeof(float) == 0) parallelZero(static_cast<float*>(p), static_cast<int64_t>(bytes / sizeof(float)));
  else std::memset(p, 0, bytes);
}

void copyBytes(void* dst, const void* src, size_t bytes) {
  if (bytes) std::memcpy(dst, src, bytes);
}

void copyRows(float* dst, int64_t ldd, const float* src, int64_t lds, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) std::memcpy(dst + r * ldd, src + r * lds, sizeof(float) * cols);
}

void prefetch(void* dst, const void* src, size_t bytes, int /*slot*/) { copyBytes(dst, src, bytes); }
void noSlot(int /*slot*/) {}
void synchronize() {}
bool memoryInfo(int64_t* /*freeBytes*/, int64_t* /*totalBytes*/) { return false; }

Backend gCpu, gCpuBf16;

void fillTables() {
  Backend& b = gCpu;
  b.name = "cpu";
  b.hostMemory = true;
  b.alloc = hostAlloc;
  b.free = hostFree;
  b.alloc_host = hostAlloc;
  b.free_host = hostFree;
  b.zero = zeroBytes;
  b.copy_to_device = copyBytes;
  b.copy_to_host = copyBytes;
  b.copy = copyBytes;
  b.copy_rows = copyRows;
  b.prefetch = prefetch;
  b.prefetch_wait = noSlot;
  b.prefetch_release = noSlot;
  b.synchronize = synchronize;
  b.memory_info = memoryInfo;
  b.linear_forward = cpu::linear_forward;
  b.linear_forward_rows = cpu::linear_forward_rows;
  b.linear_backward = cpu::linear_backward;
  b.linear_backward_write = cpu::linear_backward_write;
  b.linear_gelu_forward = cpu::linear_gelu_forward;
  b.gelu_linear_backward = cpu::gelu_linear_backward;
  b.layernorm_forward = cpu::layernorm_forward;
  b.layernorm_backward = cpu::layernorm_backward;
  b.attention_forward = cpu::attention_forward;
  b.attention_backward = cpu::attention_backward;
  b.attention_backward_write = cpu::attention_backward_write;
  b.attention_saved_floats = cpu::attention_saved_floats;
  b.gelu_forward = cpu::gelu_forward;
  b.gelu_backward = cpu::gelu_backward;
  b.swiglu_forward = cpu::swiglu_forward;
  b.swiglu_backward = cpu::swiglu_backward;
  b.residual_scale_forward = cpu::residual_scale_forward;
  b.residual_scale_backward = cpu::residual_scale_backward;
  b.patch_embed_forward = cpu::patch_embed_forward;
  b.patch_embed_backward = cpu::patch_embed_backward;
  b.tokens_forward = cpu::tokens_forward;
  b.tokens_backward = cpu::tokens_backward;
  b.pool_forward = cpu::pool_forward;
  b.pool_backward = cpu::pool_backward;
  b.dropout_forward = cpu::dropout_forward;
  b.dropout_backward = cpu::dropout_backward;
  b.mil_attention_forward = cpu::mil_attention_forward;
  b.mil_attention_backward = cpu::mil_attention_backward;
  b.task_loss = cpu::task_loss;
  b.sum_squares = cpu::sum_squares;
  b.adamw_update = cpu::adamw_update;
  b.adamw_update_zero_grads = cpu::adamw_update_zero_grads;

  // bf16: the linear, patch-embedding and attention products (as the CUDA bf16 table), and the GELU to about 1e-6
  // (the piecewise one of vector_math.h: its outputs are the next products' operands, rounded to bf16); softmax,
  // norms, the other activations, losses and AdamW stay fp32.
  Backend& h = gCpuBf16;
  h = gCpu;
  h.name = "cpu-bf16";
  h.linear_forward = cpu::linear_forward_bf16;
  h.linear_forward_rows = cpu::linear_forward_rows_bf16;
  h.linear_backward = cpu::linear_backward_bf16;
  h.linear_backward_write = cpu::linear_backward_write_bf16;
  h.linear_gelu_forward = cpu::linear_gelu_forward_bf16;
  h.gelu_linear_backward = cpu::gelu_linear_backward_bf16;
  h.gelu_forward = cpu::gelu_forward_bf16;
  h.gelu_backward = cpu::gelu_backward_bf16;
  h.patch_embed_forward = cpu::patch_embed_forward_bf16;
  h.patch_embed_backward = cpu::patch_embed_backward_bf16;
  h.attention_forward = cpu::attention_forward_bf16;
  h.attention_backward = cpu::attention_backward_bf16;
  h.attention_backward_write = cpu::attention_backward_write_bf16;

  gCpu.fp32 = gCpuBf16.fp32 = &gCpu;
  gCpu.bf16 = gCpuBf16.bf16 = &gCpuBf16;
}

void ensureTables() {
  static std::once_flag once;
  std::call_once(once, fillTables);
}

}  // namespace

const Backend& cpuBackend() {
  ensureTables();
  return gCpu;
}

const Backend& cpuBf16Backend() {
  ensureTables();
  return gCpuBf16;
}

}  // namespace tessera
