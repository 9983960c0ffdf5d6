// Peak probes; see peak_flops.h. Each probe runs short timed trials on every thread at once and keeps the fastest,
// since on a shared machine other processes only ever make a trial slower.
#include "peak_flops.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "../engine/cpu_features.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include "../engine/x86_simd.h"
#define TESSERA_PEAK_X86 1
#endif

namespace tessera_binding {

namespace {

#ifdef TESSERA_PEAK_X86
// Enough independent accumulators to cover the latency (4-5 cycles) of two FMA ports.
__attribute__((target("avx2,fma"))) float avx2Loop(int64_t iters) {
  constexpr int kChains = 12;
  __m256 a[kChains];
  for (int i = 0; i < kChains; ++i) a[i] = _mm256_set1_ps(0.001f * static_cast<float>(i));
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (int64_t k = 0; k < iters; ++k)
    for (int i = 0; i < kChains; ++i) a[i] = _mm256_fmadd_ps(a[i], m, c);
  __m256 s = a[0];
  for (int i = 1; i < kChains; ++i) s = _mm256_add_ps(s, a[i]);
  return _mm256_cvtss_f32(s);  // returned so the loop is not optimised away
}

__attribute__((target("avx512f,fma"))) float avx512Loop(int64_t iters) {
  constexpr int kChains = 16;
  __m512 a[kChains];
  for (int i = 0; i < kChains; ++i) a[i] = _mm512_set1_ps(0.001f * static_cast<float>(i));
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (int64_t k = 0; k < iters; ++k)
    for (int i = 0; i < kChains; ++i) a[i] = _mm512_fmadd_ps(a[i], m, c);
  __m512 s = a[0];
  for (int i = 1; i < kChains; ++i) s = _mm512_add_ps(s, a[i]);
  return _mm512_cvtss_f32(s);
}

__attribute__((target("avx512f,avx512bf16"))) float bf16Loop(int64_t iters) {
  constexpr int kChains = 16;
  __m512 a[kChains];
  for (int i = 0; i < kChains; ++i) a[i] = _mm512_set1_ps(0.001f * static_cast<float>(i));
  // 1.0 and 2^-24 in bf16: the sums grow slowly and never reach denormals or infinities.
  const __m512bh one = (__m512bh)_mm512_set1_epi16(0x3f80), tiny = (__m512bh)_mm512_set1_epi16(0x3380);
  for (int64_t k = 0; k < iters; ++k)
    for (int i = 0; i < kChains; ++i) a[i] = _mm512_dpbf16_ps(a[i], one, tiny);
  __m512 s = a[0];
  for (int i = 1; i < kChains; ++i) s = _mm512_add_ps(s, a[i]);
  return _mm512_cvtss_f32(s);
}
#endif

struct Probe {
  float (*loop)(int64_t);
  double flopsPerIter;
};

bool probeFor(PeakUnit unit, Probe* p) {
#ifdef TESSERA_PEAK_X86
  switch (unit) {
    case PeakUnit::Avx2Fma:
      if (!tessera::cpuHasAvx2Fma()) return false;
      *p = {avx2Loop, 12.0 * 8 * 2};
      return true;
    case PeakUnit::Avx512Fma:
      if (!tessera::cpuHasAvx512()) return false;
      *p = {avx512Loop, 16.0 * 16 * 2};
      return true;
    case PeakUnit::Avx512Bf16:
      if (!tessera::cpuHasAvx512Bf16()) return false;
      *p = {bf16Loop, 16.0 * 16 * 2 * 2};
      return true;
  }
#else
  (void)unit;
  (void)p;
#endif
  return false;
}

double secondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

double measurePeakGflops(PeakUnit unit, int threads, double seconds) {
  Probe probe{};
  if (!probeFor(unit, &probe)) return 0.0;
  threads = std::max(1, threads);
  constexpr int kTrials = 5;
  const double trialSeconds = std::max(0.01, seconds / kTrials);
  // Calibrate the iteration count of one trial on one thread.
  int64_t iters = 1 << 16;
  volatile float keep = 0;  // results must be used or the compiler drops the loop
  for (;;) {
    const auto t0 = std::chrono::steady_clock::now();
    keep = keep + probe.loop(iters);
    const double dt = secondsSince(t0);
    if (dt > trialSeconds / 4 || iters > (int64_t(1) << 36)) {
      iters = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(iters) * trialSeconds / dt));
      break;
    }
    iters *= 4;
  }
  double best = 0.0;
  std::vector<float> sink(static_cast<size_t>(threads));
  for (int trial = 0; trial < kTrials; ++trial) {
    std::vector<std::thread> pool;
    const auto t0 = std::chrono::steady_clock::now();
    for (int t = 1; t < threads; ++t)
      pool.emplace_back([&, t] { sink[static_cast<size_t>(t)] = probe.loop(iters); });
    sink[0] = probe.loop(iters);
    for (auto& th : pool) th.join();
    const double dt = secondsSince(t0);
    best = std::max(best, static_cast<double>(iters) * probe.flopsPerIter * threads / dt / 1e9);
  }
  for (float v : sink) keep = keep + v;
  return best;
}

}  // namespace tessera_binding
