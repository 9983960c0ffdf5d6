// AVX-512 kernel sets for gemm.cpp (see gemm_kernels.h): a 12x32 fp32 micro-kernel (24 zmm accumulators, two B
// vectors and a broadcast per k) and the same tile in bf16 with vdpbf16ps (two k per slot). Edge tiles run a
// micro-kernel instantiated for their row count with masked loads and stores, so no edge buffer is needed.
// Every function here carries its own target attribute: this file is compiled with the project's baseline flags
// and only ever called after cpu_features.h chose the AVX-512 path.
#include <algorithm>
#include <cstring>

#include "gemm_kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include "x86_simd.h"
#define TESSERA_GEMM_AVX512 1
#endif

namespace tessera {
namespace gemm_impl {

#ifdef TESSERA_GEMM_AVX512

namespace {

#define AVX512_FN __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define BF16_FN __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma,avx512bf16")))

constexpr int MR = 12;
constexpr int NR = 32;
// A block (MC x KC, 144 KiB) stays in L2; a B micro-panel (KC x NR, 32 KiB) in L1 while the A panels stream by.
constexpr int64_t KC = 256;
constexpr int64_t MC = 144;
constexpr int64_t NC = 2048;
// bf16 packs two k per 32-bit slot, so a slice of KC = 256 k held half the bytes fp32's does, and ViT-S's K = 384
// products ran as a 256 and a 128 slice, the second reading C back. 384 k per slice: one slice for K = 192 and 384,
// equal slices for 768 and 1536 (ViT widths are multiples of 192), and a 24 KiB B micro-panel that leaves room for
// the A panel in a 32 KiB L1. Measured on an AMD EPYC (Zen 4) at 2 threads, alternated three times against 256 and
// 512 (test/bench/RESULTS.md), bf16 inference and training of ViT-Ti and ViT-S ran faster with 384 than with 256 in
// 12 of 12 readings, and than with 512 in 9 of 12.
constexpr int64_t KC_BF16 = 384;
// A is read in place up to N = 1024: measured per ViT GEMM shape on one core, in-place A gains 2-9% for N <= 768
// (attention's products most) and loses 1-2% for N >= 1152.
constexpr int64_t kRowAMaxN = 1024;

// Put before each loop over a tile's rows. Unrolled early, the accumulator arrays become registers; left to GCC, it
// turned their zeroing into a memset (two `rep stos` of 768 bytes on the stack per tile call), kept the arrays in
// memory around the k loop and spilled all 24 accumulators before the stores. That cost 15% of the time of a bf16
// product with K = 192 (ViT-Ti's MLP shapes: 96 slots per tile call), 6-13% with K = 768 (test/bench/RESULTS.md).
#define TESSERA_UNROLL_ROWS _Pragma("GCC unroll 12")

AVX512_FN inline __mmask16 lanes(int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (n < 0 ? 0 : n)) - 1u);
}

// Writes one row of a finished tile: r0, r1 (+ C when acc) (+ bias), masked to the tile's columns.
AVX512_FN inline void storeRow(float* ci, __m512 r0, __m512 r1, bool acc, const float* bias, __mmask16 m0,
                               __mmask16 m1) {
  if (acc) {
    r0 = _mm512_add_ps(r0, _mm512_maskz_loadu_ps(m0, ci));
    r1 = _mm512_add_ps(r1, _mm512_maskz_loadu_ps(m1, ci + 16));
  }
  if (bias) {
    r0 = _mm512_add_ps(r0, _mm512_maskz_loadu_ps(m0, bias));
    r1 = _mm512_add_ps(r1, _mm512_maskz_loadu_ps(m1, bias + 16));
  }
  _mm512_mask_storeu_ps(ci, m0, r0);
  _mm512_mask_storeu_ps(ci + 16, m1, r1);
}

// ROWS x 32 tile from MR-strided A panels: c[i][j] = sum_k a[k][i] b[k][j]. NV = 1: only the first 16 columns
// (an edge tile at most 16 wide: attention's 197 = 6 * 32 + 5 keys), half the FMAs of a full-width one.
template <int ROWS, int NV = 2>
AVX512_FN void tileFp32(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool acc,
                        const float* bias, __mmask16 m0, __mmask16 m1) {
  prefetchTileOfC(c, ldc, ROWS, 16 * NV);
  __m512 c0[ROWS], c1[ROWS];
  TESSERA_UNROLL_ROWS
  for (int i = 0; i < ROWS; i++) c0[i] = c1[i] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; k++) {
    const __m512 b0 = _mm512_loadu_ps(b), b1 = NV > 1 ? _mm512_loadu_ps(b + 16) : b0;
    TESSERA_UNROLL_ROWS
    for (int i = 0; i < ROWS; i++) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
      if (NV > 1) c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
    }
    a += MR;
    b += NR;
  }
  TESSERA_UNROLL_ROWS
  for (int i = 0; i < ROWS; i++) storeRow(c + i * ldc, c0[i], c1[i], acc, bias, m0, NV > 1 ? m1 : 0);
}

// The same tile with A read in place from ROWS rows of stride lda (see KernelSet::kernelRowA).
template <int ROWS, int NV = 2>
AVX512_FN void tileFp32RowA(int64_t kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc, bool acc,
                            const float* bias, __mmask16 m0, __mmask16 m1) {
  prefetchTileOfC(c, ldc, ROWS, 16 * NV);
  __m512 c0[ROWS], c1[ROWS];
  TESSERA_UNROLL_ROWS
  for (int i = 0; i < ROWS; i++) c0[i] = c1[i] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; k++) {
    const __m512 b0 = _mm512_loadu_ps(b), b1 = NV > 1 ? _mm512_loadu_ps(b + 16) : b0;
    TESSERA_UNROLL_ROWS
    for (int i = 0; i < ROWS; i++) {
      const __m512 ai = _mm512_set1_ps(a[i * lda + k]);
      c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
      if (NV > 1) c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
    }
    b += NR;
  }
  TESSERA_UNROLL_ROWS
  for (int i = 0; i < ROWS; i++) storeRow(c + i * ldc, c0[i], c1[i], acc, bias, m0, NV > 1 ? m1 : 0);
}

AVX512_FN void kernelFp32(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool acc,
                          const float* bias) {
  tileFp32<MR>(kc, a, b, c, ldc, acc, bias, 0xffff, 0xffff);
}

template <template <int> class Tile>
AVX512_FN void dispatchEdge(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool acc,
                            const float* bias, int64_t mr, int64_t nr) {
  const __mmask16 m0 = lanes(nr), m1 = lanes(nr - 16);
  if (nr <= 16) {
    switch (mr) {
#define TESSERA_ROWS(r) \
  case r:               \
    return Tile<r>::narrow(kc, a, b, c, ldc, acc, bias, m0);
      TESSERA_ROWS(1) TESSERA_ROWS(2) TESSERA_ROWS(3) TESSERA_ROWS(4) TESSERA_ROWS(5) TESSERA_ROWS(6)
      TESSERA_ROWS(7) TESSERA_ROWS(8) TESSERA_ROWS(9) TESSERA_ROWS(10) TESSERA_ROWS(11)
#undef TESSERA_ROWS
      default:
        return Tile<12>::narrow(kc, a, b, c, ldc, acc, bias, m0);
    }
  }
  switch (mr) {
    case 1: return Tile<1>::run(kc, a, b, c, ldc, acc, bias, m0, m1);
    case 2: return Tile<2>::run(kc, a, b, c, ldc, acc, bias, m0, m1);
    case 3: return Tile<3>::run(kc, a, b, c, ldc, acc, bias, m0, m1);
    case 4: return Tile<4>::run(kc, a, b, c, ldc, acc, bias, m0, m1);
    case 5: return Tile<5>::run(kc, a, b, c, ldc, acc, bias, m0, m1);
    case 6: return Tile<6>::run(kc, a, b, c, ldc, acc, bias, m0, m1);
    case 7: return Tile<7>::run(kc, a, b, c, ldc, acc, bias, m0, m1);
    case 8: return Tile<8>::run(kc, a, b, c, ldc, acc, bias, m0, m1);
    case 9: return Tile<9>::run(kc, a, b, c, ldc, acc, bias, m0, m1);
    case 10: return Tile<10>::run(kc, a, b, c, ldc, acc, bias, m0, m1);
    case 11: return Tile<11>::run(kc, a, b, c, ldc, acc, bias, m0, m1);
    default: return Tile<12>::run(kc, a, b, c, ldc, acc, bias, m0, m1);
  }
}
static_assert(MR == 12, "dispatchEdge lists the row counts 1..12");

template <int ROWS>
struct Fp32Tile {
  AVX512_FN static void run(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool acc,
                            const float* bias, __mmask16 m0, __mmask16 m1) {
    tileFp32<ROWS>(kc, a, b, c, ldc, acc, bias, m0, m1);
  }
  AVX512_FN static void narrow(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool acc,
                               const float* bias, __mmask16 m0) {
    tileFp32<ROWS, 1>(kc, a, b, c, ldc, acc, bias, m0, 0);
  }
};

AVX512_FN void edgeFp32(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool acc,
                        const float* bias, int64_t mr, int64_t nr) {
  dispatchEdge<Fp32Tile>(kc, a, b, c, ldc, acc, bias, mr, nr);
}

AVX512_FN void kernelFp32RowA(int64_t kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc,
                              bool acc, const float* bias, int64_t mr, int64_t nr) {
  const __mmask16 m0 = lanes(nr), m1 = lanes(nr - 16);
  if (nr <= 16) {
    switch (mr) {
#define TESSERA_ROWS(r) \
  case r:               \
    return tileFp32RowA<r, 1>(kc, a, lda, b, c, ldc, acc, bias, m0, 0);
      TESSERA_ROWS(1) TESSERA_ROWS(2) TESSERA_ROWS(3) TESSERA_ROWS(4) TESSERA_ROWS(5) TESSERA_ROWS(6)
      TESSERA_ROWS(7) TESSERA_ROWS(8) TESSERA_ROWS(9) TESSERA_ROWS(10) TESSERA_ROWS(11)
#undef TESSERA_ROWS
      default:
        return tileFp32RowA<MR, 1>(kc, a, lda, b, c, ldc, acc, bias, m0, 0);
    }
  }
  switch (mr) {
#define TESSERA_ROWS(r) \
  case r:               \
    return tileFp32RowA<r>(kc, a, lda, b, c, ldc, acc, bias, m0, m1);
    TESSERA_ROWS(1) TESSERA_ROWS(2) TESSERA_ROWS(3) TESSERA_ROWS(4) TESSERA_ROWS(5) TESSERA_ROWS(6)
    TESSERA_ROWS(7) TESSERA_ROWS(8) TESSERA_ROWS(9) TESSERA_ROWS(10) TESSERA_ROWS(11)
#undef TESSERA_ROWS
    default:
      return tileFp32RowA<MR>(kc, a, lda, b, c, ldc, acc, bias, m0, m1);
  }
}

// 8x8 transpose of rows r[0..8) in registers (the 32-bit lanes may hold floats or bf16 pairs).
AVX512_FN inline void transpose8(__m256 r[8]) {
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

// Rows [0, n) (n <= 8, the rest read as zero) of 8 consecutive floats at p + i * stride, transposed: out[j] holds
// element j of every row. Half of the transpose is done by the loads (128-bit halves inserted into the upper lanes),
// so it takes 16 shuffles instead of transpose8's 24: the shuffle port is what limits packing.
AVX512_FN inline void loadTransposed8x8(const float* p, int64_t stride, int n, __m256 out[8]) {
  __m256 t[8];
  for (int i = 0; i < 4; i++)
    for (int h = 0; h < 2; h++) {
      const __m128 lo = i < n ? _mm_loadu_ps(p + i * stride + 4 * h) : _mm_setzero_ps();
      const __m128 hi = i + 4 < n ? _mm_loadu_ps(p + (i + 4) * stride + 4 * h) : _mm_setzero_ps();
      t[4 * h + i] = _mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1);  // [row i | row i+4], k 4h..4h+3
    }
  for (int h = 0; h < 2; h++) {
    const __m256 u0 = _mm256_unpacklo_ps(t[4 * h], t[4 * h + 1]), u1 = _mm256_unpackhi_ps(t[4 * h], t[4 * h + 1]);
    const __m256 u2 = _mm256_unpacklo_ps(t[4 * h + 2], t[4 * h + 3]);
    const __m256 u3 = _mm256_unpackhi_ps(t[4 * h + 2], t[4 * h + 3]);
    out[4 * h] = _mm256_shuffle_ps(u0, u2, 0x44);
    out[4 * h + 1] = _mm256_shuffle_ps(u0, u2, 0xEE);
    out[4 * h + 2] = _mm256_shuffle_ps(u1, u3, 0x44);
    out[4 * h + 3] = _mm256_shuffle_ps(u1, u3, 0xEE);
  }
}

// Rows [0, n) (n <= 4) of 8 consecutive floats at p + i * stride, transposed into 4-lane columns: out[j] holds
// element j (low half) and j + 4 (high half) of each row.
AVX512_FN inline void loadTransposed4x8(const float* p, int64_t stride, int n, __m256 out[4]) {
  __m256 r[4];
  for (int i = 0; i < 4; i++) r[i] = i < n ? _mm256_loadu_ps(p + i * stride) : _mm256_setzero_ps();
  const __m256 u0 = _mm256_unpacklo_ps(r[0], r[1]), u1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 u2 = _mm256_unpacklo_ps(r[2], r[3]), u3 = _mm256_unpackhi_ps(r[2], r[3]);
  out[0] = _mm256_shuffle_ps(u0, u2, 0x44);
  out[1] = _mm256_shuffle_ps(u0, u2, 0xEE);
  out[2] = _mm256_shuffle_ps(u1, u3, 0x44);
  out[3] = _mm256_shuffle_ps(u1, u3, 0xEE);
}

// fp32 A packer: row-major panels by 8x8 and 4x8 transposes, column-major ones by masked copies, others scalar.
AVX512_FN void packAFp32(int64_t mc, int64_t kc, const float* a, int64_t rs, int64_t cs, float* out) {
  if (cs != 1 && rs != 1) return packAGeneric<MR>(mc, kc, a, rs, cs, out);
  for (int64_t i0 = 0; i0 < mc; i0 += MR) {
    const int64_t mr = std::min<int64_t>(MR, mc - i0);
    const float* ap = a + i0 * rs;
    if (rs == 1) {
      const __mmask16 m = lanes(mr), all = lanes(MR);
      for (int64_t k = 0; k < kc; k++) _mm512_mask_storeu_ps(out + k * MR, all, _mm512_maskz_loadu_ps(m, ap + k * cs));
    } else {
      static_assert(MR == 12, "rows 0-7 by 8x8 transposes, rows 8-11 by 4x8 ones");
      const int n0 = static_cast<int>(std::min<int64_t>(8, mr)), n1 = static_cast<int>(std::max<int64_t>(0, mr - 8));
      int64_t k = 0;
      for (; k + 8 <= kc; k += 8) {
        __m256 r[8];
        loadTransposed8x8(ap + k, rs, n0, r);
        for (int j = 0; j < 8; j++) _mm256_storeu_ps(out + (k + j) * MR, r[j]);
        loadTransposed4x8(ap + 8 * rs + k, rs, n1, r);
        for (int j = 0; j < 4; j++) {
          _mm_storeu_ps(out + (k + j) * MR + 8, _mm256_castps256_ps128(r[j]));
          _mm_storeu_ps(out + (k + j + 4) * MR + 8, _mm256_extractf128_ps(r[j], 1));
        }
      }
      for (; k < kc; k++) {
        for (int64_t i = 0; i < mr; i++) out[k * MR + i] = ap[i * rs + k];
        for (int64_t i = mr; i < MR; i++) out[k * MR + i] = 0.0f;
      }
    }
    out += kc * MR;
  }
}

// fp32 B packer: W^T (rs == 1: column j contiguous in k) by 8x8 transposes, row-major by masked copies.
AVX512_FN void packBFp32(int64_t kc, int64_t nc, const float* b, int64_t rs, int64_t cs, float* out) {
  if (cs != 1 && rs != 1) return packBGeneric<NR>(kc, nc, b, rs, cs, out);
  for (int64_t j0 = 0; j0 < nc; j0 += NR) {
    const int64_t nr = std::min<int64_t>(NR, nc - j0);
    const float* bp = b + j0 * cs;
    if (cs == 1) {
      const __mmask16 m0 = lanes(nr), m1 = lanes(nr - 16);
      for (int64_t k = 0; k < kc; k++) {
        _mm512_storeu_ps(out + k * NR, _mm512_maskz_loadu_ps(m0, bp + k * rs));
        _mm512_storeu_ps(out + k * NR + 16, _mm512_maskz_loadu_ps(m1, bp + k * rs + 16));
      }
    } else {
      int64_t k = 0;
      for (; k + 8 <= kc; k += 8)
        for (int64_t h = 0; h < NR; h += 8) {
          __m256 r[8];
          loadTransposed8x8(bp + h * cs + k, cs, static_cast<int>(std::max<int64_t>(0, std::min<int64_t>(8, nr - h))), r);
          for (int j = 0; j < 8; j++) _mm256_storeu_ps(out + (k + j) * NR + h, r[j]);
        }
      for (; k < kc; k++)
        for (int64_t j = 0; j < NR; j++) out[k * NR + j] = j < nr ? bp[j * cs + k] : 0.0f;
    }
    out += kc * NR;
  }
}

const KernelSet kFp32 = {"avx512-12x32", MR, NR, KC, MC, NC, 1, kernelFp32, edgeFp32, packAFp32, packBFp32,
                         kernelFp32RowA, kRowAMaxN};

// ---- bf16: slots of two k; vdpbf16ps multiplies the pairs lane by lane and adds both products to fp32 ----

// ROWS x 32 tile (NV = 1: the first 16 columns, for an edge tile at most 16 wide) from packed bf16 pairs.
template <int ROWS, int NV = 2>
BF16_FN void tileBf16(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool acc,
                      const float* bias, __mmask16 m0, __mmask16 m1) {
  prefetchTileOfC(c, ldc, ROWS, 16 * NV);
  __m512 c0[ROWS], c1[ROWS];
  TESSERA_UNROLL_ROWS
  for (int i = 0; i < ROWS; i++) c0[i] = c1[i] = _mm512_setzero_ps();
  const int64_t slots = (kc + 1) / 2;
  for (int64_t s = 0; s < slots; s++) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b);
    const __m512bh b1 = NV > 1 ? (__m512bh)_mm512_loadu_si512(b + 16) : b0;
    TESSERA_UNROLL_ROWS
    for (int i = 0; i < ROWS; i++) {
      int32_t pair;
      std::memcpy(&pair, a + i, sizeof pair);
      const __m512bh ai = (__m512bh)_mm512_set1_epi32(pair);
      c0[i] = _mm512_dpbf16_ps(c0[i], ai, b0);
      if (NV > 1) c1[i] = _mm512_dpbf16_ps(c1[i], ai, b1);
    }
    a += MR;
    b += NR;
  }
  TESSERA_UNROLL_ROWS
  for (int i = 0; i < ROWS; i++) storeRow(c + i * ldc, c0[i], c1[i], acc, bias, m0, NV > 1 ? m1 : 0);
}

template <int ROWS>
struct Bf16Tile {
  BF16_FN static void run(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool acc,
                          const float* bias, __mmask16 m0, __mmask16 m1) {
    tileBf16<ROWS>(kc, a, b, c, ldc, acc, bias, m0, m1);
  }
  BF16_FN static void narrow(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool acc,
                             const float* bias, __mmask16 m0) {
    tileBf16<ROWS, 1>(kc, a, b, c, ldc, acc, bias, m0, 0);
  }
};

BF16_FN void kernelBf16(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool acc,
                        const float* bias) {
  tileBf16<MR>(kc, a, b, c, ldc, acc, bias, 0xffff, 0xffff);
}

BF16_FN void edgeBf16(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool acc,
                      const float* bias, int64_t mr, int64_t nr) {
  dispatchEdge<Bf16Tile>(kc, a, b, c, ldc, acc, bias, mr, nr);
}

// 16 consecutive k of one row -> 8 slots (bf16 pairs) in a ymm
BF16_FN inline __m256 pairs8(const float* p) {
  return _mm256_castsi256_ps((__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(p)));
}

// Two k rows of 16 values each -> 16 slots (even k in the low half of each, odd k in the high)
BF16_FN inline __m512 pairUp(__m512 e, __m512 o) {
  const __m512i both = (__m512i)_mm512_cvtne2ps_pbh(o, e);  // bf16 lanes 0..15 = e, 16..31 = o
  const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21,
                                       5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  return _mm512_castsi512_ps(_mm512_permutexvar_epi16(idx, both));
}

// The same from two rows of up to 16 values each (masked)
BF16_FN inline __m512 interleavePairs(const float* even, const float* odd, __mmask16 m, bool hasOdd) {
  const __m512 e = _mm512_maskz_loadu_ps(m, even);
  const __m512 o = hasOdd ? _mm512_maskz_loadu_ps(m, odd) : _mm512_setzero_ps();
  return pairUp(e, o);
}

// Scalar slots [s0, slots) of an A panel (rows [0, mr) of MR), k pairs from src(i, k)
template <class Src>
void tailSlots(int64_t s0, int64_t kc, int64_t mr, int64_t width, Src src, float* out) {
  for (int64_t s = s0; 2 * s < kc; s++)
    for (int64_t i = 0; i < width; i++)
      out[s * width + i] = i < mr ? bf16Pair(src(i, 2 * s), 2 * s + 1 < kc ? src(i, 2 * s + 1) : 0.0f) : 0.0f;
}

// One MR-tall panel (rows [0, mr) real) of a column-major A (rs == 1: its MR values of each k are contiguous, column
// stride cs). kSums: also sums[i] = A[i][0] + A[i][1] + ... in k order, from the fp32 values as they are loaded.
template <bool kSums>
BF16_FN void packColMajorPanelBf16(int64_t kc, const float* ap, int64_t cs, int64_t mr, float* out, float* sums) {
  const int64_t slots = (kc + 1) / 2;
  const __mmask16 m = lanes(mr), all = lanes(MR);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t s = 0; s < slots; s++) {
    const __m512 e = _mm512_maskz_loadu_ps(m, ap + 2 * s * cs);
    __m512 o = _mm512_setzero_ps();
    if (kSums) acc = _mm512_add_ps(acc, e);
    if (2 * s + 1 < kc) {
      o = _mm512_maskz_loadu_ps(m, ap + (2 * s + 1) * cs);
      if (kSums) acc = _mm512_add_ps(acc, o);
    }
    _mm512_mask_storeu_ps(out + s * MR, all, pairUp(e, o));
  }
  if (kSums) _mm512_mask_storeu_ps(sums, m, acc);
}

BF16_FN void packABf16(int64_t mc, int64_t kc, const float* a, int64_t rs, int64_t cs, float* out) {
  if (cs != 1 && rs != 1) return packABf16Generic<MR>(mc, kc, a, rs, cs, out);
  const int64_t slots = (kc + 1) / 2;
  for (int64_t i0 = 0; i0 < mc; i0 += MR) {
    const int64_t mr = std::min<int64_t>(MR, mc - i0);
    const float* ap = a + i0 * rs;
    if (rs == 1) {
      packColMajorPanelBf16<false>(kc, ap, cs, mr, out, nullptr);
    } else {
      int64_t k = 0;
      for (; k + 16 <= kc; k += 16) {
        // The next panel's rows at this k, ahead of their turn: each panel reads twelve rows a line at a time, runs
        // of a few lines (a ViT-Ti row of 192 k is 12) that the hardware prefetchers do not follow. 20-30% less
        // time in this packer on L3-resident rows, 0.3-1.4% off a ViT-Ti bf16 training step (RESULTS.md).
        for (int i = 0; i < MR; i++) __builtin_prefetch(ap + (MR + i) * rs + k, 0, 3);
        for (int64_t g = 0; g < MR; g += 8) {
          const int n = static_cast<int>(std::max<int64_t>(0, std::min<int64_t>(8, mr - g)));
          const int width = static_cast<int>(std::min<int64_t>(8, MR - g));
          __m256 r[8];
          for (int i = 0; i < 8; i++) r[i] = i < n ? pairs8(ap + (g + i) * rs + k) : _mm256_setzero_ps();
          transpose8(r);
          const __mmask8 m = static_cast<__mmask8>((1u << width) - 1u);
          for (int j = 0; j < 8; j++) _mm256_mask_storeu_ps(out + (k / 2 + j) * MR + g, m, r[j]);
        }
      }
      tailSlots(k / 2, kc, mr, MR, [&](int64_t i, int64_t kk) { return ap[i * rs + kk]; }, out);
    }
    out += slots * MR;
  }
}

// packABf16 of a column-major A (rs == 1: a weight gradient's dout^T) that also writes each row's sum over the slice,
// sums[i] = A[i][0] + A[i][1] + ... in k order, from the fp32 values it has just loaded (the bias gradient: the numbers
// of gemm.cpp's sliceRowSums, bit for bit, without a second pass over the block).
BF16_FN void packABf16ColMajorRowSums(int64_t mc, int64_t kc, const float* a, int64_t rs, int64_t cs, float* out,
                                      float* sums) {
  (void)rs;
  const int64_t slots = (kc + 1) / 2;
  for (int64_t i0 = 0; i0 < mc; i0 += MR, out += slots * MR)
    packColMajorPanelBf16<true>(kc, a + i0, cs, std::min<int64_t>(MR, mc - i0), out, sums + i0);
}

BF16_FN void packBBf16(int64_t kc, int64_t nc, const float* b, int64_t rs, int64_t cs, float* out) {
  if (cs != 1 && rs != 1) return packBBf16Generic<NR>(kc, nc, b, rs, cs, out);
  const int64_t slots = (kc + 1) / 2;
  for (int64_t j0 = 0; j0 < nc; j0 += NR) {
    const int64_t nr = std::min<int64_t>(NR, nc - j0);
    const float* bp = b + j0 * cs;
    if (cs == 1) {
      const __mmask16 m0 = lanes(nr), m1 = lanes(nr - 16);
      for (int64_t s = 0; s < slots; s++) {
        const float* even = bp + 2 * s * rs;
        const bool hasOdd = 2 * s + 1 < kc;
        _mm512_storeu_ps(out + s * NR, interleavePairs(even, even + rs, m0, hasOdd));
        _mm512_storeu_ps(out + s * NR + 16, interleavePairs(even + 16, even + rs + 16, m1, hasOdd));
      }
    } else {
      int64_t k = 0;
      for (; k + 16 <= kc; k += 16)
        for (int64_t h = 0; h < NR; h += 8) {
          const int64_t n = std::max<int64_t>(0, std::min<int64_t>(8, nr - h));
          __m256 r[8];
          for (int j = 0; j < 8; j++) r[j] = j < n ? pairs8(bp + (h + j) * cs + k) : _mm256_setzero_ps();
          transpose8(r);
          for (int j = 0; j < 8; j++) _mm256_storeu_ps(out + (k / 2 + j) * NR + h, r[j]);
        }
      tailSlots(k / 2, kc, nr, NR, [&](int64_t j, int64_t kk) { return bp[j * cs + kk]; }, out);
    }
    out += slots * NR;
  }
}

const KernelSet kBf16 = {"avx512-bf16-12x32", MR, NR, KC_BF16, MC, NC, 2, kernelBf16, edgeBf16, packABf16, packBBf16,
                         nullptr, 0, packABf16ColMajorRowSums};

}  // namespace

const KernelSet* avx512Fp32Set() { return &kFp32; }
const KernelSet* avx512Bf16Set() { return &kBf16; }

#else

const KernelSet* avx512Fp32Set() { return nullptr; }
const KernelSet* avx512Bf16Set() { return nullptr; }

#endif

}  // namespace gemm_impl
}  // namespace tessera
