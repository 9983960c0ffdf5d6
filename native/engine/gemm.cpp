// Packed, cache-blocked SGEMM (the BLIS loop order): for each NC-wide column block of B and KC-deep slice
// of K, pack B into NR-wide panels; for each MC-tall block of A pack it into MR-tall panels; run the MRxNR
// micro-kernel over the panels. Edge tiles go through a small buffer.
#include "gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cpu_features.h"
#include "threads.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define TESSERA_X86 1
#endif

namespace tessera {

namespace {

constexpr int MR = 6;
constexpr int NR = 16;
constexpr int64_t KC = 256;
constexpr int64_t MC = 96;  // multiple of MR
constexpr int64_t NC = 1024;  // multiple of NR

// c (MR x NR tile, row stride ldc) = or += sum_k a[k][0..MR) * b[k][0..NR)
using Kernel = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool acc);

#if defined(__GNUC__) || defined(__clang__)
// Portable kernel with GCC/Clang generic vectors (SSE2 on any x86-64, NEON on arm64): the 16 columns in two
// halves of 8 so the 12 accumulators fit in 16 vector registers.
typedef float v4f __attribute__((vector_size(16)));

inline v4f load4(const float* p) {
  v4f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

void kernelPortable(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool acc) {
  for (int h = 0; h < 2; h++) {
    v4f lo[MR], hi[MR];
    for (int i = 0; i < MR; i++) lo[i] = hi[i] = v4f{0.0f, 0.0f, 0.0f, 0.0f};
    const float* bp = b + h * 8;
    for (int64_t k = 0; k < kc; k++) {
      const v4f b0 = load4(bp + k * NR), b1 = load4(bp + k * NR + 4);
      const float* ak = a + k * MR;
      for (int i = 0; i < MR; i++) {
        lo[i] += ak[i] * b0;
        hi[i] += ak[i] * b1;
      }
    }
    for (int i = 0; i < MR; i++) {
      float t[8];
      std::memcpy(t, &lo[i], sizeof lo[i]);
      std::memcpy(t + 4, &hi[i], sizeof hi[i]);
      float* ci = c + i * ldc + h * 8;
      for (int j = 0; j < 8; j++) ci[j] = acc ? ci[j] + t[j] : t[j];
    }
  }
}
#else
void kernelPortable(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool acc) {
  float t[MR][NR] = {};
  for (int64_t k = 0; k < kc; k++) {
    const float* ak = a + k * MR;
    const float* bk = b + k * NR;
    for (int i = 0; i < MR; i++)
      for (int j = 0; j < NR; j++) t[i][j] += ak[i] * bk[j];
  }
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) c[i * ldc + j] = acc ? c[i * ldc + j] + t[i][j] : t[i][j];
}
#endif

#ifdef TESSERA_X86
__attribute__((target("avx2,fma"))) void kernelAvx2(int64_t kc, const float* a, const float* b, float* c,
                                                    int64_t ldc, bool acc) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(),
         c11 = _mm256_setzero_ps(), c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(),
         c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps(), c40 = _mm256_setzero_ps(),
         c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; k++) {
    const __m256 b0 = _mm256_loadu_ps(b);
    const __m256 b1 = _mm256_loadu_ps(b + 8);
    __m256 a0 = _mm256_broadcast_ss(a + 0);
    __m256 a1 = _mm256_broadcast_ss(a + 1);
    c00 = _mm256_fmadd_ps(a0, b0, c00);
    c01 = _mm256_fmadd_ps(a0, b1, c01);
    c10 = _mm256_fmadd_ps(a1, b0, c10);
    c11 = _mm256_fmadd_ps(a1, b1, c11);
    a0 = _mm256_broadcast_ss(a + 2);
    a1 = _mm256_broadcast_ss(a + 3);
    c20 = _mm256_fmadd_ps(a0, b0, c20);
    c21 = _mm256_fmadd_ps(a0, b1, c21);
    c30 = _mm256_fmadd_ps(a1, b0, c30);
    c31 = _mm256_fmadd_ps(a1, b1, c31);
    a0 = _mm256_broadcast_ss(a + 4);
    a1 = _mm256_broadcast_ss(a + 5);
    c40 = _mm256_fmadd_ps(a0, b0, c40);
    c41 = _mm256_fmadd_ps(a0, b1, c41);
    c50 = _mm256_fmadd_ps(a1, b0, c50);
    c51 = _mm256_fmadd_ps(a1, b1, c51);
    a += MR;
    b += NR;
  }
  __m256 r[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  for (int i = 0; i < MR; i++) {
    float* ci = c + i * ldc;
    if (acc) {
      r[i][0] = _mm256_add_ps(r[i][0], _mm256_loadu_ps(ci));
      r[i][1] = _mm256_add_ps(r[i][1], _mm256_loadu_ps(ci + 8));
    }
    _mm256_storeu_ps(ci, r[i][0]);
    _mm256_storeu_ps(ci + 8, r[i][1]);
  }
}
#endif

Kernel chooseKernel() {
#ifdef TESSERA_X86
  if (useAvx2Fma()) return kernelAvx2;
#endif
  return kernelPortable;
}

Kernel kernel() {
  static const Kernel k = chooseKernel();
  return k;
}

// Pack rows [0,mc) x k [0,kc) of A into MR-tall panels: panel p holds, for each k, MR consecutive values.
void packA(int64_t mc, int64_t kc, const float* a, int64_t rs, int64_t cs, float* out) {
  for (int64_t i0 = 0; i0 < mc; i0 += MR) {
    const int64_t mr = std::min<int64_t>(MR, mc - i0);
    for (int64_t k = 0; k < kc; k++) {
      const float* src = a + i0 * rs + k * cs;
      for (int64_t i = 0; i < mr; i++) out[i] = src[i * rs];
      for (int64_t i = mr; i < MR; i++) out[i] = 0.0f;
      out += MR;
    }
  }
}

// Pack k [0,kc) x columns [0,nc) of B into NR-wide panels.
void packB(int64_t kc, int64_t nc, const float* b, int64_t rs, int64_t cs, float* out) {
  for (int64_t j0 = 0; j0 < nc; j0 += NR) {
    const int64_t nr = std::min<int64_t>(NR, nc - j0);
    if (rs == 1) {
      // Transposed operand (a weight matrix read as W^T): walk each source row contiguously.
      for (int64_t j = 0; j < NR; j++) {
        if (j < nr) {
          const float* src = b + (j0 + j) * cs;
          for (int64_t k = 0; k < kc; k++) out[k * NR + j] = src[k];
        } else {
          for (int64_t k = 0; k < kc; k++) out[k * NR + j] = 0.0f;
        }
      }
      out += kc * NR;
      continue;
    }
    for (int64_t k = 0; k < kc; k++) {
      const float* src = b + k * rs + j0 * cs;
      if (cs == 1 && nr == NR) {
        std::memcpy(out, src, sizeof(float) * NR);
      } else {
        for (int64_t j = 0; j < nr; j++) out[j] = src[j * cs];
        for (int64_t j = nr; j < NR; j++) out[j] = 0.0f;
      }
      out += NR;
    }
  }
}

struct Scratch {
  std::vector<float> a, b;
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

}  // namespace

const char* gemmKernelName() { return kernel() == kernelPortable ? "portable" : "avx2-fma"; }

namespace {

// C block (mc rows from ic, NR-panels [p0, p1) of the packed B) += / = packed A . packed B
void computeBlock(Kernel kern, int64_t mc, int64_t nc, int64_t kc, int64_t p0, int64_t p1, const float* pa,
                  const float* pb, float* C, int64_t ldc, bool acc) {
  float edge[MR * NR];
  for (int64_t p = p0; p < p1; p++) {
    const int64_t jr = p * NR, nr = std::min<int64_t>(NR, nc - jr);
    const float* bp = pb + p * kc * NR;
    for (int64_t ir = 0; ir < mc; ir += MR) {
      const int64_t mr = std::min<int64_t>(MR, mc - ir);
      const float* ap = pa + (ir / MR) * kc * MR;
      float* c = C + ir * ldc + jr;
      if (mr == MR && nr == NR) {
        kern(kc, ap, bp, c, ldc, acc);
      } else {
        kern(kc, ap, bp, edge, NR, false);
        for (int64_t i = 0; i < mr; i++)
          for (int64_t j = 0; j < nr; j++)
            c[i * ldc + j] = acc ? c[i * ldc + j] + edge[i * NR + j] : edge[i * NR + j];
      }
    }
  }
}

void zeroOrKeep(int64_t M, int64_t N, float* C, int64_t ldc, bool accumulate) {
  if (!accumulate)
    for (int64_t i = 0; i < M; i++) std::memset(C + i * ldc, 0, sizeof(float) * N);
}

}  // namespace

void gemmSerial(int64_t M, int64_t N, int64_t K, MatView A, MatView B, float* C, int64_t ldc, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) return zeroOrKeep(M, N, C, ldc, accumulate);
  const Kernel kern = kernel();
  Scratch& s = scratch();
  s.a.resize(static_cast<size_t>(MC * KC));
  s.b.resize(static_cast<size_t>(KC * ((std::min(NC, N) + NR - 1) / NR * NR)));
  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min(NC, N - jc), panels = (nc + NR - 1) / NR;
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min(KC, K - pc);
      packB(kc, nc, B.p + pc * B.rs + jc * B.cs, B.rs, B.cs, s.b.data());
      for (int64_t ic = 0; ic < M; ic += MC) {
        const int64_t mc = std::min(MC, M - ic);
        packA(mc, kc, A.p + ic * A.rs + pc * A.cs, A.rs, A.cs, s.a.data());
        computeBlock(kern, mc, nc, kc, 0, panels, s.a.data(), s.b.data(), C + ic * ldc + jc, ldc,
                     accumulate || pc > 0);
      }
    }
  }
}

// Parallel version of the same loops: B's panel for each (jc, pc) is packed once, shared by all threads;
// the (MC-row block x panel range) tasks are handed out dynamically, which also balances load when other
// processes take a core. Each C element is still summed in the same k order as gemmSerial.
void gemm(int64_t M, int64_t N, int64_t K, MatView A, MatView B, float* C, int64_t ldc, bool accumulate) {
  const int threads = poolThreads();
  const double flops = 2.0 * M * N * K;
  if (threads <= 1 || flops < 2e6) return gemmSerial(M, N, K, A, B, C, ldc, accumulate);
  if (M <= 0 || N <= 0) return;
  if (K <= 0) return zeroOrKeep(M, N, C, ldc, accumulate);
  const Kernel kern = kernel();
  std::vector<float> packedB(static_cast<size_t>(KC * ((std::min(NC, N) + NR - 1) / NR * NR)));
  const int64_t mblocks = (M + MC - 1) / MC;
  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min(NC, N - jc), panels = (nc + NR - 1) / NR;
    // Enough tasks to keep every thread busy: split the panels too when there are few row blocks.
    const int64_t nsplit = std::min<int64_t>(panels, std::max<int64_t>(1, (3 * threads + mblocks - 1) / mblocks));
    const int64_t perSplit = (panels + nsplit - 1) / nsplit;
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min(KC, K - pc);
      const bool acc = accumulate || pc > 0;
      const int64_t packTasks = std::min<int64_t>(panels, 2 * threads), perPack = (panels + packTasks - 1) / packTasks;
      parallelFor(packTasks, [&](int64_t t) {
        const int64_t p0 = t * perPack, p1 = std::min(panels, p0 + perPack);
        if (p0 >= p1) return;
        const int64_t j0 = p0 * NR, cols = std::min(nc, p1 * NR) - j0;
        packB(kc, cols, B.p + pc * B.rs + (jc + j0) * B.cs, B.rs, B.cs, packedB.data() + p0 * kc * NR);
      });
      parallelFor(mblocks * nsplit, [&](int64_t t) {
        const int64_t ib = t / nsplit, p0 = (t % nsplit) * perSplit, p1 = std::min(panels, p0 + perSplit);
        if (p0 >= p1) return;
        const int64_t ic = ib * MC, mc = std::min(MC, M - ic);
        Scratch& s = scratch();
        s.a.resize(static_cast<size_t>(MC * KC));
        packA(mc, kc, A.p + ic * A.rs + pc * A.cs, A.rs, A.cs, s.a.data());
        computeBlock(kern, mc, nc, kc, p0, p1, s.a.data(), packedB.data(), C + ic * ldc + jc, ldc, acc);
      });
    }
  }
}

}  // namespace tessera
