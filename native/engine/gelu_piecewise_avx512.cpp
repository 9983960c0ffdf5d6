// GELU and its derivative on AVX-512 as piecewise quartics: 32 intervals over [-6, 6), each coefficient fetched for
// 16 values at once by one two-register permute (vpermt2ps), then Horner. About 16 vector operations per 16 values,
// where the rational erf of vector_math_avx512.cpp takes about 22 (forward) and erf plus exp about 30 (backward);
// on a Zen 4 core that is 0.22 against 0.35 ns per value forward and 0.23 against 0.51 backward.
//
// Accuracy (engine_core_test checks it against double-precision erfc and exp): Phi(x) within 3e-7, so
// gelu(x) = x Phi(x) within 3e-7 max(1, |x|); gelu'(x) within 2e-6. The bf16 table's GELU uses them (its
// gelu_forward and gelu_backward, and its fused ops' epilogues): their outputs are next rounded to bf16 (2^-9
// relative) as the operands of the following products, so the difference from the fp32 kernels (whose errors are
// about 2e-7) is invisible there. Outside [-6, 6) the end values hold: Phi(-6) = 1e-9, Phi(6) = 1 - 1e-9. NaN stays
// NaN (the clamps return their second operand when it is NaN).
#include "vector_math_kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include "x86_simd.h"

#include <cmath>

namespace tessera {
namespace vec_impl {

namespace {

#define AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define AVX512_FN AVX512_TARGET inline

constexpr int kIntervals = 32;  // two zmm registers of coefficients: one vpermt2ps per coefficient
constexpr int kCoefficients = 5;  // quartic: a cubic's gelu' error would be 2e-5
constexpr double kEdge = 6.0;  // Phi(-6) = 1e-9: past the edge the end values are exact to float rounding
constexpr double kPi = 3.14159265358979323846;

// coefficient[q][i]: the u^q coefficient of interval i, u in [0, 1) across it.
struct PiecewiseQuartic {
  float coefficient[kCoefficients][kIntervals];
};

double normalCdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }
double geluDerivative(double x) { return normalCdf(x) + x * std::exp(-0.5 * x * x) / std::sqrt(2.0 * kPi); }

// Per interval, the quartic through f at the 5 Chebyshev nodes (near-minimax), in monomials of u: Newton's divided
// differences, then expanded.
PiecewiseQuartic fitPiecewise(double (*f)(double)) {
  PiecewiseQuartic t{};
  const double h = 2.0 * kEdge / kIntervals;
  for (int i = 0; i < kIntervals; i++) {
    double u[kCoefficients], d[kCoefficients];
    for (int j = 0; j < kCoefficients; j++) {
      u[j] = 0.5 - 0.5 * std::cos((2 * j + 1) * kPi / (2 * kCoefficients));
      d[j] = f(-kEdge + h * (i + u[j]));
    }
    for (int k = 1; k < kCoefficients; k++)
      for (int j = kCoefficients - 1; j >= k; j--) d[j] = (d[j] - d[j - 1]) / (u[j] - u[j - k]);
    // p(u) = d0 + (u - u0)(d1 + (u - u1)(d2 + ...)), expanded from the innermost term out
    double poly[kCoefficients] = {d[kCoefficients - 1]};
    for (int k = kCoefficients - 2; k >= 0; k--) {
      double next[kCoefficients] = {};
      for (int q = 0; q + 1 < kCoefficients; q++) {
        next[q + 1] += poly[q];
        next[q] -= poly[q] * u[k];
      }
      next[0] += d[k];
      for (int q = 0; q < kCoefficients; q++) poly[q] = next[q];
    }
    for (int q = 0; q < kCoefficients; q++) t.coefficient[q][i] = static_cast<float>(poly[q]);
  }
  return t;
}

const PiecewiseQuartic& cdfTable() {
  static const PiecewiseQuartic t = fitPiecewise(normalCdf);
  return t;
}

const PiecewiseQuartic& derivativeTable() {
  static const PiecewiseQuartic t = fitPiecewise(geluDerivative);
  return t;
}

// The table in registers for one call (ten zmm), so the loop body only permutes.
struct QuarticRegisters {
  __m512 lo[kCoefficients], hi[kCoefficients];
};

AVX512_FN QuarticRegisters loadTable(const PiecewiseQuartic& t) {
  QuarticRegisters r;
  for (int q = 0; q < kCoefficients; q++) {
    r.lo[q] = _mm512_loadu_ps(t.coefficient[q]);
    r.hi[q] = _mm512_loadu_ps(t.coefficient[q] + 16);
  }
  return r;
}

AVX512_FN __m512 evaluate(const QuarticRegisters& r, __m512 x) {
  // Position in intervals, clamped to [0, 32): NaN passes both clamps (as their second operand).
  const __m512 y = _mm512_fmadd_ps(x, _mm512_set1_ps(static_cast<float>(kIntervals / (2.0 * kEdge))),
                                   _mm512_set1_ps(kIntervals / 2.0f));
  const __m512 yc = _mm512_min_ps(_mm512_set1_ps(std::nextafter(static_cast<float>(kIntervals), 0.0f)),
                                  _mm512_max_ps(_mm512_setzero_ps(), y));
  const __m512 floor = _mm512_roundscale_ps(yc, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  const __m512i interval = _mm512_cvttps_epi32(floor);  // NaN gives 0x80000000: permutes read its low 5 bits
  const __m512 u = _mm512_sub_ps(yc, floor);
  __m512 p = _mm512_permutex2var_ps(r.lo[kCoefficients - 1], interval, r.hi[kCoefficients - 1]);
#pragma GCC unroll 8
  for (int q = kCoefficients - 2; q >= 0; q--)
    p = _mm512_fmadd_ps(p, u, _mm512_permutex2var_ps(r.lo[q], interval, r.hi[q]));
  return p;
}

AVX512_FN __mmask16 tailMask(int64_t n) { return static_cast<__mmask16>((1u << n) - 1u); }

}  // namespace

AVX512_TARGET void geluForwardPiecewiseAvx512(float* out, const float* x, int64_t n) {
  const QuarticRegisters r = loadTable(cdfTable());
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    _mm512_storeu_ps(out + i, _mm512_mul_ps(v, evaluate(r, v)));
  }
  if (i < n) {
    const __mmask16 m = tailMask(n - i);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(v, evaluate(r, v)));
  }
}

AVX512_TARGET void geluBackwardPiecewiseAvx512(float* dx, const float* dout, const float* x, int64_t n,
                                               bool accumulate) {
  const QuarticRegisters r = loadTable(derivativeTable());
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 d = _mm512_loadu_ps(dout + i), g = evaluate(r, _mm512_loadu_ps(x + i));
    _mm512_storeu_ps(dx + i, accumulate ? _mm512_fmadd_ps(d, g, _mm512_loadu_ps(dx + i)) : _mm512_mul_ps(d, g));
  }
  if (i < n) {
    const __mmask16 m = tailMask(n - i);
    const __m512 d = _mm512_maskz_loadu_ps(m, dout + i), g = evaluate(r, _mm512_maskz_loadu_ps(m, x + i));
    _mm512_mask_storeu_ps(dx + i, m,
                          accumulate ? _mm512_fmadd_ps(d, g, _mm512_maskz_loadu_ps(m, dx + i)) : _mm512_mul_ps(d, g));
  }
}

}  // namespace vec_impl
}  // namespace tessera

#endif
