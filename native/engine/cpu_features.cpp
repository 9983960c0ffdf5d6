// CPUID-based path choice (see cpu_features.h). GCC/Clang's __builtin_cpu_supports also checks that the OS saves
// the AVX / AVX-512 register state (XCR0), so a feature it reports is usable.
#include "cpu_features.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace tessera {

namespace {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
bool has(const char* what) {
  __builtin_cpu_init();
  if (std::strcmp(what, "avx2") == 0) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (std::strcmp(what, "avx512") == 0)
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
  if (std::strcmp(what, "avx512bf16") == 0) return __builtin_cpu_supports("avx512bf16");
  return false;
}
#else
bool has(const char*) { return false; }
#endif

CpuPath choosePath() {
  const CpuPath widest = widestCpuPath();
  const char* portable = std::getenv("TESSERA_PORTABLE");
  if (portable && portable[0] == '1') return CpuPath::Portable;
  const char* env = std::getenv("TESSERA_CPU_PATH");
  if (!env || !env[0]) return widest;
  CpuPath asked;
  if (std::strcmp(env, "portable") == 0) asked = CpuPath::Portable;
  else if (std::strcmp(env, "avx2") == 0) asked = CpuPath::Avx2;
  else if (std::strcmp(env, "avx512") == 0) asked = CpuPath::Avx512;
  else {
    std::fprintf(stderr, "tessera: TESSERA_CPU_PATH=%s is not one of portable, avx2, avx512; using %s.\n", env,
                 cpuPathName(widest));
    return widest;
  }
  if (asked > widest) {
    std::fprintf(stderr, "tessera: TESSERA_CPU_PATH=%s: this CPU lacks it; using %s.\n", env, cpuPathName(widest));
    return widest;
  }
  return asked;
}
}  // namespace

bool cpuHasAvx2Fma() {
  static const bool yes = has("avx2");
  return yes;
}

bool cpuHasAvx512() {
  static const bool yes = has("avx512");
  return yes;
}

bool cpuHasAvx512Bf16() {
  static const bool yes = cpuHasAvx512() && has("avx512bf16");
  return yes;
}

CpuPath widestCpuPath() {
  if (cpuHasAvx512()) return CpuPath::Avx512;
  if (cpuHasAvx2Fma()) return CpuPath::Avx2;
  return CpuPath::Portable;
}

namespace {
std::atomic<int> pathInUse{-1};  // -1 until first asked: then TESSERA_CPU_PATH or the widest
}  // namespace

CpuPath cpuPath() {
  int p = pathInUse.load(std::memory_order_relaxed);
  if (p < 0) {
    int unset = -1;
    pathInUse.compare_exchange_strong(unset, static_cast<int>(choosePath()));
    p = pathInUse.load();
  }
  return static_cast<CpuPath>(p);
}

CpuPath setCpuPath(CpuPath p) {
  if (p > widestCpuPath()) p = widestCpuPath();
  pathInUse.store(static_cast<int>(p));
  return p;
}

const char* cpuPathName(CpuPath p) {
  switch (p) {
    case CpuPath::Avx512:
      return "avx512";
    case CpuPath::Avx2:
      return "avx2";
    default:
      return "portable";
  }
}

}  // namespace tessera
