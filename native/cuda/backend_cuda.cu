// The CUDA backend tables (backend_cuda.h): device selection and status, the memory functions (stream-ordered
// allocations from the device's memory pool, mapped pinned host memory for buffers too large for the device, input
// staging through pinned buffers on a second stream), and the op tables filled from ops.h.
//
// One device and one compute stream per process: the engine runs one call at a time (the binding's compute lock).
// Every CUDA call is checked; a failed one throws std::runtime_error naming it, out of memory a BackendOutOfMemory
// with the sizes. Kernel errors surface at the next synchronising call (copy_to_host, synchronize).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>

#include "backend_cuda.h"
#include "cuda_internal.h"
#include "ops.h"

#ifndef TESSERA_CUDA_ARCHS
#define TESSERA_CUDA_ARCHS "emulated"
#endif

namespace tessera {

namespace cuda {

namespace {

struct State {
  std::mutex mutex;
  bool probed = false, initialised = false;
  int device = -1;
  cudaDeviceProp prop{};
  CudaStatus status;
  cudaStream_t compute = nullptr, copies = nullptr;
  // input staging (prefetch): per slot a pinned buffer, "ready" (its copy is done) and "free" (its last readers are
  // done) events
  void* staging[2] = {nullptr, nullptr};
  size_t stagingBytes[2] = {0, 0};
  cudaEvent_t ready[2] = {nullptr, nullptr}, released[2] = {nullptr, nullptr};
  bool releasedRecorded[2] = {false, false};
};

State& state() {
  static State s;
  return s;
}

thread_local int tBoundDevice = -1;

// The calling thread's current device is per thread in CUDA: bind it before any call.
void bindThread() {
  State& s = state();
  if (tBoundDevice != s.device) {
    cudaSetDevice(s.device);
    tBoundDevice = s.device;
  }
}

std::string mib(int64_t bytes) { return std::to_string((bytes + (1 << 19)) >> 20) + " MiB"; }

// TESSERA_CUDA_POISON=1 (the GPU check, the emulated tests): every allocation starts as NaN (all bits set), so an op
// that leaves an element of its output unwritten, or reads memory nothing wrote, shows as NaN instead of passing on
// what a previous run left there.
bool poisonAllocations() {
  static const bool on = [] {
    const char* e = std::getenv("TESSERA_CUDA_POISON");
    return e && *e && std::strcmp(e, "0") != 0;
  }();
  return on;
}

[[noreturn]] void throwOutOfMemory(size_t bytes, const char* what) {
  size_t freeBytes = 0, totalBytes = 0;
  cudaMemGetInfo(&freeBytes, &totalBytes);
  cudaGetLastError();
  throw BackendOutOfMemory(std::string("Out of GPU memory: ") + what + " needed " + mib(static_cast<int64_t>(bytes)) +
                           ", " + mib(static_cast<int64_t>(freeBytes)) + " of " + mib(static_cast<int64_t>(totalBytes)) +
                           " are free on " + state().prop.name + ".");
}

}  // namespace

cudaStream_t stream() { return state().compute; }
int multiprocessors() { return state().prop.multiProcessorCount > 0 ? state().prop.multiProcessorCount : 1; }

void check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  cudaGetLastError();  // clear a non-sticky error so the next call starts clean
  if (e == cudaErrorMemoryAllocation) throwOutOfMemory(0, what);
  throw std::runtime_error(std::string("CUDA error in ") + what + ": " + cudaGetErrorName(e) + " (" +
                           cudaGetErrorString(e) + ").");
}

Scratch::Scratch(size_t bytes) {
  if (bytes == 0) return;
  cudaError_t e = cudaMallocAsync(&p_, bytes, stream());
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    throwOutOfMemory(bytes, "an op's temporary buffer");
  }
  check(e, "cudaMallocAsync (scratch)");
  if (poisonAllocations()) check(cudaMemsetAsync(p_, 0xFF, bytes, stream()), "poison (scratch)");
}

Scratch::~Scratch() {
  if (p_) cudaFreeAsync(p_, stream());
}

namespace {

// ---- memory functions ----------------------------------------------------------------------------------------------

void* deviceAlloc(size_t bytes) {
  bindThread();
  void* p = nullptr;
  cudaError_t e = cudaMallocAsync(&p, bytes ? bytes : 1, stream());
  if (e == cudaErrorMemoryAllocation) {
    // Memory the pool holds for freed buffers may be in use by queued work: wait, then try once more.
    cudaGetLastError();
    cudaStreamSynchronize(stream());
    e = cudaMallocAsync(&p, bytes ? bytes : 1, stream());
    if (e == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      throwOutOfMemory(bytes, "a buffer");
    }
  }
  check(e, "cudaMallocAsync");
  if (poisonAllocations()) check(cudaMemsetAsync(p, 0xFF, bytes ? bytes : 1, stream()), "poison");
  return p;
}

void deviceFree(void* p) {
  if (!p) return;
  bindThread();
  cudaFreeAsync(p, stream());  // errors here (a failed device, process exit) must not throw from destructors
}

void* pinnedAlloc(size_t bytes) {
  bindThread();
  void* p = nullptr;
  cudaError_t e = cudaHostAlloc(&p, bytes ? bytes : 1, cudaHostAllocMapped | cudaHostAllocPortable);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    throw BackendOutOfMemory("Out of pinned host memory: could not allocate " + mib(static_cast<int64_t>(bytes)) + ".");
  }
  check(e, "cudaHostAlloc");
  if (poisonAllocations()) std::memset(p, 0xFF, bytes ? bytes : 1);
  void* device = nullptr;
  check(cudaHostGetDevicePointer(&device, p, 0), "cudaHostGetDevicePointer");
  return device;  // the same address as p under unified addressing
}

void pinnedFree(void* p) {
  if (!p) return;
  bindThread();
  cudaStreamSynchronize(stream());  // queued ops may still read it
  cudaFreeHost(p);
}

void zero(void* p, size_t bytes) {
  bindThread();
  check(cudaMemsetAsync(p, 0, bytes, stream()), "zero");
}

void copyToDevice(void* dst, const void* src, size_t bytes) {
  bindThread();
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, stream()), "copy_to_device");
}

void synchronize() {
  bindThread();
  check(cudaStreamSynchronize(state().copies), "synchronize (input copies)");
  check(cudaStreamSynchronize(stream()), "synchronize (a queued op failed)");
  check(cudaGetLastError(), "synchronize");
}

void copyToHost(void* dst, const void* src, size_t bytes) {
  bindThread();
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, stream()), "copy_to_host");
  synchronize();
}

void copy(void* dst, const void* src, size_t bytes) {
  bindThread();
  if (bytes) check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, stream()), "copy");
}

void copyRows(float* dst, int64_t ldd, const float* src, int64_t lds, int64_t rows, int64_t cols) {
  bindThread();
  if (rows <= 0 || cols <= 0) return;
  check(cudaMemcpy2DAsync(dst, sizeof(float) * ldd, src, sizeof(float) * lds, sizeof(float) * cols, rows,
                          cudaMemcpyDefault, stream()),
        "copy_rows");
}

// Host src -> pinned staging (a host memcpy, overlapping the queued compute) -> device dst on the copy stream, after
// the slot's last readers (prefetch_release) have finished.
void prefetch(void* dst, const void* src, size_t bytes, int slot) {
  bindThread();
  State& s = state();
  if (s.stagingBytes[slot] < bytes) {
    if (s.staging[slot]) {
      check(cudaEventSynchronize(s.ready[slot]), "prefetch");
      cudaFreeHost(s.staging[slot]);
    }
    s.staging[slot] = nullptr;
    check(cudaHostAlloc(&s.staging[slot], bytes, cudaHostAllocPortable), "prefetch (pinned staging buffer)");
    s.stagingBytes[slot] = bytes;
  } else {
    check(cudaEventSynchronize(s.ready[slot]), "prefetch");  // its previous copy has left the staging buffer
  }
  std::memcpy(s.staging[slot], src, bytes);
  if (s.releasedRecorded[slot]) check(cudaStreamWaitEvent(s.copies, s.released[slot], 0), "prefetch");
  check(cudaMemcpyAsync(dst, s.staging[slot], bytes, cudaMemcpyHostToDevice, s.copies), "prefetch");
  check(cudaEventRecord(s.ready[slot], s.copies), "prefetch");
}

void prefetchWait(int slot) {
  bindThread();
  check(cudaStreamWaitEvent(stream(), state().ready[slot], 0), "prefetch_wait");
}

void prefetchRelease(int slot) {
  bindThread();
  State& s = state();
  check(cudaEventRecord(s.released[slot], stream()), "prefetch_release");
  s.releasedRecorded[slot] = true;
}

// Free memory: the driver's figure plus what the pool holds for freed buffers (reused before asking the driver).
bool memoryInfo(int64_t* freeBytes, int64_t* totalBytes) {
  bindThread();
  size_t f = 0, t = 0;
  if (cudaMemGetInfo(&f, &t) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  int64_t pooled = 0;
#if !defined(TESSERA_CUDA_EMULATE)
  cudaMemPool_t pool;
  uint64_t reserved = 0, used = 0;
  if (cudaDeviceGetDefaultMemPool(&pool, state().device) == cudaSuccess &&
      cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReservedMemCurrent, &reserved) == cudaSuccess &&
      cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemCurrent, &used) == cudaSuccess && reserved > used)
    pooled = static_cast<int64_t>(reserved - used);
  cudaGetLastError();
#endif
  *freeBytes = static_cast<int64_t>(f) + pooled;
  *totalBytes = static_cast<int64_t>(t);
  return true;
}

// Table functions: bind the calling thread to the device, then the op.
template <auto F>
struct Bound;
template <class R, class... A, R (*F)(A...)>
struct Bound<F> {
  static R call(A... a) {
    bindThread();
    return F(a...);
  }
};

void sumSquaresOp(double* out, const float* x, int64_t n) { sumSquares(out, x, n); }

Backend gFp32, gBf16;

void fillTables() {
  Backend& b = gFp32;
  b.name = "cuda";
  b.hostMemory = false;
  b.alloc = deviceAlloc;
  b.free = deviceFree;
  b.alloc_host = pinnedAlloc;
  b.free_host = pinnedFree;
  b.zero = zero;
  b.copy_to_device = copyToDevice;
  b.copy_to_host = copyToHost;
  b.copy = copy;
  b.copy_rows = copyRows;
  b.prefetch = prefetch;
  b.prefetch_wait = prefetchWait;
  b.prefetch_release = prefetchRelease;
  b.synchronize = synchronize;
  b.memory_info = memoryInfo;
  b.linear_forward = Bound<linear_forward>::call;
  b.linear_forward_rows = Bound<linear_forward_rows>::call;
  b.linear_backward = Bound<linear_backward>::call;
  b.layernorm_forward = Bound<layernorm_forward>::call;
  b.layernorm_backward = Bound<layernorm_backward>::call;
  b.attention_forward = Bound<attention_forward>::call;
  b.attention_backward = Bound<attention_backward>::call;
  b.attention_saved_floats = attention_saved_floats;
  b.gelu_forward = Bound<gelu_forward>::call;
  b.gelu_backward = Bound<gelu_backward>::call;
  b.swiglu_forward = Bound<swiglu_forward>::call;
  b.swiglu_backward = Bound<swiglu_backward>::call;
  b.residual_scale_forward = Bound<residual_scale_forward>::call;
  b.residual_scale_backward = Bound<residual_scale_backward>::call;
  b.patch_embed_forward = Bound<patch_embed_forward>::call;
  b.patch_embed_backward = Bound<patch_embed_backward>::call;
  b.tokens_forward = Bound<tokens_forward>::call;
  b.tokens_backward = Bound<tokens_backward>::call;
  b.pool_forward = Bound<pool_forward>::call;
  b.pool_backward = Bound<pool_backward>::call;
  b.dropout_forward = Bound<dropout_forward>::call;
  b.dropout_backward = Bound<dropout_backward>::call;
  b.mil_attention_forward = Bound<mil_attention_forward>::call;
  b.mil_attention_backward = Bound<mil_attention_backward>::call;
  b.task_loss = Bound<task_loss>::call;
  b.sum_squares = Bound<sumSquaresOp>::call;
  b.adamw_update = Bound<adamw_update>::call;

  Backend& h = gBf16;
  h = gFp32;
  h.name = "cuda-bf16";
  h.linear_forward = Bound<linear_forward_bf16>::call;
  h.linear_forward_rows = Bound<linear_forward_rows_bf16>::call;
  h.linear_backward = Bound<linear_backward_bf16>::call;
  h.patch_embed_forward = Bound<patch_embed_forward_bf16>::call;
  h.patch_embed_backward = Bound<patch_embed_backward_bf16>::call;
  h.attention_forward = Bound<attention_forward_bf16>::call;
  h.attention_backward = Bound<attention_backward_bf16>::call;
  h.attention_saved_floats = attention_saved_floats_bf16;

  gFp32.fp32 = gBf16.fp32 = &gFp32;
  gFp32.bf16 = gBf16.bf16 = &gBf16;
}

std::string versionString(int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); }

// Finds the devices and the driver; leaves a one-line reason in status.message when there is none. Under the lock.
void probe(State& s) {
  if (s.probed) return;
  s.probed = true;
  fillTables();
  CudaStatus& st = s.status;
  st.compiled = true;
  st.archs = TESSERA_CUDA_ARCHS;
  cudaDriverGetVersion(&st.driverVersion);
  cudaRuntimeGetVersion(&st.runtimeVersion);
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  cudaGetLastError();
  st.deviceCount = e == cudaSuccess ? count : 0;
  if (e == cudaErrorInsufficientDriver && st.driverVersion == 0) {
    st.message = "No NVIDIA driver was found (libcuda is not installed): the engine runs on the CPU.";
  } else if (e == cudaErrorInsufficientDriver) {
    st.message = "The NVIDIA driver (CUDA " + versionString(st.driverVersion) + ") is older than this build's CUDA " +
                 versionString(st.runtimeVersion) + " runtime: update the driver; the engine runs on the CPU.";
  } else if (e == cudaErrorNoDevice || (e == cudaSuccess && count == 0)) {
    st.message = "No CUDA device was found: the engine runs on the CPU.";
  } else if (e != cudaSuccess) {
    st.message = std::string("CUDA could not start (") + cudaGetErrorName(e) + ": " + cudaGetErrorString(e) +
                 "): the engine runs on the CPU.";
  }
  if (s.device < 0) {
    const char* env = std::getenv("TESSERA_CUDA_DEVICE");
    s.device = env && *env ? std::atoi(env) : 0;
  }
}

// Creates the streams and events on the chosen device. Under the lock.
void initialise(State& s) {
  CudaStatus& st = s.status;
  if (s.initialised || st.deviceCount == 0) return;
  if (s.device < 0 || s.device >= st.deviceCount) {
    st.message = "CUDA device " + std::to_string(s.device) + " does not exist (" + std::to_string(st.deviceCount) +
                 " found): the engine runs on the CPU.";
    return;
  }
  auto fail = [&](cudaError_t e, const char* what) {
    cudaGetLastError();
    st.message = std::string("CUDA device ") + std::to_string(s.device) + " could not be used (" + what + ": " +
                 cudaGetErrorName(e) + "): the engine runs on the CPU.";
  };
  cudaError_t e = cudaSetDevice(s.device);
  if (e != cudaSuccess) return fail(e, "cudaSetDevice");
  tBoundDevice = s.device;
  if ((e = cudaGetDeviceProperties(&s.prop, s.device)) != cudaSuccess) return fail(e, "cudaGetDeviceProperties");
  if (s.prop.major < 8) {
    st.message = std::string(s.prop.name) + " (compute capability " + std::to_string(s.prop.major) + "." +
                 std::to_string(s.prop.minor) + ") is older than this build supports (8.0, Ampere): the engine runs "
                 "on the CPU.";
    return;
  }
  if ((e = cudaStreamCreateWithFlags(&s.compute, cudaStreamNonBlocking)) != cudaSuccess) return fail(e, "stream");
  if ((e = cudaStreamCreateWithFlags(&s.copies, cudaStreamNonBlocking)) != cudaSuccess) return fail(e, "stream");
  for (int k = 0; k < 2; k++) {
    if ((e = cudaEventCreateWithFlags(&s.ready[k], cudaEventDisableTiming)) != cudaSuccess) return fail(e, "event");
    if ((e = cudaEventCreateWithFlags(&s.released[k], cudaEventDisableTiming)) != cudaSuccess) return fail(e, "event");
  }
#if !defined(TESSERA_CUDA_EMULATE)
  // Keep freed memory in the pool (the default returns it to the driver at every synchronisation).
  cudaMemPool_t pool;
  if (cudaDeviceGetDefaultMemPool(&pool, s.device) == cudaSuccess) {
    uint64_t keep = ~uint64_t(0);
    cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep);
  }
  cudaGetLastError();
#endif
  s.initialised = true;
  st.available = true;
  st.device = s.device;
  st.deviceName = s.prop.name;
  st.computeMajor = s.prop.major;
  st.computeMinor = s.prop.minor;
  st.multiprocessors = s.prop.multiProcessorCount;
  st.cublasLt = cublasLtLoaded();
  st.cublasLtInfo = cublasLtDescription();
  st.message = std::string("CUDA device ") + std::to_string(s.device) + ": " + s.prop.name + " (compute capability " +
               std::to_string(s.prop.major) + "." + std::to_string(s.prop.minor) + ", " +
               mib(static_cast<int64_t>(s.prop.totalGlobalMem)) + ").";
}

}  // namespace
}  // namespace cuda

CudaStatus cudaStatus() {
  cuda::State& s = cuda::state();
  std::lock_guard<std::mutex> lock(s.mutex);
  cuda::probe(s);
  cuda::initialise(s);
  CudaStatus st = s.status;
  if (st.available) {
    cuda::bindThread();
    cuda::memoryInfo(&st.freeBytes, &st.totalBytes);
  }
  return st;
}

const Backend* cudaBackend() {
  cuda::State& s = cuda::state();
  std::lock_guard<std::mutex> lock(s.mutex);
  cuda::probe(s);
  cuda::initialise(s);
  return s.initialised ? &cuda::gFp32 : nullptr;
}

bool cudaSelectDevice(int index, std::string* error) {
  cuda::State& s = cuda::state();
  std::lock_guard<std::mutex> lock(s.mutex);
  cuda::probe(s);
  if (s.initialised && s.device != index) {
    if (error) *error = "The CUDA backend is already in use on device " + std::to_string(s.device) + ".";
    return false;
  }
  if (index < 0 || index >= s.status.deviceCount) {
    if (error)
      *error = "CUDA device " + std::to_string(index) + " does not exist (" + std::to_string(s.status.deviceCount) +
               " found).";
    return false;
  }
  s.device = index;
  return true;
}

#if !defined(TESSERA_CUDA_EMULATE)
namespace {
// A figure of the device's default memory pool (the one cudaMallocAsync draws from), after the queued work.
uint64_t poolAttribute(cudaMemPoolAttr attr) {
  cuda::State& s = cuda::state();
  uint64_t v = 0;
  cudaMemPool_t pool;
  if (!s.initialised) return 0;
  cuda::bindThread();
  cudaStreamSynchronize(cuda::stream());
  if (cudaDeviceGetDefaultMemPool(&pool, s.device) != cudaSuccess || cudaMemPoolGetAttribute(pool, attr, &v) != cudaSuccess)
    v = 0;
  cudaGetLastError();
  return v;
}
}  // namespace

int64_t cudaMemoryInUse() { return static_cast<int64_t>(poolAttribute(cudaMemPoolAttrUsedMemCurrent)); }

int64_t cudaPeakMemoryInUse(bool reset) {
  const int64_t peak = static_cast<int64_t>(poolAttribute(cudaMemPoolAttrUsedMemHigh));
  cuda::State& s = cuda::state();
  cudaMemPool_t pool;
  uint64_t zero = 0;  // resetting the high-water mark sets it to the current use
  if (reset && s.initialised && cudaDeviceGetDefaultMemPool(&pool, s.device) == cudaSuccess)
    cudaMemPoolSetAttribute(pool, cudaMemPoolAttrUsedMemHigh, &zero);
  cudaGetLastError();
  return peak;
}
#else
int64_t cudaMemoryInUse() { return 0; }  // the emulator keeps no pool figures
int64_t cudaPeakMemoryInUse(bool) { return 0; }
#endif

void cudaUseCublasLt(bool on) { cuda::setCublasLtEnabled(on); }

}  // namespace tessera
