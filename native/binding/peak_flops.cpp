// AVX2-FMA peak probe; see peak_flops.h.
#include "peak_flops.h"

#include <immintrin.h>

#include <chrono>
#include <thread>
#include <vector>

namespace tessera_binding {

namespace {

// 10 independent accumulators hide the FMA latency (4-5 cycles) on two ports.
__attribute__((target("avx2,fma"))) double fmaLoop(int64_t iters) {
  __m256 a[10];
  for (int i = 0; i < 10; ++i) a[i] = _mm256_set1_ps(0.001f * static_cast<float>(i));
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (int64_t k = 0; k < iters; ++k) {
    for (int i = 0; i < 10; ++i) a[i] = _mm256_fmadd_ps(a[i], m, c);
  }
  __m256 s = a[0];
  for (int i = 1; i < 10; ++i) s = _mm256_add_ps(s, a[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0];  // returned so the loop is not optimised away
}

}  // namespace

double measurePeakGflops(int threads, double seconds) {
  if (threads < 1) threads = 1;
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return 0.0;
  // Calibrate the iteration count on one thread, then run all threads together.
  int64_t iters = 1 << 20;
  volatile double keep = 0;  // results must be used or the compiler drops the loop
  for (;;) {
    auto t0 = std::chrono::steady_clock::now();
    keep = keep + fmaLoop(iters);
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (dt > seconds / 4 || iters > (int64_t(1) << 36)) {
      iters = static_cast<int64_t>(static_cast<double>(iters) * seconds / dt);
      break;
    }
    iters *= 4;
  }
  std::vector<std::thread> pool;
  std::vector<double> sink(static_cast<size_t>(threads));
  auto t0 = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) pool.emplace_back([&, t] { sink[static_cast<size_t>(t)] = fmaLoop(iters); });
  for (auto& th : pool) th.join();
  double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double flops = static_cast<double>(iters) * 10 * 8 * 2 * threads;  // 10 FMAs x 8 lanes x 2 flops
  for (double v : sink) keep = keep + v;
  return flops / dt / 1e9;
}

}  // namespace tessera_binding
