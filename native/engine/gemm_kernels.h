// Internal to gemm*.cpp: what the blocked GEMM driver (gemm.cpp) needs from one instruction set: an MR x NR
// register micro-kernel, the packers that lay A and B out for it, and the block sizes that suit its caches.
//
// Packed layout: A in MR-tall panels, B in NR-wide panels, each a run of "slots" (one k for fp32; a pair of k as two
// bf16 in 32 bits for the bf16 kernels, the odd last k paired with a zero). A panel of kc k values is
// slots(kc) * MR (or * NR) floats; panel rows past the matrix edge are zero.
#pragma once

#include <cstdint>
#include <cstring>

namespace tessera {
namespace gemm_impl {

// c (MR x NR tile, row stride ldc) = or += sum_k a[k][0..MR) * b[k][0..NR), then + bias[0..NR) when bias is not
// null (the linear bias, in the last k slice: added after the full sum, as a separate pass would, so the result is
// the same bit for bit, without a second pass over the tile)
using Kernel = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool acc,
                        const float* bias);
// The same for an edge tile: only its first mr rows and nr columns exist in C (and in bias).
using EdgeKernel = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool acc,
                            const float* bias, int64_t mr, int64_t nr);
// An mr x nr tile (mr <= MR, nr <= NR) with A read in place, row-major: element (i, k) at a[i * lda + k].
using KernelRowA = void (*)(int64_t kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc, bool acc,
                            const float* bias, int64_t mr, int64_t nr);
// Pack rows [0,mc) x k [0,kc) of A (strides rs, cs) into MR-tall panels.
using PackA = void (*)(int64_t mc, int64_t kc, const float* a, int64_t rs, int64_t cs, float* out);
// Pack k [0,kc) x columns [0,nc) of B into NR-wide panels.
using PackB = void (*)(int64_t kc, int64_t nc, const float* b, int64_t rs, int64_t cs, float* out);
// PackA for a column-major A (rs == 1) that also writes sums[0, mc): each row's fp32 values summed over the slice in
// k order (the numbers of gemm.cpp's sliceRowSums, bit for bit).
using PackARowSums = void (*)(int64_t mc, int64_t kc, const float* a, int64_t rs, int64_t cs, float* out,
                              float* sums);

struct KernelSet {
  const char* name;
  int mr, nr;
  int64_t kc, mc, nc;  // blocking: kc even, mc a multiple of mr, nc of nr
  int kPerSlot;        // 1 (fp32) or 2 (bf16 pairs)
  Kernel kernel;
  EdgeKernel edge;  // null: edge tiles go through a full tile in a buffer
  PackA packA;
  PackB packB;
  // Optional: A read in place when it is row-major and N <= rowAMaxN. Each element of A is used 2N times, so for a
  // narrow product (attention's P V: N = 64) packing it costs more than the slower broadcasts from its rows.
  KernelRowA kernelRowA;
  int64_t rowAMaxN;
  // Optional: packA and the bias gradient's row sums of a column-major A in one pass (gemm's rowSumsOfA).
  PackARowSums packAColMajorRowSums = nullptr;
  int64_t slots(int64_t k) const { return (k + kPerSlot - 1) / kPerSlot; }
};

// Asks for the rows of a C tile (rows x cols at c, row stride ldc) at the start of the tile, so its stores (and an
// accumulating tile's loads) at the end find them in L1. A product's output is mostly not in cache: its C block is
// written once per k slice and, for a wide product, is larger than L2. Without this each of a tile's 24-36 lines was
// fetched when its store came, and ViT-Ti inference on one Zen 4 core ran 9-13% slower (87-90 against 98-99
// GFLOP/s, bench_core infer vit_tiny, alternated three times; test/bench/RESULTS.md).
inline void prefetchTileOfC(const float* c, int64_t ldc, int rows, int cols) {
  for (int i = 0; i < rows; i++) {
    const float* row = c + i * ldc;
    for (int j = 0; j < cols; j += 16) __builtin_prefetch(row + j, 0, 3);
    __builtin_prefetch(row + cols - 1, 0, 3);  // the last line of a row that does not start on a line
  }
}

// Defined in gemm_avx512.cpp; null where the compiler cannot build AVX-512 code.
const KernelSet* avx512Fp32Set();
const KernelSet* avx512Bf16Set();

// Scalar packers for any strides (and the tails of the vector ones).
template <int MR>
void packAGeneric(int64_t mc, int64_t kc, const float* a, int64_t rs, int64_t cs, float* out) {
  for (int64_t i0 = 0; i0 < mc; i0 += MR) {
    const int64_t mr = mc - i0 < MR ? mc - i0 : MR;
    for (int64_t k = 0; k < kc; k++) {
      const float* src = a + i0 * rs + k * cs;
      for (int64_t i = 0; i < mr; i++) out[i] = src[i * rs];
      for (int64_t i = mr; i < MR; i++) out[i] = 0.0f;
      out += MR;
    }
  }
}

template <int NR>
void packBGeneric(int64_t kc, int64_t nc, const float* b, int64_t rs, int64_t cs, float* out) {
  for (int64_t j0 = 0; j0 < nc; j0 += NR) {
    const int64_t nr = nc - j0 < NR ? nc - j0 : NR;
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

// float -> bfloat16 bits, round to nearest even (NaN stays NaN), as vcvtneps2bf16 does for normal numbers.
inline uint16_t toBf16(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

inline float fromBf16(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

// Two bf16 in the 32 bits of one packed slot: lo = the even k, hi = the odd k (vdpbf16ps's pair order).
inline float bf16Pair(float even, float odd) {
  const uint32_t u = static_cast<uint32_t>(toBf16(even)) | (static_cast<uint32_t>(toBf16(odd)) << 16);
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

// bf16 slot packers for any strides: slot s of row/column i holds (k = 2s, 2s+1), zero past kc.
template <int MR>
void packABf16Generic(int64_t mc, int64_t kc, const float* a, int64_t rs, int64_t cs, float* out) {
  for (int64_t i0 = 0; i0 < mc; i0 += MR) {
    const int64_t mr = mc - i0 < MR ? mc - i0 : MR;
    for (int64_t k = 0; k < kc; k += 2) {
      const float* src = a + i0 * rs + k * cs;
      for (int64_t i = 0; i < mr; i++) out[i] = bf16Pair(src[i * rs], k + 1 < kc ? src[i * rs + cs] : 0.0f);
      for (int64_t i = mr; i < MR; i++) out[i] = 0.0f;
      out += MR;
    }
  }
}

template <int NR>
void packBBf16Generic(int64_t kc, int64_t nc, const float* b, int64_t rs, int64_t cs, float* out) {
  for (int64_t j0 = 0; j0 < nc; j0 += NR) {
    const int64_t nr = nc - j0 < NR ? nc - j0 : NR;
    for (int64_t k = 0; k < kc; k += 2) {
      const float* src = b + k * rs + j0 * cs;
      for (int64_t j = 0; j < nr; j++) out[j] = bf16Pair(src[j * cs], k + 1 < kc ? src[j * cs + rs] : 0.0f);
      for (int64_t j = nr; j < NR; j++) out[j] = 0.0f;
      out += NR;
    }
  }
}

}  // namespace gemm_impl
}  // namespace tessera
