// The CPU emulator behind emulate.h and emulate_runtime.h (built only with TESSERA_CUDA_EMULATE; an nvcc build
// compiles this file to nothing).
//
// Each emulated thread is a coroutine with its own stack on the calling OS thread; a tiny x86-64 context switch
// (callee-saved registers and the stack pointer) moves between them. The scheduler runs every runnable thread of
// the block until it finishes or waits at a barrier, then releases a barrier once every live thread of its scope
// (block, or warp) has arrived; if nothing can run and nothing can be released, the kernel is stuck (a barrier
// some threads never reach) and the emulator aborts with a message.
#if defined(TESSERA_CUDA_EMULATE)

#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "emulate.h"
#include "emulate_runtime.h"

#if !defined(__x86_64__)
#error "the CUDA emulator's context switch is written for x86-64"
#endif

// void tesseraEmuSwitch(void** saveSp, void* loadSp): saves the callee-saved registers on the current stack and its
// stack pointer in *saveSp, then loads loadSp and restores the registers saved there.
asm(R"(
.text
.globl tesseraEmuSwitch
.type tesseraEmuSwitch, @function
tesseraEmuSwitch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
.size tesseraEmuSwitch, .-tesseraEmuSwitch
.section .note.GNU-stack,"",@progbits
.text
)");
extern "C" void tesseraEmuSwitch(void** saveSp, void* loadSp);

namespace tessera {
namespace emu {

namespace {

constexpr size_t kStackBytes = 256 * 1024;
enum class Wait { None, Block, Warp };

struct Thread {
  ThreadIndex idx;
  void* sp = nullptr;
  char* stack = nullptr;
  bool done = false;
  Wait wait = Wait::None;
};

struct Emulator {
  dim3 grid, block, blockAt;
  std::vector<Thread> threads;
  std::vector<char*> stackPool;
  std::vector<unsigned char> shared;
  std::vector<uint64_t> exchange;  // one slot per thread (warpExchange)
  std::vector<uint64_t> mmaA, mmaB;  // per thread: 4 and 2 packed registers
  std::vector<float> mmaC;
  const std::function<void()>* fn = nullptr;
  Thread* current = nullptr;
  void* schedulerSp = nullptr;
  bool running = false;
};

Emulator& em() {
  static Emulator e;
  return e;
}

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "CUDA emulator: %s\n", what);
  std::abort();
}

void threadMain() {
  Emulator& e = em();
  (*e.fn)();
  e.current->done = true;
  tesseraEmuSwitch(&e.current->sp, e.schedulerSp);
  die("a finished thread was resumed");
}

char* takeStack() {
  Emulator& e = em();
  if (!e.stackPool.empty()) {
    char* s = e.stackPool.back();
    e.stackPool.pop_back();
    return s;
  }
  void* p = mmap(nullptr, kStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("out of memory for thread stacks");
  return static_cast<char*>(p);
}

// A fresh stack whose first switch "returns" into threadMain with the alignment of a function entry.
void* initialStack(char* stack) {
  uintptr_t top = reinterpret_cast<uintptr_t>(stack + kStackBytes) & ~uintptr_t(15);
  uint64_t* sp = reinterpret_cast<uint64_t*>(top - 16);
  *sp = reinterpret_cast<uint64_t>(&threadMain);  // popped by ret: rsp % 16 == 8 on entry, as after a call
  for (int i = 0; i < 6; i++) *--sp = 0;          // rbp rbx r12..r15
  return sp;
}

int linearId(const ThreadIndex& t, const dim3& b) { return static_cast<int>(t.x + b.x * (t.y + b.y * t.z)); }

// Yields to the scheduler until the current thread's barrier is released.
void waitAt(Wait w) {
  Emulator& e = em();
  if (!e.running) die("a barrier outside a kernel");
  e.current->wait = w;
  tesseraEmuSwitch(&e.current->sp, e.schedulerSp);
}

void runBlock() {
  Emulator& e = em();
  const int n = static_cast<int>(e.block.x * e.block.y * e.block.z);
  e.threads.assign(static_cast<size_t>(n), Thread{});
  for (int i = 0; i < n; i++) {
    Thread& t = e.threads[static_cast<size_t>(i)];
    t.idx = ThreadIndex{static_cast<unsigned>(i % e.block.x), static_cast<unsigned>((i / e.block.x) % e.block.y),
                        static_cast<unsigned>(i / (e.block.x * e.block.y))};
    t.stack = takeStack();
    t.sp = initialStack(t.stack);
  }
  const int warps = (n + 31) / 32;
  for (;;) {
    bool progressed = false;
    for (int i = 0; i < n; i++) {
      Thread& t = e.threads[static_cast<size_t>(i)];
      if (t.done || t.wait != Wait::None) continue;
      e.current = &t;
      tesseraEmuSwitch(&e.schedulerSp, t.sp);
      progressed = true;
    }
    int live = 0, atBlock = 0;
    for (const Thread& t : e.threads) {
      live += t.done ? 0 : 1;
      atBlock += (!t.done && t.wait == Wait::Block) ? 1 : 0;
    }
    if (live == 0) break;
    bool released = false;
    if (atBlock == live) {
      for (Thread& t : e.threads) t.wait = Wait::None;
      released = true;
    }
    for (int w = 0; w < warps && !released; w++) {
      int wl = 0, ww = 0;
      for (int i = w * 32; i < n && i < w * 32 + 32; i++) {
        const Thread& t = e.threads[static_cast<size_t>(i)];
        wl += t.done ? 0 : 1;
        ww += (!t.done && t.wait == Wait::Warp) ? 1 : 0;
      }
      if (wl > 0 && ww == wl) {
        for (int i = w * 32; i < n && i < w * 32 + 32; i++) e.threads[static_cast<size_t>(i)].wait = Wait::None;
        released = true;
      }
    }
    if (!progressed && !released) die("deadlock: some threads wait at a barrier the others never reach");
  }
  for (Thread& t : e.threads) e.stackPool.push_back(t.stack);
}

float bf16Lo(uint32_t v) {
  const uint32_t u = v << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
float bf16Hi(uint32_t v) {
  const uint32_t u = v & 0xffff0000u;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace

const ThreadIndex& threadIndex() { return em().current->idx; }
const dim3& blockIndex() { return em().blockAt; }
const dim3& blockDimension() { return em().block; }
const dim3& gridDimension() { return em().grid; }
void* dynamicShared() { return em().shared.data(); }

void syncBlock() { waitAt(Wait::Block); }

uint64_t warpExchange(uint64_t value, int src) {
  Emulator& e = em();
  const int me = linearId(e.current->idx, e.block);
  e.exchange[static_cast<size_t>(me)] = value;
  waitAt(Wait::Warp);
  const int lane = (me & ~31) + (src & 31);
  const uint64_t got = lane < static_cast<int>(e.exchange.size()) ? e.exchange[static_cast<size_t>(lane)] : 0;
  waitAt(Wait::Warp);  // nobody overwrites its slot before every lane has read
  return got;
}

// The PTX ISA fragment layout of mma.m16n8k16 (.bf16 A row-major, B column-major, f32 C/D), for lane l with
// group g = l/4 and t = l%4: A register r holds row g + 8*(r%2), columns k = 2t + 8*(r/2) and k+1 (low half
// first); B register r holds column n = g, rows k = 2t + 8*r and k+1; C/D element i is row g + 8*(i/2), column
// 2t + i%2.
void mmaBf16(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]) {
  Emulator& e = em();
  const int me = linearId(e.current->idx, e.block), base = me & ~31, lane = me & 31;
  for (int r = 0; r < 4; r++) e.mmaA[static_cast<size_t>(me) * 4 + r] = a[r];
  for (int r = 0; r < 2; r++) e.mmaB[static_cast<size_t>(me) * 2 + r] = b[r];
  waitAt(Wait::Warp);
  float A[16][16], B[16][8];
  for (int l = 0; l < 32; l++) {
    const int g = l / 4, t = l % 4;
    for (int r = 0; r < 4; r++) {
      const uint32_t v = static_cast<uint32_t>(e.mmaA[static_cast<size_t>(base + l) * 4 + r]);
      const int row = g + 8 * (r % 2), k = 2 * t + 8 * (r / 2);
      A[row][k] = bf16Lo(v);
      A[row][k + 1] = bf16Hi(v);
    }
    for (int r = 0; r < 2; r++) {
      const uint32_t v = static_cast<uint32_t>(e.mmaB[static_cast<size_t>(base + l) * 2 + r]);
      const int k = 2 * t + 8 * r;
      B[k][g] = bf16Lo(v);
      B[k + 1][g] = bf16Hi(v);
    }
  }
  const int g = lane / 4, t = lane % 4;
  for (int i = 0; i < 4; i++) {
    const int row = g + 8 * (i / 2), col = 2 * t + i % 2;
    float s = 0.0f;  // fp32 accumulation of exact bf16 products (the order within a tile is unspecified on the device)
    for (int k = 0; k < 16; k++) s += A[row][k] * B[k][col];
    d[i] = c[i] + s;
  }
  waitAt(Wait::Warp);
}

void launch(dim3 grid, dim3 block, size_t sharedBytes, const std::function<void()>& fn) {
  Emulator& e = em();
  if (e.running) die("a kernel launched from inside a kernel");
  if (block.x * block.y * block.z == 0 || block.x * block.y * block.z > 1024) die("bad block size");
  if (grid.x == 0 || grid.y == 0 || grid.z == 0) return;
  e.grid = grid;
  e.block = block;
  e.fn = &fn;
  const size_t n = block.x * block.y * block.z;
  e.exchange.assign(n + 32, 0);
  e.mmaA.assign((n + 32) * 4, 0);
  e.mmaB.assign((n + 32) * 2, 0);
  e.running = true;
  for (unsigned z = 0; z < grid.z; z++)
    for (unsigned y = 0; y < grid.y; y++)
      for (unsigned x = 0; x < grid.x; x++) {
        e.blockAt = dim3(x, y, z);
        e.shared.assign(sharedBytes + 16, 0xff);  // NaN bytes: reads of unwritten shared memory show
        runBlock();
      }
  e.running = false;
}

}  // namespace emu
}  // namespace tessera

// ---- the runtime: one emulated device, host memory, everything synchronous -----------------------------------

namespace {
thread_local cudaError_t lastError = cudaSuccess;
int64_t gFreeBytes = 0, gMaxAlloc = 0;  // tesseraEmulateMemory
cudaError_t fail(cudaError_t e) {
  lastError = e;
  return e;
}
void* allocate(size_t bytes) {
  void* p = nullptr;
  if (posix_memalign(&p, 256, bytes ? bytes : 1) != 0) return nullptr;
  std::memset(p, 0xff, bytes);  // NaN bytes: reads of memory nothing wrote show up
  return p;
}
}  // namespace

cudaError_t cudaGetDeviceCount(int* count) {
  *count = std::getenv("TESSERA_EMULATE_NO_DEVICE") ? 0 : 1;
  return *count ? cudaSuccess : fail(cudaErrorNoDevice);
}
cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : fail(cudaErrorInvalidDevice); }
cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (device != 0) return fail(cudaErrorInvalidDevice);
  std::memset(prop, 0, sizeof *prop);
  std::snprintf(prop->name, sizeof prop->name, "CUDA emulator (CPU)");
  prop->totalGlobalMem = size_t(8) << 30;
  prop->sharedMemPerBlock = 48 << 10;
  prop->sharedMemPerBlockOptin = 227 << 10;
  prop->major = 9;
  prop->minor = 0;
  prop->multiProcessorCount = 4;
  prop->l2CacheSize = 4 << 20;
  return cudaSuccess;
}
cudaError_t cudaDriverGetVersion(int* v) {
  *v = 13000;
  return cudaSuccess;
}
cudaError_t cudaRuntimeGetVersion(int* v) {
  *v = 13000;
  return cudaSuccess;
}
void tesseraEmulateMemory(int64_t freeBytes, int64_t maxAllocBytes) {
  gFreeBytes = freeBytes;
  gMaxAlloc = maxAllocBytes;
}
cudaError_t cudaMemGetInfo(size_t* freeBytes, size_t* totalBytes) {
  *totalBytes = size_t(8) << 30;
  *freeBytes = gFreeBytes > 0 ? static_cast<size_t>(gFreeBytes) : *totalBytes;
  return cudaSuccess;
}
cudaError_t cudaMalloc(void** p, size_t bytes) {
  if (gMaxAlloc > 0 && bytes > static_cast<size_t>(gMaxAlloc)) return fail(cudaErrorMemoryAllocation);
  *p = allocate(bytes);
  return *p ? cudaSuccess : fail(cudaErrorMemoryAllocation);
}
cudaError_t cudaFree(void* p) {
  std::free(p);
  return cudaSuccess;
}
cudaError_t cudaMallocAsync(void** p, size_t bytes, cudaStream_t) { return cudaMalloc(p, bytes); }
cudaError_t cudaFreeAsync(void* p, cudaStream_t) { return cudaFree(p); }
cudaError_t cudaHostAlloc(void** p, size_t bytes, unsigned) {
  *p = allocate(bytes);
  return *p ? cudaSuccess : fail(cudaErrorMemoryAllocation);
}
cudaError_t cudaFreeHost(void* p) { return cudaFree(p); }
cudaError_t cudaHostGetDevicePointer(void** device, void* host, unsigned) {
  *device = host;
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind, cudaStream_t) {
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemcpy2DAsync(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height,
                              cudaMemcpyKind, cudaStream_t) {
  for (size_t r = 0; r < height; r++)
    std::memmove(static_cast<char*>(dst) + r * dpitch, static_cast<const char*>(src) + r * spitch, width);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t) {
  std::memset(p, value, bytes);
  return cudaSuccess;
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned) {
  static char token;
  *stream = reinterpret_cast<cudaStream_t>(&token);
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamWaitEvent(cudaStream_t, cudaEvent_t, unsigned) { return cudaSuccess; }
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned) {
  static char token;
  *event = reinterpret_cast<cudaEvent_t>(&token);
  return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t) { return cudaSuccess; }
cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t, cudaEvent_t) {
  *ms = 0.0f;
  return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
cudaError_t cudaGetLastError() {
  const cudaError_t e = lastError;
  lastError = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError() { return lastError; }
const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
  }
  return "cudaErrorUnknown";
}
const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    default: return cudaGetErrorName(e);
  }
}

#endif  // TESSERA_CUDA_EMULATE
