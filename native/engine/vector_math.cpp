// AVX2 and portable elementwise kernels (see vector_math.h), and the dispatch to the AVX-512 ones
// (vector_math_avx512.cpp). The AVX2 exp / erf use the same constants as
// fast_math.h: Cephes range reduction + degree-6 polynomial, and Abramowitz & Stegun 7.1.26; the AVX2 GELU
// forward uses a rational erf instead (erf8Rational).
#include "vector_math.h"

#include <cmath>

#include "cpu_features.h"
#include "fast_math.h"
#include "vector_math_kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include "x86_simd.h"
#define TESSERA_VEC_AVX2 1
#endif

namespace tessera {

namespace {

#ifdef TESSERA_VEC_AVX2
#define AVX2_FN __attribute__((target("avx2,fma"))) inline

AVX2_FN __m256 exp8(__m256 x) {
  x = _mm256_max_ps(_mm256_set1_ps(-87.3f), _mm256_min_ps(_mm256_set1_ps(88.3f), x));
  const __m256 magic = _mm256_set1_ps(12582912.0f);
  const __m256 n = _mm256_sub_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), magic), magic);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), _mm256_set1_ps(1.0f));
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

// erf(x); *expNegSq = exp(-x^2), which the GELU backward reuses for the normal pdf
AVX2_FN __m256 erf8(__m256 x, __m256* expNegSq = nullptr) {
  const __m256 sign = _mm256_and_ps(x, _mm256_set1_ps(-0.0f));
  const __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
  const __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), ax, _mm256_set1_ps(1.0f)));
  __m256 p = _mm256_set1_ps(1.061405429f);
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453152027f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421413741f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284496736f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254829592f));
  const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(ax, ax)));
  if (expNegSq) *expNegSq = e;
  const __m256 y = _mm256_fnmadd_ps(_mm256_mul_ps(p, t), e, _mm256_set1_ps(1.0f));
  return _mm256_or_ps(y, sign);
}

// erf(x) as a rational function x P(x^2) / Q(x^2) on [-4, 4] (the float erf of Eigen and XLA; outside, erf is
// +-1 in float): no exp, about half the work of erf8. Absolute error below 3e-7.
AVX2_FN __m256 erf8Rational(__m256 a) {
  const __m256 x = _mm256_max_ps(_mm256_min_ps(a, _mm256_set1_ps(4.0f)), _mm256_set1_ps(-4.0f));
  const __m256 x2 = _mm256_mul_ps(x, x);
  __m256 p = _mm256_set1_ps(-2.72614225801306e-10f);
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(2.77068142495902e-08f));
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-2.10102402082508e-06f));
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-5.69250639462346e-05f));
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-7.34990630326855e-04f));
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-2.95459980854025e-03f));
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-1.60960333262415e-02f));
  __m256 q = _mm256_set1_ps(-1.45660718464996e-05f);
  q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-2.13374055278905e-04f));
  q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-1.68282697438203e-03f));
  q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-7.37332916720468e-03f));
  q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-1.42647390514189e-02f));
  return _mm256_div_ps(_mm256_mul_ps(p, x), q);
}

AVX2_FN __m256 sigmoid8(__m256 g) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), g))));
}

// Each step function handles 8 elements; loop tails go through zero-padded copies so that every element
// sees identical arithmetic whatever the split.
// Forward: the rational erf. Backward: erf8, whose exp(-x^2/2) the pdf reuses (cheaper than the rational erf
// plus an exp). The two erfs differ by under 5e-7.
AVX2_FN void geluStep(const float* x, float* out) {
  const __m256 v = _mm256_loadu_ps(x);
  const __m256 cdf = _mm256_fmadd_ps(erf8Rational(_mm256_mul_ps(v, _mm256_set1_ps(0.70710678118654752f))),
                                     _mm256_set1_ps(0.5f), _mm256_set1_ps(0.5f));
  _mm256_storeu_ps(out, _mm256_mul_ps(v, cdf));
}

AVX2_FN void geluBackStep(const float* d, const float* x, float* dx, bool accumulate) {
  const __m256 dd = _mm256_loadu_ps(d), v = _mm256_loadu_ps(x);
  __m256 e;  // exp(-(x/sqrt 2)^2) = exp(-x^2/2): one exp for the cdf and the pdf
  const __m256 cdf = _mm256_fmadd_ps(erf8(_mm256_mul_ps(v, _mm256_set1_ps(0.70710678118654752f)), &e),
                                     _mm256_set1_ps(0.5f), _mm256_set1_ps(0.5f));
  const __m256 pdf = _mm256_mul_ps(_mm256_set1_ps(0.39894228040143268f), e);
  const __m256 base = accumulate ? _mm256_loadu_ps(dx) : _mm256_setzero_ps();
  _mm256_storeu_ps(dx, _mm256_fmadd_ps(dd, _mm256_fmadd_ps(v, pdf, cdf), base));
}

AVX2_FN void swigluStep(const float* g, const float* v, float* out) {
  const __m256 gg = _mm256_loadu_ps(g);
  _mm256_storeu_ps(out, _mm256_mul_ps(_mm256_mul_ps(gg, sigmoid8(gg)), _mm256_loadu_ps(v)));
}

AVX2_FN void swigluBackStep(const float* d, const float* g, const float* v, float* dg, float* dv) {
  const __m256 dd = _mm256_loadu_ps(d), gg = _mm256_loadu_ps(g), vv = _mm256_loadu_ps(v);
  const __m256 s = sigmoid8(gg), one = _mm256_set1_ps(1.0f);
  const __m256 dsilu = _mm256_mul_ps(s, _mm256_fmadd_ps(gg, _mm256_sub_ps(one, s), one));
  _mm256_storeu_ps(dg, _mm256_fmadd_ps(_mm256_mul_ps(dd, vv), dsilu, _mm256_loadu_ps(dg)));
  _mm256_storeu_ps(dv, _mm256_fmadd_ps(_mm256_mul_ps(dd, gg), s, _mm256_loadu_ps(dv)));
}

AVX2_FN __m256 expShiftStep(const float* x, float* out, __m256 scale, __m256 shift) {
  const __m256 e = exp8(_mm256_fmsub_ps(_mm256_loadu_ps(x), scale, shift));
  _mm256_storeu_ps(out, e);
  return e;
}

__attribute__((target("avx2,fma"))) float maxAvx2(const float* x, int64_t n) {
  __m256 m = _mm256_set1_ps(-INFINITY);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + i));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, m);
  float r = -INFINITY;
  for (float l : lanes) r = l > r ? l : r;
  for (; i < n; i++) r = x[i] > r ? x[i] : r;
  return r;
}

__attribute__((target("avx2,fma"))) void scaleAvx2(float* x, int64_t n, float s) {
  const __m256 sv = _mm256_set1_ps(s);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), sv));
  for (; i < n; i++) x[i] *= s;
}

__attribute__((target("avx2,fma"))) void softmaxBackwardAvx2(float* d, const float* p, int64_t n, float scale) {
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(p + i), _mm256_loadu_ps(d + i), acc);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, acc);
  float dot = 0.0f;
  for (float l : lanes) dot += l;
  for (; i < n; i++) dot += p[i] * d[i];
  const __m256 dv = _mm256_set1_ps(dot), sv = _mm256_set1_ps(scale);
  for (i = 0; i + 8 <= n; i += 8)
    _mm256_storeu_ps(d + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(p + i), _mm256_sub_ps(_mm256_loadu_ps(d + i), dv)), sv));
  for (; i < n; i++) d[i] = p[i] * (d[i] - dot) * scale;
}

struct Tail {
  alignas(32) float a[8] = {}, b[8] = {}, c[8] = {}, o1[8] = {}, o2[8] = {};
};

void copyIn(float* dst, const float* src, int64_t n) {
  for (int64_t j = 0; j < n; j++) dst[j] = src[j];
}

__attribute__((target("avx2,fma"))) void geluForwardAvx2(float* out, const float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) geluStep(x + i, out + i);
  if (i < n) {
    Tail t;
    copyIn(t.a, x + i, n - i);
    geluStep(t.a, t.o1);
    copyIn(out + i, t.o1, n - i);
  }
}

__attribute__((target("avx2,fma"))) void geluBackwardAvx2(float* dx, const float* dout, const float* x,
                                                          int64_t n, bool accumulate) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) geluBackStep(dout + i, x + i, dx + i, accumulate);
  if (i < n) {
    Tail t;
    copyIn(t.a, dout + i, n - i);
    copyIn(t.b, x + i, n - i);
    if (accumulate) copyIn(t.o1, dx + i, n - i);
    geluBackStep(t.a, t.b, t.o1, accumulate);
    copyIn(dx + i, t.o1, n - i);
  }
}

__attribute__((target("avx2,fma"))) void swigluForwardAvx2(float* out, const float* g, const float* v, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) swigluStep(g + i, v + i, out + i);
  if (i < n) {
    Tail t;
    copyIn(t.a, g + i, n - i);
    copyIn(t.b, v + i, n - i);
    swigluStep(t.a, t.b, t.o1);
    copyIn(out + i, t.o1, n - i);
  }
}

__attribute__((target("avx2,fma"))) void swigluBackwardAvx2(float* dg, float* dv, const float* dout,
                                                            const float* g, const float* v, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) swigluBackStep(dout + i, g + i, v + i, dg + i, dv + i);
  if (i < n) {
    Tail t;
    copyIn(t.a, dout + i, n - i);
    copyIn(t.b, g + i, n - i);
    copyIn(t.c, v + i, n - i);
    copyIn(t.o1, dg + i, n - i);
    copyIn(t.o2, dv + i, n - i);
    swigluBackStep(t.a, t.b, t.c, t.o1, t.o2);
    copyIn(dg + i, t.o1, n - i);
    copyIn(dv + i, t.o2, n - i);
  }
}

__attribute__((target("avx2,fma"))) float expShiftedAvx2(float* row, int64_t n, float scale, float shift) {
  const __m256 sc = _mm256_set1_ps(scale), sh = _mm256_set1_ps(shift);
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) acc = _mm256_add_ps(acc, expShiftStep(row + i, row + i, sc, sh));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, acc);
  float sum = 0.0f;
  for (float l : lanes) sum += l;
  if (i < n) {
    Tail t;
    copyIn(t.a, row + i, n - i);
    expShiftStep(t.a, t.o1, sc, sh);
    for (int64_t j = 0; j < n - i; j++) sum += t.o1[j];
    copyIn(row + i, t.o1, n - i);
  }
  return sum;
}
#endif

}  // namespace

void vecGeluForward(float* out, const float* x, int64_t n) {
#ifdef TESSERA_VEC_AVX2
#ifdef TESSERA_VEC_AVX512
  if (useAvx512()) return vec_impl::geluForwardAvx512(out, x, n);
#endif
  if (useAvx2Fma()) return geluForwardAvx2(out, x, n);
#endif
  for (int64_t i = 0; i < n; i++) out[i] = 0.5f * x[i] * (1.0f + fastErf(x[i] * 0.70710678118654752f));
}

void vecGeluBackward(float* dx, const float* dout, const float* x, int64_t n, bool accumulate) {
#ifdef TESSERA_VEC_AVX2
#ifdef TESSERA_VEC_AVX512
  if (useAvx512()) return vec_impl::geluBackwardAvx512(dx, dout, x, n, accumulate);
#endif
  if (useAvx2Fma()) return geluBackwardAvx2(dx, dout, x, n, accumulate);
#endif
  for (int64_t i = 0; i < n; i++) {
    const float cdf = 0.5f * (1.0f + fastErf(x[i] * 0.70710678118654752f));
    const float pdf = 0.39894228040143268f * fastExp(-0.5f * x[i] * x[i]);
    dx[i] = (accumulate ? dx[i] : 0.0f) + dout[i] * (cdf + x[i] * pdf);
  }
}

void vecGeluForwardPiecewise(float* out, const float* x, int64_t n) {
#ifdef TESSERA_VEC_AVX512
  if (useAvx512()) return vec_impl::geluForwardPiecewiseAvx512(out, x, n);
#endif
  vecGeluForward(out, x, n);
}

void vecGeluBackwardPiecewise(float* dx, const float* dout, const float* x, int64_t n, bool accumulate) {
#ifdef TESSERA_VEC_AVX512
  if (useAvx512()) return vec_impl::geluBackwardPiecewiseAvx512(dx, dout, x, n, accumulate);
#endif
  vecGeluBackward(dx, dout, x, n, accumulate);
}

void vecSwigluForward(float* out, const float* g, const float* v, int64_t n) {
#ifdef TESSERA_VEC_AVX2
#ifdef TESSERA_VEC_AVX512
  if (useAvx512()) return vec_impl::swigluForwardAvx512(out, g, v, n);
#endif
  if (useAvx2Fma()) return swigluForwardAvx2(out, g, v, n);
#endif
  for (int64_t i = 0; i < n; i++) out[i] = g[i] / (1.0f + fastExp(-g[i])) * v[i];
}

void vecSwigluBackward(float* dg, float* dv, const float* dout, const float* g, const float* v, int64_t n) {
#ifdef TESSERA_VEC_AVX2
#ifdef TESSERA_VEC_AVX512
  if (useAvx512()) return vec_impl::swigluBackwardAvx512(dg, dv, dout, g, v, n);
#endif
  if (useAvx2Fma()) return swigluBackwardAvx2(dg, dv, dout, g, v, n);
#endif
  for (int64_t i = 0; i < n; i++) {
    const float s = 1.0f / (1.0f + fastExp(-g[i]));
    dv[i] += dout[i] * g[i] * s;
    dg[i] += dout[i] * v[i] * s * (1.0f + g[i] * (1.0f - s));
  }
}

// The maximum of row * scale is scale * max(row): rounding is monotonic, so the two are equal.
void vecSoftmax(float* row, int64_t n, float scale) {
#ifdef TESSERA_VEC_AVX2
#ifdef TESSERA_VEC_AVX512
  if (useAvx512()) return vec_impl::softmaxAvx512(row, n, scale);
#endif
  if (useAvx2Fma()) {
    const float mx = maxAvx2(row, n) * scale;
    return scaleAvx2(row, n, 1.0f / expShiftedAvx2(row, n, scale, mx));
  }
#endif
  float mx = -INFINITY;
  for (int64_t j = 0; j < n; j++) mx = row[j] * scale > mx ? row[j] * scale : mx;
  float sum = 0.0f;
  for (int64_t j = 0; j < n; j++) {
    row[j] = fastExp(row[j] * scale - mx);
    sum += row[j];
  }
  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < n; j++) row[j] *= inv;
}

void vecSoftmaxRows(float* p, int64_t count, int64_t n, int64_t ld, float scale) {
#ifdef TESSERA_VEC_AVX512
  if (useAvx512()) return vec_impl::softmaxRowsAvx512(p, count, n, ld, scale);
#endif
  for (int64_t i = 0; i < count; i++) vecSoftmax(p + i * ld, n, scale);
}

void vecSoftmaxBackward(float* d, const float* p, int64_t n, float scale) {
#ifdef TESSERA_VEC_AVX2
#ifdef TESSERA_VEC_AVX512
  if (useAvx512()) return vec_impl::softmaxBackwardAvx512(d, p, n, scale);
#endif
  if (useAvx2Fma()) return softmaxBackwardAvx2(d, p, n, scale);
#endif
  float dot = 0.0f;
  for (int64_t j = 0; j < n; j++) dot += p[j] * d[j];
  for (int64_t j = 0; j < n; j++) d[j] = p[j] * (d[j] - dot) * scale;
}

}  // namespace tessera
