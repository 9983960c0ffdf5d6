// Packed, cache-blocked SGEMM (the BLIS loop order): for each NC-wide column block of B and KC-deep slice
// of K, pack B into NR-wide panels; for each MC-tall block of A pack it into MR-tall panels; run the MRxNR
// micro-kernel over the panels. Edge tiles go through the kernel set's edge kernel, or a small buffer.
// This file holds the driver and the portable and AVX2 kernel sets (6x16); gemm_avx512.cpp the AVX-512 ones.
#include "gemm.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

#include "cpu_features.h"
#include "gemm_kernels.h"
#include "host_memory.h"
#include "threads.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include "x86_simd.h"
#define TESSERA_X86 1
#endif

namespace tessera {

using namespace gemm_impl;

namespace {

// The portable and AVX2 sets: 6x16 tiles.
constexpr int MR = 6;
constexpr int NR = 16;
constexpr int64_t KC = 256;
constexpr int64_t MC = 96;  // multiple of MR
constexpr int64_t NC = 1024;  // multiple of NR

#if defined(__GNUC__) || defined(__clang__)
// Portable kernel with GCC/Clang generic vectors (SSE2 on any x86-64, NEON on arm64): the 16 columns in two
// halves of 8 so the 12 accumulators fit in 16 vector registers.
typedef float v4f __attribute__((vector_size(16)));

inline v4f load4(const float* p) {
  v4f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

void kernelPortable(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool acc, const float* bias) {
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
      if (bias)
        for (int j = 0; j < 8; j++) ci[j] += bias[h * 8 + j];
    }
  }
}
#else
void kernelPortable(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool acc, const float* bias) {
  float t[MR][NR] = {};
  for (int64_t k = 0; k < kc; k++) {
    const float* ak = a + k * MR;
    const float* bk = b + k * NR;
    for (int i = 0; i < MR; i++)
      for (int j = 0; j < NR; j++) t[i][j] += ak[i] * bk[j];
  }
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) {
      c[i * ldc + j] = acc ? c[i * ldc + j] + t[i][j] : t[i][j];
      if (bias) c[i * ldc + j] += bias[j];
    }
}
#endif

#ifdef TESSERA_X86
__attribute__((target("avx2,fma"))) void kernelAvx2(int64_t kc, const float* a, const float* b, float* c,
                                                    int64_t ldc, bool acc, const float* bias) {
  prefetchTileOfC(c, ldc, MR, NR);
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
    if (bias) {
      r[i][0] = _mm256_add_ps(r[i][0], _mm256_loadu_ps(bias));
      r[i][1] = _mm256_add_ps(r[i][1], _mm256_loadu_ps(bias + 8));
    }
    _mm256_storeu_ps(ci, r[i][0]);
    _mm256_storeu_ps(ci + 8, r[i][1]);
  }
}
#endif

#ifdef TESSERA_X86
// 8x8 transpose of rows r[0..8) in registers.
__attribute__((target("avx2,fma"))) inline void transpose8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

// One full MR-tall panel of a row-major A (cs == 1), 8 k at a time. Each 8-float store spills 2 floats into
// the next k's slot (rewritten by the next store) and, for the last k, past the panel: the buffer has slack.
__attribute__((target("avx2,fma"))) int64_t packPanelARowMajor(int64_t kc, const float* a, int64_t rs, float* out) {
  int64_t k = 0;
  for (; k + 8 <= kc; k += 8) {
    __m256 r[8];
    for (int i = 0; i < MR; i++) r[i] = _mm256_loadu_ps(a + i * rs + k);
    r[6] = r[7] = _mm256_setzero_ps();
    transpose8(r);
    for (int j = 0; j < 8; j++) _mm256_storeu_ps(out + (k + j) * MR, r[j]);
  }
  return k;
}

// One full MR-tall panel of a column-major A (rs == 1, a transposed operand such as dout^T): the MR values of
// each k are contiguous; copied as 4 + 2 so nothing past the panel's rows is read.
__attribute__((target("avx2,fma"))) void packPanelAColMajor(int64_t kc, const float* a, int64_t cs, float* out) {
  for (int64_t k = 0; k < kc; k++) {
    const float* src = a + k * cs;
    _mm_storeu_ps(out + k * MR, _mm_loadu_ps(src));
    _mm_storel_pi(reinterpret_cast<__m64*>(out + k * MR + 4), _mm_loadl_pi(_mm_setzero_ps(), reinterpret_cast<const __m64*>(src + 4)));
  }
}

// NR columns of a B read as W^T (rs == 1: column j is row j of W, contiguous in k), 8 k x 8 columns at a time.
__attribute__((target("avx2,fma"))) int64_t packPanelBTransposed(int64_t kc, const float* b, int64_t cs, float* out) {
  int64_t k = 0;
  for (; k + 8 <= kc; k += 8) {
    for (int h = 0; h < NR; h += 8) {
      __m256 r[8];
      for (int j = 0; j < 8; j++) r[j] = _mm256_loadu_ps(b + (h + j) * cs + k);
      transpose8(r);
      for (int j = 0; j < 8; j++) _mm256_storeu_ps(out + (k + j) * NR + h, r[j]);
    }
  }
  return k;
}
#endif

#ifdef TESSERA_X86
// AVX2 packers: the vector loops for the common layouts, the scalar ones for the rest.
void packAAvx2(int64_t mc, int64_t kc, const float* a, int64_t rs, int64_t cs, float* out) {
  for (int64_t i0 = 0; i0 < mc; i0 += MR) {
    const int64_t mr = std::min<int64_t>(MR, mc - i0);
    int64_t k = 0;
    if (cs == 1 && mr == MR) {
      k = packPanelARowMajor(kc, a + i0 * rs, rs, out);
      out += k * MR;
    } else if (rs == 1 && mr == MR) {
      packPanelAColMajor(kc, a + i0, cs, out);
      k = kc;
      out += k * MR;
    }
    for (; k < kc; k++) {
      const float* src = a + i0 * rs + k * cs;
      for (int64_t i = 0; i < mr; i++) out[i] = src[i * rs];
      for (int64_t i = mr; i < MR; i++) out[i] = 0.0f;
      out += MR;
    }
  }
}

void packBAvx2(int64_t kc, int64_t nc, const float* b, int64_t rs, int64_t cs, float* out) {
  if (rs != 1) return packBGeneric<NR>(kc, nc, b, rs, cs, out);
  // Transposed operand (a weight matrix read as W^T): walk each source row contiguously.
  for (int64_t j0 = 0; j0 < nc; j0 += NR) {
    const int64_t nr = std::min<int64_t>(NR, nc - j0);
    int64_t k0 = 0;
    if (nr == NR) k0 = packPanelBTransposed(kc, b + j0 * cs, cs, out);
    for (int64_t j = 0; j < NR; j++) {
      if (j < nr) {
        const float* src = b + (j0 + j) * cs;
        for (int64_t k = k0; k < kc; k++) out[k * NR + j] = src[k];
      } else {
        for (int64_t k = k0; k < kc; k++) out[k * NR + j] = 0.0f;
      }
    }
    out += kc * NR;
  }
}
#endif

// Portable: the same layout; for W^T, walk each source row contiguously.
void packBPortable(int64_t kc, int64_t nc, const float* b, int64_t rs, int64_t cs, float* out) {
  if (rs != 1) return packBGeneric<NR>(kc, nc, b, rs, cs, out);
  for (int64_t j0 = 0; j0 < nc; j0 += NR) {
    const int64_t nr = std::min<int64_t>(NR, nc - j0);
    for (int64_t j = 0; j < NR; j++) {
      const float* src = b + (j0 + j) * cs;
      for (int64_t k = 0; k < kc; k++) out[k * NR + j] = j < nr ? src[k] : 0.0f;
    }
    out += kc * NR;
  }
}

const KernelSet kPortableSet = {"portable",       MR, NR, KC, MC, NC, 1, kernelPortable, nullptr, packAGeneric<MR>,
                                packBPortable, nullptr, 0};
#ifdef TESSERA_X86
const KernelSet kAvx2Set = {"avx2-fma", MR, NR, KC, MC, NC, 1, kernelAvx2, nullptr, packAAvx2, packBAvx2, nullptr, 0};
#endif

// The fp32 set of the path in use.
const KernelSet& fp32Set() {
  if (useAvx512() && avx512Fp32Set()) return *avx512Fp32Set();
#ifdef TESSERA_X86
  if (useAvx2Fma()) return kAvx2Set;
#endif
  return kPortableSet;
}

// What one GEMM runs: a kernel set, and whether its packed fp32 operands are rounded to bf16 (bf16 emulated on a
// path without vdpbf16ps).
struct Plan {
  const KernelSet& set;
  bool roundToBf16;
};

Plan planFor(Precision p) {
  if (p == Precision::Bf16 && useAvx512Bf16() && avx512Bf16Set()) return {*avx512Bf16Set(), false};
  return {fp32Set(), p == Precision::Bf16};
}

// Whether A is read in place (row-major, a narrow product, a set with kernelRowA, and no bf16 rounding to apply).
bool readsAInPlace(const Plan& pl, MatView A, int64_t N) {
  return pl.set.kernelRowA && !pl.roundToBf16 && A.cs == 1 && N <= pl.set.rowAMaxN;
}

void roundToBf16(float* p, int64_t n) {
  for (int64_t i = 0; i < n; i++) p[i] = fromBf16(toBf16(p[i]));
}

// Packs through the plan's set; the packed size is whole panels (rows or columns rounded up to MR / NR).
void packA(const Plan& pl, int64_t mc, int64_t kc, const float* a, int64_t rs, int64_t cs, float* out) {
  pl.set.packA(mc, kc, a, rs, cs, out);
  if (pl.roundToBf16) roundToBf16(out, (mc + pl.set.mr - 1) / pl.set.mr * pl.set.mr * kc);
}

void packB(const Plan& pl, int64_t kc, int64_t nc, const float* b, int64_t rs, int64_t cs, float* out) {
  pl.set.packB(kc, nc, b, rs, cs, out);
  if (pl.roundToBf16) roundToBf16(out, (nc + pl.set.nr - 1) / pl.set.nr * pl.set.nr * kc);
}

struct Scratch {
  std::vector<float> a, b;
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

// The bias of an edge tile (and of a GEMM with K = 0), added after the full sum as the kernel does.
inline void addBias(int64_t mr, int64_t nr, const float* bias, float* c, int64_t ldc) {
  for (int64_t i = 0; i < mr; i++)
    for (int64_t j = 0; j < nr; j++) c[i * ldc + j] += bias[j];
}

constexpr int kMaxTile = 16 * 32;  // the largest MR * NR of any set
constexpr int64_t kMaxMc = 512;     // the largest MC of any set (row sums of one block on the stack)

// Cache lines a GEMM's compute tasks prefetch (WarmDuringGemm): lines [0, lines) from p.
struct WarmLines {
  const char* p = nullptr;
  int64_t lines = 0;
};
thread_local WarmLines tWarm;

// C block (mc rows, NR-panels [p0, p1) of the packed B) += / = A . packed B; kc k values per panel. A is packed
// (lda = 0) or read in place, row-major with row stride lda (the set's kernelRowA).
// ep (the last k slice only): applied to the block (mc rows, the panels' columns) once its tiles are done; (row0,
// col0) is C's position in the whole product.
void computeBlock(const KernelSet& ks, int64_t mc, int64_t nc, int64_t kc, int64_t p0, int64_t p1, const float* pa,
                  int64_t lda, const float* pb, float* C, int64_t ldc, bool acc, const float* bias,
                  const GemmEpilogue* ep = nullptr, int64_t row0 = 0, int64_t col0 = 0, WarmLines warm = {}) {
  const int64_t mrFull = ks.mr, nrFull = ks.nr, slots = ks.slots(kc);
  alignas(64) float edge[kMaxTile];
  // warm's lines, a few before each tile, into L2 (prefetcht1; L3 keeps what L2 evicts). Alternated per step against
  // none on a ViT-Ti bf16 training step: best-step ratios with a median of 0.993 (10 of 13 under 1); prefetcht2 gave
  // no clear gain (test/bench/RESULTS.md).
  const int64_t tiles = (p1 - p0) * ((mc + mrFull - 1) / mrFull);
  const int64_t warmPerTile = tiles > 0 ? (warm.lines + tiles - 1) / tiles : 0;
  for (int64_t p = p0; p < p1; p++) {
    const int64_t jr = p * nrFull, nr = std::min<int64_t>(nrFull, nc - jr);
    const float* bp = pb + p * slots * nrFull;
    for (int64_t ir = 0; ir < mc; ir += mrFull) {
      for (int64_t w = 0; w < warmPerTile && warm.lines > 0; w++, warm.lines--, warm.p += 64)
        __builtin_prefetch(warm.p, 0, 2);
      const int64_t mr = std::min<int64_t>(mrFull, mc - ir);
      float* c = C + ir * ldc + jr;
      const float* b = bias ? bias + jr : nullptr;
      if (lda > 0) {
        ks.kernelRowA(kc, pa + ir * lda, lda, bp, c, ldc, acc, b, mr, nr);
        continue;
      }
      const float* ap = pa + (ir / mrFull) * slots * mrFull;
      if (mr == mrFull && nr == nrFull) {
        ks.kernel(kc, ap, bp, c, ldc, acc, b);
      } else if (ks.edge) {
        ks.edge(kc, ap, bp, c, ldc, acc, b, mr, nr);
      } else {
        ks.kernel(kc, ap, bp, edge, nrFull, false, nullptr);
        for (int64_t i = 0; i < mr; i++)
          for (int64_t j = 0; j < nr; j++)
            c[i * ldc + j] = acc ? c[i * ldc + j] + edge[i * nrFull + j] : edge[i * nrFull + j];
        if (b) addBias(mr, nr, b, c, ldc);
      }
    }
  }
  // Over the whole block rather than panel by panel: rows of many panels stream through the epilogue's other
  // operands (a GELU backward reads two more arrays) where 32-column pieces of each row would not.
  if (ep && p1 > p0) {
    const int64_t j0 = p0 * nrFull;
    ep->fn(ep->ctx, C + j0, ldc, row0, col0 + j0, mc, std::min(nc, p1 * nrFull) - j0);
  }
}

// The first 64-byte boundary at or after p (packed buffers are allocated 16 floats long): a panel row of NR = 32
// floats then fills whole cache lines, and no 64-byte load of B straddles two of them.
inline float* aligned64(float* p) {
  return reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(p) + 63) & ~static_cast<uintptr_t>(63));
}
constexpr int64_t kAlignSlack = 16;

void zeroOrKeep(int64_t M, int64_t N, float* C, int64_t ldc, bool accumulate) {
  if (!accumulate)
    for (int64_t i = 0; i < M; i++) std::memset(C + i * ldc, 0, sizeof(float) * N);
}


// Row sums of A over one k slice (the bias gradient's column sums of dout, from the weight gradient's A = dout^T):
// out[i] = A[i][k0] + A[i][k0+1] + ... in k order, for the mc rows of the block. From the packed fp32 panels where
// the block was packed (in cache: no second pass over A in memory), else from A itself; the same numbers either way.
// A bf16 plan packs rounded values, so its sums are read from A, the block it has just packed (in L2).
template <int MR>
void sumPackedRows(int64_t mc, int64_t kc, const float* packed, float* out) {
  for (int64_t i0 = 0; i0 < mc; i0 += MR) {
    float s[MR] = {};
    for (int64_t k = 0; k < kc; k++, packed += MR)
      for (int i = 0; i < MR; i++) s[i] += packed[i];
    for (int64_t i = 0; i < MR && i0 + i < mc; i++) out[i0 + i] = s[i];
  }
}

void sliceRowSums(const Plan& pl, int64_t mc, int64_t kc, const float* a, int64_t rs, int64_t cs,
                  const float* packed, float* out) {
  if (packed && pl.set.kPerSlot == 1 && !pl.roundToBf16) {
    if (pl.set.mr == 12) return sumPackedRows<12>(mc, kc, packed, out);
    if (pl.set.mr == 6) return sumPackedRows<6>(mc, kc, packed, out);
  }
  if (rs == 1) {  // a weight gradient's dout^T: k outer, so each read is a run of contiguous rows (the same sums)
    for (int64_t i = 0; i < mc; i++) out[i] = 0.0f;
    for (int64_t k = 0; k < kc; k++) {
      const float* ak = a + k * cs;
      for (int64_t i = 0; i < mc; i++) out[i] += ak[i];
    }
    return;
  }
  for (int64_t i = 0; i < mc; i++) {
    float acc = 0.0f;
    for (int64_t k = 0; k < kc; k++) acc += a[i * rs + k * cs];
    out[i] = acc;
  }
}
// Packs A's block and, when sums is not null, writes its row sums over the slice (sliceRowSums' numbers): in the
// packer's own pass where the set has one for a column-major A (a weight gradient's dout^T, whose block a bf16 plan
// would otherwise read twice: to pack it, then to sum it).
void packAWithRowSums(const Plan& pl, int64_t mc, int64_t kc, const float* a, int64_t rs, int64_t cs, float* out,
                      float* sums) {
  if (sums && rs == 1 && pl.set.packAColMajorRowSums && !pl.roundToBf16)
    return pl.set.packAColMajorRowSums(mc, kc, a, rs, cs, out, sums);
  packA(pl, mc, kc, a, rs, cs, out);
  if (sums) sliceRowSums(pl, mc, kc, a, rs, cs, out, sums);
}
}  // namespace

const char* gemmKernelName(Precision precision) {
  const Plan pl = planFor(precision);
  if (!pl.roundToBf16) return pl.set.name;
  if (&pl.set == &kPortableSet) return "portable+bf16-rounding";
  if (&pl.set == avx512Fp32Set()) return "avx512-12x32+bf16-rounding";
  return "avx2-fma+bf16-rounding";
}

int64_t gemmSliceK(Precision precision) { return planFor(precision).set.kc; }

void gemmSerial(int64_t M, int64_t N, int64_t K, MatView A, MatView B, float* C, int64_t ldc, bool accumulate,
                const float* colBias, Precision precision, const GemmEpilogue* epilogue, float* rowSumsOfA) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    zeroOrKeep(M, N, C, ldc, accumulate);
    if (colBias) addBias(M, N, colBias, C, ldc);
    if (epilogue) epilogue->fn(epilogue->ctx, C, ldc, 0, 0, M, N);
    return;
  }
  const Plan pl = planFor(precision);
  const KernelSet& ks = pl.set;
  const bool direct = readsAInPlace(pl, A, N);
  Scratch& s = scratch();
  // Grown only: attention alternates two sizes per head, and each growth of a vector zero-fills its new floats.
  const auto atLeast = [](std::vector<float>& v, int64_t n) {
    if (v.size() < static_cast<size_t>(n)) v.resize(static_cast<size_t>(n));
  };
  atLeast(s.a, ks.mc * ks.kc + 64 + kAlignSlack);
  atLeast(s.b, ks.kc * ((std::min(ks.nc, N) + ks.nr - 1) / ks.nr * ks.nr) + 64 + kAlignSlack);
  float* const sa = aligned64(s.a.data());
  float* const sb = aligned64(s.b.data());
  for (int64_t jc = 0; jc < N; jc += ks.nc) {
    const int64_t nc = std::min(ks.nc, N - jc), panels = (nc + ks.nr - 1) / ks.nr;
    for (int64_t pc = 0; pc < K; pc += ks.kc) {
      const int64_t kc = std::min(ks.kc, K - pc);
      packB(pl, kc, nc, B.p + pc * B.rs + jc * B.cs, B.rs, B.cs, sb);
      for (int64_t ic = 0; ic < M; ic += ks.mc) {
        const int64_t mc = std::min(ks.mc, M - ic);
        const float* a = A.p + ic * A.rs + pc * A.cs;
        if (rowSumsOfA && jc == 0) {  // the slice's sums, added in slice order as the threaded gemm does
          float sums[kMaxMc];
          if (direct) sliceRowSums(pl, mc, kc, a, A.rs, A.cs, nullptr, sums);
          else packAWithRowSums(pl, mc, kc, a, A.rs, A.cs, sa, sums);
          for (int64_t i = 0; i < mc; i++) rowSumsOfA[ic + i] += sums[i];
        } else if (!direct) {
          packA(pl, mc, kc, a, A.rs, A.cs, sa);
        }
        const bool last = pc + kc >= K;
        computeBlock(ks, mc, nc, kc, 0, panels, direct ? a : sa, direct ? A.rs : 0, sb,
                     C + ic * ldc + jc, ldc, accumulate || pc > 0, colBias && last ? colBias + jc : nullptr,
                     last ? epilogue : nullptr, ic, jc);
      }
    }
  }
}

namespace {
// A packed operand of a parallel GEMM (B, or an A shared by panel ranges), kept between calls by the calling thread:
// a fresh allocation of several MiB per call costs page faults and zeroing. Released when it grew past kKeepFloats.
constexpr size_t kKeepFloats = size_t(16) << 20;  // 64 MiB

struct PackedBuffer {
  HostFloats p;
  size_t n = 0;
};

float* packedBuffer(PackedBuffer& b, size_t n) {
  if (b.n < n) {
    b.p.reset();
    b.p = allocHostFloats(n + kAlignSlack);
    b.n = n;
  }
  return aligned64(b.p.get());
}

// Frees a buffer that grew past kKeepFloats, at the end of the call that grew it.
void releaseIfLarge(PackedBuffer& b) {
  if (b.n <= kKeepFloats) return;
  b.p.reset();
  b.n = 0;
}

// The kept packed weights (PackedWeightsScope): one entry per (B operand, layout, kernel set, bf16 rounding), each
// with the version it was packed at. Entries are shared_ptr so a GEMM running on one thread keeps its panels alive
// if another thread's scope drops the cache meanwhile.
struct PackedEntry {
  HostFloats panels;
  uint64_t version = 0;
};

using PackedKey = std::tuple<const float*, int64_t, int64_t, int64_t, int64_t, const KernelSet*, bool>;

struct PackedWeights {
  std::mutex mu;
  const float* base = nullptr;
  int64_t n = 0;
  uint64_t version = 0;
  int64_t bytes = 0;
  std::map<PackedKey, std::shared_ptr<PackedEntry>> entries;
};

PackedWeights& packedWeights() {
  static PackedWeights w;
  return w;
}

struct ActiveScope {
  const float* base = nullptr;
  int64_t n = 0;
  uint64_t version = 0;
  int depth = 0;
};
thread_local ActiveScope tActive;

// The kept panels for B when a scope covers it: {entry, true} when they are current, {entry, false} when the caller
// must (re)pack into entry->panels (sized to `floats`); {null, false} when B is not kept.
std::pair<std::shared_ptr<PackedEntry>, bool> keptPanels(const Plan& pl, int64_t K, int64_t N, MatView B,
                                                        size_t floats) {
  const ActiveScope& a = tActive;
  if (a.depth == 0 || B.p < a.base || B.p >= a.base + a.n) return {nullptr, false};
  PackedWeights& w = packedWeights();
  std::lock_guard<std::mutex> lock(w.mu);
  if (w.base != a.base) return {nullptr, false};
  const PackedKey key{B.p, K, N, B.rs, B.cs, &pl.set, pl.roundToBf16};
  auto it = w.entries.find(key);
  if (it == w.entries.end()) {
    const int64_t bytes = static_cast<int64_t>(floats * sizeof(float));
    if (w.bytes + bytes > kPackedWeightsMaxBytes) return {nullptr, false};
    auto e = std::make_shared<PackedEntry>();
    e->panels = allocHostFloats(floats + kAlignSlack);
    w.bytes += bytes;
    it = w.entries.emplace(key, std::move(e)).first;
  }
  const bool current = it->second->version == a.version;
  it->second->version = a.version;  // the caller packs it now if it was not current
  return {it->second, current};
}

}  // namespace

PackedWeightsScope::PackedWeightsScope(const float* base, int64_t n, uint64_t version) : active_(tActive.depth == 0) {
  if (!active_) return;
  PackedWeights& w = packedWeights();
  {
    std::lock_guard<std::mutex> lock(w.mu);
    if (w.base != base || w.n != n) {
      w.entries.clear();
      w.bytes = 0;
      w.base = base;
      w.n = n;
    }
    w.version = version;
  }
  tActive = ActiveScope{base, n, version, 1};
}

PackedWeightsScope::~PackedWeightsScope() {
  if (active_) tActive = ActiveScope{};
}

WarmDuringGemm::WarmDuringGemm(const void* p, size_t bytes) : previousP_(tWarm.p), previousLines_(tWarm.lines) {
  // From the first whole line: a prefetch of the line p starts in would do too, but this keeps the count simple.
  const auto at = reinterpret_cast<uintptr_t>(p);
  const uintptr_t first = (at + 63) & ~uintptr_t(63);
  tWarm = WarmLines{p ? reinterpret_cast<const char*>(first) : nullptr,
                    p && at + bytes > first ? static_cast<int64_t>((at + bytes - first) / 64) : 0};
}

WarmDuringGemm::~WarmDuringGemm() { tWarm = WarmLines{previousP_, previousLines_}; }

void releasePackedWeights(const float* base) {
  PackedWeights& w = packedWeights();
  std::lock_guard<std::mutex> lock(w.mu);
  if (w.base != base) return;
  w.entries.clear();
  w.bytes = 0;
  w.base = nullptr;
  w.n = 0;
}

int64_t packedWeightsBytes() {
  PackedWeights& w = packedWeights();
  std::lock_guard<std::mutex> lock(w.mu);
  return w.bytes;
}

// Parallel version of the same loops: all of B is packed once (every KC slice, every panel), shared by all
// threads (and all of A, in the same job, when several tasks share a row block); then one task per (MC-row block x panel range) runs every k slice of its tile, so a GEMM has two
// parallel jobs (two barriers) whatever its K. Tasks are handed out dynamically, which also balances load when
// other processes take a core. Each C element is still summed in the same k order as gemmSerial.
void gemm(int64_t M, int64_t N, int64_t K, MatView A, MatView B, float* C, int64_t ldc, bool accumulate,
          const float* colBias, Precision precision, const GemmEpilogue* epilogue, float* rowSumsOfA) {
  const int threads = poolThreads();
  const double flops = 2.0 * M * N * K;
  if (threads <= 1 || flops < 2e6 || K <= 0)
    return gemmSerial(M, N, K, A, B, C, ldc, accumulate, colBias, precision, epilogue, rowSumsOfA);
  if (M <= 0 || N <= 0) return;
  const Plan pl = planFor(precision);
  const KernelSet& ks = pl.set;
  const bool direct = readsAInPlace(pl, A, N);
  const int64_t NR_ = ks.nr, KC_ = ks.kc, MR_ = ks.mr;
  // Row blocks of at most the set's MC, as many as a multiple of the thread count and of equal height where that
  // keeps them at least half as tall, so equal tasks end together: 11 blocks of 144 rows on 2 threads leave one idle
  // for a twelfth, and a weight gradient's 192 rows as 144 + 48 (768 as 5 x 144 + 48) leave one thread a third
  // (an eighth) of the product to run alone; 96 + 96 (5 x 132 + 108) do not.
  int64_t MC_ = ks.mc;
  {
    const int64_t blocks = (M + ks.mc - 1) / ks.mc, even = (blocks + threads - 1) / threads * threads;
    const int64_t mcEven = ((M + even - 1) / even + MR_ - 1) / MR_ * MR_;
    if (2 * mcEven >= ks.mc) MC_ = mcEven;
  }
  const int64_t panels = (N + NR_ - 1) / NR_, Npad = panels * NR_, slices = (K + KC_ - 1) / KC_;
  const int64_t mblocks = (M + MC_ - 1) / MC_;
  // Panel ranges of at most NC columns; split further when there are too few row blocks to busy every thread.
  int64_t perRange = std::min<int64_t>(panels, ks.nc / NR_);
  int64_t ranges = (panels + perRange - 1) / perRange;
  if (mblocks * ranges < 3 * threads) {
    ranges = std::min<int64_t>(panels, (3 * threads + mblocks - 1) / mblocks);
    perRange = (panels + ranges - 1) / ranges;
    ranges = (panels + perRange - 1) / perRange;
  }
  // With several panel ranges per row block, each of their tasks would pack the same A block again (a weight
  // gradient's dout^T, M = 192..768 output features, 2-3 times over): then all of A is packed once, by the same
  // parallel job that packs B, into a buffer the tasks share. Each (row block, k slice) has its own region, 64 floats
  // apart, so no packer's spill past its last panel reaches a region another thread writes.
  const bool shareA = !direct && ranges > 1;
  const int64_t aRegion = (MC_ + MR_ - 1) / MR_ * MR_ * ks.slots(KC_) + 64;
  thread_local PackedBuffer cache, cacheA;
  // Slice s (rows pc = s*KC .. pc+kc of B) starts at slots(pc) * Npad; its panel p at + p * slots(kc) * NR.
  const size_t pbFloats = static_cast<size_t>(ks.slots(K + 1) * Npad + 64);
  const auto kept = keptPanels(pl, K, N, B, pbFloats);
  float* pb = kept.first ? aligned64(kept.first->panels.get()) : packedBuffer(cache, pbFloats);
  float* pa = shareA ? packedBuffer(cacheA, static_cast<size_t>(mblocks * slices * aRegion)) : nullptr;
  // B is packed in groups of up to 8 panels, fewer where that would leave under 4 tasks a thread: a training
  // step repacks every weight, and a weight of 18 panels (ViT-Ti's qkv) in 3 groups ran as 2 + 1 on 2 threads.
  int64_t packPanels = 8;
  while (packPanels > 1 && slices * ((panels + packPanels - 1) / packPanels) < 4 * threads) packPanels /= 2;
  const int64_t packGroups = (panels + packPanels - 1) / packPanels;
  const int64_t bTasks = kept.second ? 0 : slices * packGroups, aTasks = shareA ? mblocks * slices : 0;
  // A's row sums per k slice (slice s's at sliceSums + s * M), each written by the task that packs its block (each
  // (row block, slice) is packed once), added in slice order at the end: the same numbers as gemmSerial.
  thread_local std::vector<float> sliceSumsBuf;
  if (rowSumsOfA && sliceSumsBuf.size() < static_cast<size_t>(slices * M))
    sliceSumsBuf.resize(static_cast<size_t>(slices * M));
  float* const sliceSums = sliceSumsBuf.data();
  parallelFor(bTasks + aTasks, [&](int64_t t) {
    if (t >= bTasks) {
      t -= bTasks;
      const int64_t ic = (t / slices) * MC_, pc = (t % slices) * KC_, mc = std::min(MC_, M - ic);
      const int64_t kc = std::min(KC_, K - pc);
      const float* a = A.p + ic * A.rs + pc * A.cs;
      packAWithRowSums(pl, mc, kc, a, A.rs, A.cs, pa + t * aRegion,
                       rowSumsOfA ? sliceSums + (pc / KC_) * M + ic : nullptr);
      return;
    }
    const int64_t pc = (t / packGroups) * KC_, kc = std::min(KC_, K - pc);
    const int64_t p0 = (t % packGroups) * packPanels, p1 = std::min(panels, p0 + packPanels);
    const int64_t j0 = p0 * NR_, cols = std::min(N, p1 * NR_) - j0;
    packB(pl, kc, cols, B.p + pc * B.rs + j0 * B.cs, B.rs, B.cs, pb + ks.slots(pc) * Npad + p0 * ks.slots(kc) * NR_);
  });
  const WarmLines warmAll = tWarm;
  const int64_t computeTasks = mblocks * ranges;
  parallelFor(computeTasks, [&](int64_t t) {
    const int64_t ib = t / ranges, p0 = (t % ranges) * perRange, p1 = std::min(panels, p0 + perRange);
    // This task's share of the lines to warm, spread over its k slices.
    const int64_t w0 = warmAll.lines * t / computeTasks, w1 = warmAll.lines * (t + 1) / computeTasks;
    const int64_t ic = ib * MC_, mc = std::min(MC_, M - ic);
    Scratch& s = scratch();
    if (!direct && !shareA && s.a.size() < static_cast<size_t>(MC_ * KC_ + 64 + kAlignSlack))
      s.a.resize(static_cast<size_t>(MC_ * KC_ + 64 + kAlignSlack));
    float* const sa = aligned64(s.a.data());
    for (int64_t pc = 0; pc < K; pc += KC_) {
      const int64_t kc = std::min(KC_, K - pc);
      const float* a = A.p + ic * A.rs + pc * A.cs;
      const float* ap = direct ? a : shareA ? pa + (ib * slices + pc / KC_) * aRegion : sa;
      // Without shared packing each task has a whole row block (one panel range), so it is its block's only packer.
      float* const sums = rowSumsOfA && !shareA && t % ranges == 0 ? sliceSums + (pc / KC_) * M + ic : nullptr;
      if (!direct && !shareA) packAWithRowSums(pl, mc, kc, a, A.rs, A.cs, sa, sums);
      else if (sums) sliceRowSums(pl, mc, kc, a, A.rs, A.cs, nullptr, sums);
      const bool last = pc + kc >= K;
      const int64_t s = pc / KC_, l0 = w0 + (w1 - w0) * s / slices, l1 = w0 + (w1 - w0) * (s + 1) / slices;
      computeBlock(ks, mc, N, kc, p0, p1, ap, direct ? A.rs : 0, pb + ks.slots(pc) * Npad,
                   C + ic * ldc, ldc, accumulate || pc > 0, colBias && last ? colBias : nullptr,
                   last ? epilogue : nullptr, ic, 0, WarmLines{warmAll.p ? warmAll.p + l0 * 64 : nullptr, l1 - l0});
    }
  });
  if (rowSumsOfA)
    for (int64_t sl = 0; sl < slices; sl++)
      for (int64_t i = 0; i < M; i++) rowSumsOfA[i] += sliceSums[sl * M + i];
  releaseIfLarge(cacheA);
  releaseIfLarge(cache);
}

void gemmSplitK(int64_t M, int64_t N, int64_t K, MatView A, MatView B, float* C, int64_t ldc, Precision precision,
                float* rowSumsOfA) {
  if (K < kSplitKMin || M <= 0 || N <= 0)
    return gemm(M, N, K, A, B, C, ldc, true, nullptr, precision, nullptr, rowSumsOfA);
  const int64_t half = (K / 2) & ~int64_t(1);
  const MatView A1{A.p + half * A.cs, A.rs, A.cs}, B1{B.p + half * B.rs, B.rs, B.cs};
  // The second half's product and row sums (the caller's thread keeps them between calls, as gemm's packed operands).
  thread_local PackedBuffer secondBuf;
  thread_local std::vector<float> secondSumsBuf;
  float* const second = packedBuffer(secondBuf, static_cast<size_t>(M * N));
  if (rowSumsOfA) secondSumsBuf.assign(static_cast<size_t>(M), 0.0f);
  float* const secondSums = rowSumsOfA ? secondSumsBuf.data() : nullptr;
  if (poolThreads() == 2) {
    parallelFor(2, [&](int64_t h) {
      if (h == 0) gemmSerial(M, N, half, A, B, C, ldc, true, nullptr, precision, nullptr, rowSumsOfA);
      else gemmSerial(M, N, K - half, A1, B1, second, N, false, nullptr, precision, nullptr, secondSums);
    });
  } else {
    gemm(M, N, half, A, B, C, ldc, true, nullptr, precision, nullptr, rowSumsOfA);
    gemm(M, N, K - half, A1, B1, second, N, false, nullptr, precision, nullptr, secondSums);
  }
  constexpr int64_t kRows = 16;
  parallelFor((M + kRows - 1) / kRows, [&](int64_t b) {
    onAvx512([&]() TESSERA_VECTORIZE {
      for (int64_t i = b * kRows; i < std::min(M, (b + 1) * kRows); i++) {
        float* c = C + i * ldc;
        const float* s = second + i * N;
        for (int64_t j = 0; j < N; j++) c[j] += s[j];
      }
    });
  });
  if (rowSumsOfA)
    for (int64_t i = 0; i < M; i++) rowSumsOfA[i] += secondSums[i];
  releaseIfLarge(secondBuf);
}

}  // namespace tessera
