// AVX-512 versions of the elementwise kernels in vector_math.cpp: the same constants and polynomials as the AVX2
// ones, 16 wide, with masked loads and stores for the tails (zero padding, like the AVX2 tail copies). Divisions
// are a 14-bit reciprocal estimate refined by one Newton step (GELU about 10% faster than with vdivps), and softmax
// sums and dot products add their lanes in another order: equal to the AVX2 results up to rounding. Each function carries its own target attribute and runs only after cpu_features.h chose the AVX-512
// path.
#include "vector_math_kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include "x86_simd.h"

#include <cmath>

namespace tessera {
namespace vec_impl {

namespace {

#define AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define AVX512_FN AVX512_TARGET inline

AVX512_FN __mmask16 tailMask(int64_t n) { return static_cast<__mmask16>((1u << n) - 1u); }

// 1 / q for finite nonzero q: rcp14 (relative error below 2^-14) and one Newton step (below 2^-27, under the last bit
// of a float in all but a few cases).
AVX512_FN __m512 rcp16(__m512 q) {
  const __m512 r = _mm512_rcp14_ps(q);
  return _mm512_fmadd_ps(r, _mm512_fnmadd_ps(q, r, _mm512_set1_ps(1.0f)), r);
}

AVX512_FN __m512 exp16(__m512 x) {
  x = _mm512_max_ps(_mm512_set1_ps(-87.3f), _mm512_min_ps(_mm512_set1_ps(88.3f), x));
  const __m512 magic = _mm512_set1_ps(12582912.0f);
  const __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), magic), magic);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), _mm512_set1_ps(1.0f));
  // p * 2^n in one instruction (n is integral and, after the clamp, at least -126: the same product, bit for bit, as
  // building 2^n's exponent bits and multiplying)
  return _mm512_scalef_ps(p, n);
}

// erf(x) (Abramowitz & Stegun 7.1.26); *expNegSq = exp(-x^2) for the GELU backward's pdf
AVX512_FN __m512 erf16(__m512 x, __m512* expNegSq) {
  const __m512 signBit = _mm512_set1_ps(-0.0f);
  const __m512 sign = _mm512_and_ps(x, signBit);
  const __m512 ax = _mm512_andnot_ps(signBit, x);
  const __m512 t = rcp16(_mm512_fmadd_ps(_mm512_set1_ps(0.3275911f), ax, _mm512_set1_ps(1.0f)));
  __m512 p = _mm512_set1_ps(1.061405429f);
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.453152027f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.421413741f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.284496736f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.254829592f));
  const __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(ax, ax)));
  *expNegSq = e;
  const __m512 y = _mm512_fnmadd_ps(_mm512_mul_ps(p, t), e, _mm512_set1_ps(1.0f));
  return _mm512_or_ps(y, sign);
}

// erf(x) = x P(x^2) / Q(x^2) on [-4, 4] (see erf8Rational in vector_math.cpp)
AVX512_FN __m512 erf16Rational(__m512 a) {
  const __m512 x = _mm512_max_ps(_mm512_min_ps(a, _mm512_set1_ps(4.0f)), _mm512_set1_ps(-4.0f));
  const __m512 x2 = _mm512_mul_ps(x, x);
  __m512 p = _mm512_set1_ps(-2.72614225801306e-10f);
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(2.77068142495902e-08f));
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-2.10102402082508e-06f));
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-5.69250639462346e-05f));
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-7.34990630326855e-04f));
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-2.95459980854025e-03f));
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-1.60960333262415e-02f));
  __m512 q = _mm512_set1_ps(-1.45660718464996e-05f);
  q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(-2.13374055278905e-04f));
  q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(-1.68282697438203e-03f));
  q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(-7.37332916720468e-03f));
  q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(-1.42647390514189e-02f));
  return _mm512_mul_ps(_mm512_mul_ps(p, x), rcp16(q));
}

AVX512_FN __m512 sigmoid16(__m512 g) {
  const __m512 one = _mm512_set1_ps(1.0f);
  return rcp16(_mm512_add_ps(one, exp16(_mm512_sub_ps(_mm512_setzero_ps(), g))));
}

AVX512_FN __m512 gelu16(__m512 v) {
  const __m512 cdf = _mm512_fmadd_ps(erf16Rational(_mm512_mul_ps(v, _mm512_set1_ps(0.70710678118654752f))),
                                     _mm512_set1_ps(0.5f), _mm512_set1_ps(0.5f));
  return _mm512_mul_ps(v, cdf);
}

// dx + dd * (Phi(v) + v phi(v))
AVX512_FN __m512 geluBack16(__m512 dd, __m512 v, __m512 dx) {
  __m512 e;
  const __m512 cdf = _mm512_fmadd_ps(erf16(_mm512_mul_ps(v, _mm512_set1_ps(0.70710678118654752f)), &e),
                                     _mm512_set1_ps(0.5f), _mm512_set1_ps(0.5f));
  const __m512 pdf = _mm512_mul_ps(_mm512_set1_ps(0.39894228040143268f), e);
  return _mm512_fmadd_ps(dd, _mm512_fmadd_ps(v, pdf, cdf), dx);
}


// The piecewise GELU (vector_math.h's vecGelu*Piecewise): GELU and its derivative as quartics on 32 intervals over
// [-6, 6), each coefficient fetched for 16 values at once by one two-register permute (vpermt2ps), then Horner. About
// 16 vector operations per 16 values, where the rational erf above takes about 22 (forward) and erf plus exp about 30
// (backward); on a Zen 4 core that is 0.22 against 0.35 ns per value forward and 0.23 against 0.51 backward.
//
// Accuracy (engine_core_test checks it against double-precision erfc and exp): Phi(x) within 3e-7, so
// gelu(x) = x Phi(x) within 3e-7 max(1, |x|); gelu'(x) within 2e-6. The bf16 table's GELU uses them (its
// gelu_forward and gelu_backward, and its fused ops' epilogues): their outputs are next rounded to bf16 (2^-9
// relative) as the operands of the following products, so the difference from the fp32 kernels (whose errors are
// about 2e-7) is invisible there. Outside [-6, 6) the end values hold: Phi(-6) = 1e-9, Phi(6) = 1 - 1e-9. NaN stays
// NaN (the clamps return their second operand when it is NaN).
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

}  // namespace

AVX512_TARGET void geluForwardAvx512(float* out, const float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, gelu16(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 m = tailMask(n - i);
    _mm512_mask_storeu_ps(out + i, m, gelu16(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

AVX512_TARGET void geluBackwardAvx512(float* dx, const float* dout, const float* x, int64_t n, bool accumulate) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(dx + i, geluBack16(_mm512_loadu_ps(dout + i), _mm512_loadu_ps(x + i),
                                        accumulate ? _mm512_loadu_ps(dx + i) : _mm512_setzero_ps()));
  if (i < n) {
    const __mmask16 m = tailMask(n - i);
    _mm512_mask_storeu_ps(dx + i, m,
                          geluBack16(_mm512_maskz_loadu_ps(m, dout + i), _mm512_maskz_loadu_ps(m, x + i),
                                     accumulate ? _mm512_maskz_loadu_ps(m, dx + i) : _mm512_setzero_ps()));
  }
}

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

AVX512_TARGET void swigluForwardAvx512(float* out, const float* g, const float* v, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xffff) : tailMask(n - i);
    const __m512 gg = _mm512_maskz_loadu_ps(m, g + i);
    _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(_mm512_mul_ps(gg, sigmoid16(gg)), _mm512_maskz_loadu_ps(m, v + i)));
  }
}

AVX512_TARGET void swigluBackwardAvx512(float* dg, float* dv, const float* dout, const float* g, const float* v, int64_t n) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xffff) : tailMask(n - i);
    const __m512 dd = _mm512_maskz_loadu_ps(m, dout + i), gg = _mm512_maskz_loadu_ps(m, g + i),
                 vv = _mm512_maskz_loadu_ps(m, v + i);
    const __m512 s = sigmoid16(gg);
    const __m512 dsilu = _mm512_mul_ps(s, _mm512_fmadd_ps(gg, _mm512_sub_ps(one, s), one));
    _mm512_mask_storeu_ps(dg + i, m, _mm512_fmadd_ps(_mm512_mul_ps(dd, vv), dsilu, _mm512_maskz_loadu_ps(m, dg + i)));
    _mm512_mask_storeu_ps(dv + i, m, _mm512_fmadd_ps(_mm512_mul_ps(dd, gg), s, _mm512_maskz_loadu_ps(m, dv + i)));
  }
}

// row = softmax(row * scale); the maximum of row * scale is scale * max(row) (rounding is monotonic). Rows are short
// (197 tokens) and each pass a chain of dependent steps (a running maximum or sum, then a reduction across lanes):
// two accumulators per pass (even and odd vectors, the tail folded into the first), and R rows interleaved so one
// row's chains overlap another's. Each row gets the same operations whatever R.
namespace {
template <int R>
AVX512_FN void softmaxRows(float* const* rows, int64_t n, float scale) {
  const int64_t full = n / 16 * 16;
  const __mmask16 tail = tailMask(n - full);
  const __m512 sc = _mm512_set1_ps(scale);
  __m512 mv0[R], mv1[R], sh[R], acc0[R], acc1[R], inv[R];
  for (int r = 0; r < R; r++) mv0[r] = mv1[r] = _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), tail, rows[r] + full);
  int64_t i = 0;
  for (; i + 32 <= full; i += 32)
    for (int r = 0; r < R; r++) {
      mv0[r] = _mm512_max_ps(mv0[r], _mm512_loadu_ps(rows[r] + i));
      mv1[r] = _mm512_max_ps(mv1[r], _mm512_loadu_ps(rows[r] + i + 16));
    }
  if (i < full)
    for (int r = 0; r < R; r++) mv0[r] = _mm512_max_ps(mv0[r], _mm512_loadu_ps(rows[r] + i));
  for (int r = 0; r < R; r++) {
    sh[r] = _mm512_set1_ps(_mm512_reduce_max_ps(_mm512_max_ps(mv0[r], mv1[r])) * scale);
    acc0[r] = _mm512_maskz_mov_ps(tail, exp16(_mm512_fmsub_ps(_mm512_maskz_loadu_ps(tail, rows[r] + full), sc, sh[r])));
    acc1[r] = _mm512_setzero_ps();
    _mm512_mask_storeu_ps(rows[r] + full, tail, acc0[r]);
  }
  for (i = 0; i + 32 <= full; i += 32)
    for (int r = 0; r < R; r++) {
      const __m512 e0 = exp16(_mm512_fmsub_ps(_mm512_loadu_ps(rows[r] + i), sc, sh[r]));
      const __m512 e1 = exp16(_mm512_fmsub_ps(_mm512_loadu_ps(rows[r] + i + 16), sc, sh[r]));
      _mm512_storeu_ps(rows[r] + i, e0);
      _mm512_storeu_ps(rows[r] + i + 16, e1);
      acc0[r] = _mm512_add_ps(acc0[r], e0);
      acc1[r] = _mm512_add_ps(acc1[r], e1);
    }
  if (i < full)
    for (int r = 0; r < R; r++) {
      const __m512 e = exp16(_mm512_fmsub_ps(_mm512_loadu_ps(rows[r] + i), sc, sh[r]));
      _mm512_storeu_ps(rows[r] + i, e);
      acc0[r] = _mm512_add_ps(acc0[r], e);
    }
  for (int r = 0; r < R; r++) inv[r] = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(_mm512_add_ps(acc0[r], acc1[r])));
  for (i = 0; i < full; i += 16)
    for (int r = 0; r < R; r++) _mm512_storeu_ps(rows[r] + i, _mm512_mul_ps(_mm512_loadu_ps(rows[r] + i), inv[r]));
  for (int r = 0; r < R; r++)
    _mm512_mask_storeu_ps(rows[r] + full, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, rows[r] + full), inv[r]));
}
}  // namespace

AVX512_TARGET void softmaxAvx512(float* row, int64_t n, float scale) { softmaxRows<1>(&row, n, scale); }

// count rows of n, ld apart
AVX512_TARGET void softmaxRowsAvx512(float* p, int64_t count, int64_t n, int64_t ld, float scale) {
  int64_t i = 0;
  for (; i + 2 <= count; i += 2) {
    float* const rows[2] = {p + i * ld, p + (i + 1) * ld};
    softmaxRows<2>(rows, n, scale);
  }
  if (i < count) softmaxAvx512(p + i * ld, n, scale);
}

// d = p * (d - sum_j p_j d_j) * scale
AVX512_TARGET void softmaxBackwardAvx512(float* d, const float* p, int64_t n, float scale) {
  __m512 acc = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xffff) : tailMask(n - i);
    acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, p + i), _mm512_maskz_loadu_ps(m, d + i), acc);
  }
  const __m512 dv = _mm512_set1_ps(_mm512_reduce_add_ps(acc)), sv = _mm512_set1_ps(scale);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xffff) : tailMask(n - i);
    const __m512 r = _mm512_mul_ps(
        _mm512_mul_ps(_mm512_maskz_loadu_ps(m, p + i), _mm512_sub_ps(_mm512_maskz_loadu_ps(m, d + i), dv)), sv);
    _mm512_mask_storeu_ps(d + i, m, r);
  }
}

}  // namespace vec_impl
}  // namespace tessera

#endif
