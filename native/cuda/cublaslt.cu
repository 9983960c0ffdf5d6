// Matrix products through cuBLASLt, loaded with dlopen at first use so the addon needs neither its headers at build
// time nor the library at run time: the few types, constants and entry points used are declared here, with the
// values of cublasLt.h (CUDA 12 and 13). Where the library is absent, of another major version than our runtime, or
// a call fails, gemm() falls back to the backend's own kernels (ops_gemm.cu).
//
// Our row-major C (M,N) = A (M,K) B (K,N) is cuBLASLt's column-major D (N,M) = op(B') op(A'), B' and A' being our
// operands read column-major. fp32 mode: CUBLAS_COMPUTE_32F (exact fp32); bf16 mode: CUBLAS_COMPUTE_32F_FAST_16BF
// (fp32 in and out, bf16 tensor-core products, fp32 accumulation), so the operands need no conversion pass.
// Algorithms come from the library's heuristic, told the operands' real alignment, and are cached per shape.
#include "cuda_internal.h"

#if !defined(TESSERA_CUDA_EMULATE)
#include <dlfcn.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <tuple>
#endif

namespace tessera {
namespace cuda {

namespace {
bool gEnabled = true;
}  // namespace

bool cublasLtEnabled() { return gEnabled && cublasLtLoaded(); }
void setCublasLtEnabled(bool on) { gEnabled = on; }

#if defined(TESSERA_CUDA_EMULATE)

bool cublasLtLoaded() { return false; }
std::string cublasLtDescription() { return "not used by the CPU emulator"; }
bool cublasLtGemm(int64_t, int64_t, int64_t, Mat, Mat, float*, int64_t, bool, const float*, bool) { return false; }

#else

namespace {

// ---- the declarations of cublasLt.h that are used ------------------------------------------------------------------
using Status = int;  // cublasStatus_t; 0 = CUBLAS_STATUS_SUCCESS
using Handle = void*;
using MatmulDesc = void*;
using Layout = void*;
using Preference = void*;
struct Algo {
  uint64_t data[8];
};
struct HeuristicResult {
  Algo algo;
  size_t workspaceSize;
  Status state;
  float wavesCount;
  int reserved[4];
};
constexpr int kR32F = 0;                      // CUDA_R_32F
constexpr int kCompute32F = 68;               // CUBLAS_COMPUTE_32F
constexpr int kCompute32FFast16BF = 75;       // CUBLAS_COMPUTE_32F_FAST_16BF
constexpr int kOpN = 0, kOpT = 1;             // CUBLAS_OP_N, CUBLAS_OP_T
constexpr int kDescTransA = 3, kDescTransB = 4, kDescEpilogue = 7, kDescBiasPointer = 8;
constexpr uint32_t kEpilogueDefault = 1, kEpilogueBias = 4;
constexpr int kPrefMaxWorkspace = 1, kPrefMinAlignA = 5, kPrefMinAlignB = 6, kPrefMinAlignC = 7, kPrefMinAlignD = 8;
constexpr size_t kWorkspaceBytes = size_t(32) << 20;

struct Api {
  Status (*create)(Handle*);
  size_t (*getVersion)();
  size_t (*getCudartVersion)();
  Status (*descCreate)(MatmulDesc*, int, int);
  Status (*descDestroy)(MatmulDesc);
  Status (*descSetAttribute)(MatmulDesc, int, const void*, size_t);
  Status (*layoutCreate)(Layout*, int, uint64_t, uint64_t, int64_t);
  Status (*layoutDestroy)(Layout);
  Status (*prefCreate)(Preference*);
  Status (*prefDestroy)(Preference);
  Status (*prefSetAttribute)(Preference, int, const void*, size_t);
  Status (*heuristic)(Handle, MatmulDesc, Layout, Layout, Layout, Layout, Preference, int, HeuristicResult*, int*);
  Status (*matmul)(Handle, MatmulDesc, const void*, const void*, Layout, const void*, Layout, const void*, const void*,
                   Layout, void*, Layout, const Algo*, void*, size_t, cudaStream_t);
};

// One cached plan per problem shape: descriptors and the chosen algorithm.
struct Plan {
  MatmulDesc desc = nullptr;
  Layout a = nullptr, b = nullptr, d = nullptr;
  Algo algo{};
  bool ok = false;
};

using PlanKey = std::tuple<int64_t, int64_t, int64_t, int, int, int64_t, int64_t, int64_t, uint32_t, uint32_t, uint32_t,
                           uint32_t, bool, bool>;

struct Library {
  std::once_flag once;
  bool loaded = false;
  std::string description = "not loaded";
  Api api{};
  Handle handle = nullptr;
  void* workspace = nullptr;
  std::mutex plansMutex;
  std::map<PlanKey, Plan> plans;
};

Library& lib() {
  static Library l;
  return l;
}

template <class F>
bool bind(void* h, const char* name, F& fn) {
  fn = reinterpret_cast<F>(dlsym(h, name));
  return fn != nullptr;
}

void load() {
  Library& L = lib();
  int runtime = 0;
  cudaRuntimeGetVersion(&runtime);
  const std::string wanted = "libcublasLt.so." + std::to_string(runtime / 1000);
  const char* env = std::getenv("TESSERA_CUBLASLT");
  if (env && std::string(env) == "0") {
    L.description = "switched off (TESSERA_CUBLASLT=0)";
    return;
  }
  const std::string path = env && *env ? env : wanted;
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    L.description = "not found (" + path + "; set TESSERA_CUBLASLT to its path)";
    return;
  }
  Api& a = L.api;
  const bool all = bind(h, "cublasLtCreate", a.create) && bind(h, "cublasLtGetVersion", a.getVersion) &&
                   bind(h, "cublasLtGetCudartVersion", a.getCudartVersion) &&
                   bind(h, "cublasLtMatmulDescCreate", a.descCreate) && bind(h, "cublasLtMatmulDescDestroy", a.descDestroy) &&
                   bind(h, "cublasLtMatmulDescSetAttribute", a.descSetAttribute) &&
                   bind(h, "cublasLtMatrixLayoutCreate", a.layoutCreate) &&
                   bind(h, "cublasLtMatrixLayoutDestroy", a.layoutDestroy) &&
                   bind(h, "cublasLtMatmulPreferenceCreate", a.prefCreate) &&
                   bind(h, "cublasLtMatmulPreferenceDestroy", a.prefDestroy) &&
                   bind(h, "cublasLtMatmulPreferenceSetAttribute", a.prefSetAttribute) &&
                   bind(h, "cublasLtMatmulAlgoGetHeuristic", a.heuristic) && bind(h, "cublasLtMatmul", a.matmul);
  if (!all) {
    L.description = path + " lacks an entry point this build uses";
    return;
  }
  const size_t libRuntime = a.getCudartVersion();
  if (static_cast<int>(libRuntime / 1000) != runtime / 1000) {
    L.description = path + " is built for CUDA " + std::to_string(libRuntime / 1000) + ", this runtime is " +
                    std::to_string(runtime / 1000);
    return;
  }
  if (a.create(&L.handle) != 0) {
    L.description = path + ": cublasLtCreate failed";
    return;
  }
  if (cudaMalloc(&L.workspace, kWorkspaceBytes) != cudaSuccess) {
    cudaGetLastError();
    L.description = path + ": no memory for its workspace";
    return;
  }
  L.loaded = true;
  L.description = path + " (version " + std::to_string(a.getVersion()) + ")";
}

// The largest power of two (up to 256) dividing the address of every row of a matrix.
uint32_t alignmentOf(const void* p, int64_t ldElements) {
  uint64_t bits = reinterpret_cast<uint64_t>(p) | static_cast<uint64_t>(ldElements * 4) | 256;
  return static_cast<uint32_t>(bits & (~bits + 1));
}

}  // namespace

bool cublasLtLoaded() {
  Library& L = lib();
  std::call_once(L.once, load);
  return L.loaded;
}

std::string cublasLtDescription() {
  cublasLtLoaded();
  return lib().description;
}

bool cublasLtGemm(int64_t M, int64_t N, int64_t K, Mat A, Mat B, float* C, int64_t ldc, bool accumulate,
                  const float* bias, bool bf16) {
  if (!cublasLtLoaded() || K <= 0) return false;
  // cuBLASLt's first operand is our B, its second our A (see the top of the file).
  int opA, opB;
  int64_t ldA, ldB;
  uint64_t rowsA, colsA, rowsB, colsB;
  if (B.cs == 1) {  // row-major B: column-major (N,K)
    opA = kOpN, ldA = B.rs, rowsA = N, colsA = K;
  } else if (B.rs == 1) {  // column-major (K,N)
    opA = kOpT, ldA = B.cs, rowsA = K, colsA = N;
  } else {
    return false;
  }
  if (A.cs == 1) {
    opB = kOpN, ldB = A.rs, rowsB = K, colsB = M;
  } else if (A.rs == 1) {
    opB = kOpT, ldB = A.cs, rowsB = M, colsB = K;
  } else {
    return false;
  }
  if (ldA < static_cast<int64_t>(rowsA) || ldB < static_cast<int64_t>(rowsB) || ldc < N) return false;
  Library& L = lib();
  const Api& api = L.api;
  const uint32_t alA = alignmentOf(B.p, ldA), alB = alignmentOf(A.p, ldB), alC = alignmentOf(C, ldc),
                 alBias = bias ? alignmentOf(bias, 0) : 256;
  const PlanKey key{M, N, K, opA, opB, ldA, ldB, ldc, alA, alB, alC, alBias, bias != nullptr, bf16};
  std::lock_guard<std::mutex> lock(L.plansMutex);
  auto it = L.plans.find(key);
  if (it == L.plans.end()) {
    Plan plan;
    const int compute = bf16 ? kCompute32FFast16BF : kCompute32F;
    const uint32_t epilogue = bias ? kEpilogueBias : kEpilogueDefault;
    bool ok = api.descCreate(&plan.desc, compute, kR32F) == 0 &&
              api.descSetAttribute(plan.desc, kDescTransA, &opA, sizeof opA) == 0 &&
              api.descSetAttribute(plan.desc, kDescTransB, &opB, sizeof opB) == 0 &&
              api.descSetAttribute(plan.desc, kDescEpilogue, &epilogue, sizeof epilogue) == 0 &&
              (!bias || api.descSetAttribute(plan.desc, kDescBiasPointer, &bias, sizeof bias) == 0) &&
              api.layoutCreate(&plan.a, kR32F, rowsA, colsA, ldA) == 0 &&
              api.layoutCreate(&plan.b, kR32F, rowsB, colsB, ldB) == 0 &&
              api.layoutCreate(&plan.d, kR32F, static_cast<uint64_t>(N), static_cast<uint64_t>(M), ldc) == 0;
    Preference pref = nullptr;
    if (ok && api.prefCreate(&pref) == 0) {
      const uint64_t ws = kWorkspaceBytes;
      const uint32_t alD = alC;
      ok = api.prefSetAttribute(pref, kPrefMaxWorkspace, &ws, sizeof ws) == 0 &&
           api.prefSetAttribute(pref, kPrefMinAlignA, &alA, sizeof alA) == 0 &&
           api.prefSetAttribute(pref, kPrefMinAlignB, &alB, sizeof alB) == 0 &&
           api.prefSetAttribute(pref, kPrefMinAlignC, &alC, sizeof alC) == 0 &&
           api.prefSetAttribute(pref, kPrefMinAlignD, &alD, sizeof alD) == 0;
      HeuristicResult result{};
      int found = 0;
      ok = ok && api.heuristic(L.handle, plan.desc, plan.a, plan.b, plan.d, plan.d, pref, 1, &result, &found) == 0 &&
           found > 0 && result.state == 0 && result.workspaceSize <= kWorkspaceBytes;
      if (ok) plan.algo = result.algo;
      api.prefDestroy(pref);
    } else {
      ok = false;
    }
    plan.ok = ok;
    it = L.plans.emplace(key, plan).first;
  }
  Plan& plan = it->second;
  if (!plan.ok) return false;
  if (bias && api.descSetAttribute(plan.desc, kDescBiasPointer, &bias, sizeof bias) != 0) return false;
  const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  const Status st = api.matmul(L.handle, plan.desc, &alpha, B.p, plan.a, A.p, plan.b, &beta, C, plan.d, C, plan.d,
                               &plan.algo, L.workspace, kWorkspaceBytes, stream());
  return st == 0;
}

#endif

}  // namespace cuda
}  // namespace tessera
