// The guarded test backend (backend_guarded.h). The CPU ops run between unlock() and lock(), which open and close
// every live allocation; memory functions do the same around their memcpy.
#include "backend_guarded.h"

#include <sys/mman.h>

#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include "../engine/ops_cpu.h"

namespace tessera {
namespace test {

namespace {

std::mutex gMutex;
std::map<void*, size_t> gRegions;  // start -> mapped length
int gDepth = 0;                    // nesting of unlock() (ops call ops: mil_attention calls linear)

size_t pageRound(size_t n) { return (n + 4095) / 4096 * 4096; }

void protectAll(int prot) {
  for (const auto& r : gRegions)
    if (mprotect(r.first, r.second, prot) != 0) std::abort();
}

struct Unlocked {
  Unlocked() {
    std::lock_guard<std::mutex> g(gMutex);
    if (gDepth++ == 0) protectAll(PROT_READ | PROT_WRITE);
  }
  ~Unlocked() {
    std::lock_guard<std::mutex> g(gMutex);
    if (--gDepth == 0) protectAll(PROT_NONE);
  }
};

void* guardedAlloc(size_t bytes) {
  const size_t len = pageRound(bytes ? bytes : 1);
  void* p = mmap(nullptr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw BackendOutOfMemory("guarded backend: out of memory");
  std::lock_guard<std::mutex> g(gMutex);
  if (gDepth > 0 && mprotect(p, len, PROT_READ | PROT_WRITE) != 0) std::abort();
  gRegions[p] = len;
  return p;
}

void guardedFree(void* p) {
  if (!p) return;
  std::lock_guard<std::mutex> g(gMutex);
  auto it = gRegions.find(p);
  if (it == gRegions.end()) std::abort();  // not ours, or freed twice
  munmap(it->first, it->second);
  gRegions.erase(it);
}

void zero(void* p, size_t bytes) {
  Unlocked u;
  std::memset(p, 0, bytes);
}
void copyBytes(void* dst, const void* src, size_t bytes) {
  Unlocked u;
  if (bytes) std::memcpy(dst, src, bytes);
}
void copyRows(float* dst, int64_t ldd, const float* src, int64_t lds, int64_t rows, int64_t cols) {
  Unlocked u;
  for (int64_t r = 0; r < rows; r++) std::memcpy(dst + r * ldd, src + r * lds, sizeof(float) * cols);
}
void prefetch(void* dst, const void* src, size_t bytes, int /*slot*/) { copyBytes(dst, src, bytes); }
void noSlot(int /*slot*/) {}
void synchronize() {}
bool memoryInfo(int64_t*, int64_t*) { return false; }

// Guarded<f>::call runs the op f with backend memory open.
template <auto F>
struct Guarded;
template <class R, class... A, R (*F)(A...)>
struct Guarded<F> {
  static R call(A... a) {
    Unlocked u;
    return F(a...);
  }
};

Backend gFp32, gBf16;

void fill() {
  Backend& b = gFp32;
  b.name = "guarded";
  b.hostMemory = false;
  b.alloc = guardedAlloc;
  b.free = guardedFree;
  b.alloc_host = guardedAlloc;
  b.free_host = guardedFree;
  b.zero = zero;
  b.copy_to_device = copyBytes;
  b.copy_to_host = copyBytes;
  b.copy = copyBytes;
  b.copy_rows = copyRows;
  b.prefetch = prefetch;
  b.prefetch_wait = noSlot;
  b.prefetch_release = noSlot;
  b.synchronize = synchronize;
  b.memory_info = memoryInfo;
  b.linear_forward = Guarded<cpu::linear_forward>::call;
  b.linear_forward_rows = Guarded<cpu::linear_forward_rows>::call;
  b.linear_backward = Guarded<cpu::linear_backward>::call;
  b.linear_backward_write = Guarded<cpu::linear_backward_write>::call;
  b.linear_gelu_forward = Guarded<cpu::linear_gelu_forward>::call;
  b.gelu_linear_backward = Guarded<cpu::gelu_linear_backward>::call;
  b.layernorm_forward = Guarded<cpu::layernorm_forward>::call;
  b.layernorm_backward = Guarded<cpu::layernorm_backward>::call;
  b.attention_forward = Guarded<cpu::attention_forward>::call;
  b.attention_backward = Guarded<cpu::attention_backward>::call;
  b.attention_backward_write = Guarded<cpu::attention_backward_write>::call;
  b.attention_saved_floats = cpu::attention_saved_floats;
  b.gelu_forward = Guarded<cpu::gelu_forward>::call;
  b.gelu_backward = Guarded<cpu::gelu_backward>::call;
  b.swiglu_forward = Guarded<cpu::swiglu_forward>::call;
  b.swiglu_backward = Guarded<cpu::swiglu_backward>::call;
  b.residual_scale_forward = Guarded<cpu::residual_scale_forward>::call;
  b.residual_scale_backward = Guarded<cpu::residual_scale_backward>::call;
  b.patch_embed_forward = Guarded<cpu::patch_embed_forward>::call;
  b.patch_embed_backward = Guarded<cpu::patch_embed_backward>::call;
  b.tokens_forward = Guarded<cpu::tokens_forward>::call;
  b.tokens_backward = Guarded<cpu::tokens_backward>::call;
  b.pool_forward = Guarded<cpu::pool_forward>::call;
  b.pool_backward = Guarded<cpu::pool_backward>::call;
  b.dropout_forward = Guarded<cpu::dropout_forward>::call;
  b.dropout_backward = Guarded<cpu::dropout_backward>::call;
  b.mil_attention_forward = Guarded<cpu::mil_attention_forward>::call;
  b.mil_attention_backward = Guarded<cpu::mil_attention_backward>::call;
  b.task_loss = Guarded<cpu::task_loss>::call;
  b.sum_squares = Guarded<cpu::sum_squares>::call;
  b.adamw_update = Guarded<cpu::adamw_update>::call;
  b.adamw_update_zero_grads = Guarded<cpu::adamw_update_zero_grads>::call;

  gBf16 = gFp32;
  gBf16.name = "guarded-bf16";
  gBf16.linear_forward = Guarded<cpu::linear_forward_bf16>::call;
  gBf16.linear_forward_rows = Guarded<cpu::linear_forward_rows_bf16>::call;
  gBf16.linear_backward = Guarded<cpu::linear_backward_bf16>::call;
  gBf16.linear_backward_write = Guarded<cpu::linear_backward_write_bf16>::call;
  gBf16.linear_gelu_forward = Guarded<cpu::linear_gelu_forward_bf16>::call;
  gBf16.gelu_linear_backward = Guarded<cpu::gelu_linear_backward_bf16>::call;
  gBf16.gelu_forward = Guarded<cpu::gelu_forward_bf16>::call;
  gBf16.gelu_backward = Guarded<cpu::gelu_backward_bf16>::call;
  gBf16.patch_embed_forward = Guarded<cpu::patch_embed_forward_bf16>::call;
  gBf16.patch_embed_backward = Guarded<cpu::patch_embed_backward_bf16>::call;
  gBf16.attention_forward = Guarded<cpu::attention_forward_bf16>::call;
  gBf16.attention_backward = Guarded<cpu::attention_backward_bf16>::call;
  gBf16.attention_backward_write = Guarded<cpu::attention_backward_write_bf16>::call;
  gFp32.fp32 = gBf16.fp32 = &gFp32;
  gFp32.bf16 = gBf16.bf16 = &gBf16;
}

void ensure() {
  static std::once_flag once;
  std::call_once(once, fill);
}

}  // namespace

const Backend& guardedBackend() {
  ensure();
  return gFp32;
}

const Backend& guardedBf16Backend() {
  ensure();
  return gBf16;
}

int64_t guardedLiveAllocations() {
  std::lock_guard<std::mutex> g(gMutex);
  return static_cast<int64_t>(gRegions.size());
}

}  // namespace test
}  // namespace tessera
