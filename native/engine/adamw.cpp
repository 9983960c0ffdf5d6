// AdamW with decoupled weight decay, in the same operation order as torch.optim.AdamW (single-tensor path)
// so results agree to float rounding, over every parameter run in one call; and the gradients' sum of squares for
// global-norm clipping. An AVX2 loop (chosen at run time) does the same arithmetic 8 wide; libm's sqrtf keeps the
// portable loop scalar because of errno.
#include <cmath>
#include <vector>

#include "cpu_features.h"
#include "ops_cpu.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include "x86_simd.h"
#define TESSERA_ADAMW_AVX2 1
#endif

namespace tessera {
namespace cpu {

namespace {

struct AdamScalars {
  float decay, beta1, beta2, oneMinusB1, oneMinusB2, bc2Sqrt, eps, stepSize, gradScale;
};

// zeroG: g itself, zeroed as it is read (the step's gradients are spent), or null.
void adamwScalar(float* p, const float* g, float* m, float* v, int64_t i0, int64_t i1, const AdamScalars& s,
                 float* zeroG) {
  for (int64_t i = i0; i < i1; i++) {
    const float gi = g[i] * s.gradScale;
    if (zeroG) zeroG[i] = 0.0f;
    p[i] *= s.decay;
    m[i] = m[i] * s.beta1 + s.oneMinusB1 * gi;
    v[i] = v[i] * s.beta2 + s.oneMinusB2 * gi * gi;
    const float denom = std::sqrt(v[i]) / s.bc2Sqrt + s.eps;
    p[i] -= s.stepSize * (m[i] / denom);
  }
}

#ifdef TESSERA_ADAMW_AVX2
// Same operations as adamwScalar, without FMA contraction so both paths round identically.
__attribute__((target("avx2"))) void adamwAvx2(float* p, const float* g, float* m, float* v, int64_t i0,
                                               int64_t i1, const AdamScalars& s, float* zeroG) {
  const __m256 decay = _mm256_set1_ps(s.decay), b1 = _mm256_set1_ps(s.beta1), b2 = _mm256_set1_ps(s.beta2),
               omb1 = _mm256_set1_ps(s.oneMinusB1), omb2 = _mm256_set1_ps(s.oneMinusB2),
               bc2 = _mm256_set1_ps(s.bc2Sqrt), eps = _mm256_set1_ps(s.eps), step = _mm256_set1_ps(s.stepSize),
               gscale = _mm256_set1_ps(s.gradScale);
  int64_t i = i0;
  for (; i + 8 <= i1; i += 8) {
    const __m256 gi = _mm256_mul_ps(_mm256_loadu_ps(g + i), gscale);
    if (zeroG) _mm256_storeu_ps(zeroG + i, _mm256_setzero_ps());
    const __m256 pi = _mm256_mul_ps(_mm256_loadu_ps(p + i), decay);
    const __m256 mi = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(m + i), b1), _mm256_mul_ps(omb1, gi));
    const __m256 vi =
        _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(v + i), b2), _mm256_mul_ps(_mm256_mul_ps(omb2, gi), gi));
    const __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), bc2), eps);
    _mm256_storeu_ps(m + i, mi);
    _mm256_storeu_ps(v + i, vi);
    _mm256_storeu_ps(p + i, _mm256_sub_ps(pi, _mm256_mul_ps(step, _mm256_div_ps(mi, denom))));
  }
  adamwScalar(p, g, m, v, i, i1, s, zeroG);
}

#endif

void adamwUpdate(float* p, const float* g, float* m, float* v, const ParamSegment* segs, int nsegs, float gradScale,
                 float beta1, float beta2, float eps, int64_t t, float* zeroG) {
  const double bc1 = 1.0 - std::pow(static_cast<double>(beta1), static_cast<double>(t));
  const double bc2 = 1.0 - std::pow(static_cast<double>(beta2), static_cast<double>(t));
  for (int k = 0; k < nsegs; k++) {
    const ParamSegment& seg = segs[k];
    AdamScalars s;
    s.decay = static_cast<float>(1.0 - static_cast<double>(seg.lr) * seg.weightDecay);
    s.stepSize = static_cast<float>(seg.lr / bc1);
    s.bc2Sqrt = static_cast<float>(std::sqrt(bc2));
    s.beta1 = beta1;
    s.beta2 = beta2;
    s.oneMinusB1 = 1.0f - beta1;
    s.oneMinusB2 = 1.0f - beta2;
    s.eps = eps;
    s.gradScale = gradScale;
    parallelRange(seg.end - seg.begin, 1 << 15, [&](int64_t i0, int64_t i1) {
      i0 += seg.begin;
      i1 += seg.begin;
#ifdef TESSERA_ADAMW_AVX2
      if (useAvx2Fma()) return adamwAvx2(p, g, m, v, i0, i1, s, zeroG);
#endif
      adamwScalar(p, g, m, v, i0, i1, s, zeroG);
    });
  }
}

}  // namespace

// p, g, m, v: the flat arrays; each segment [begin, end) has its own lr and weight decay; t = 1-based step number
void adamw_update(float* p, const float* g, float* m, float* v, const ParamSegment* segs, int nsegs, float gradScale,
                  float beta1, float beta2, float eps, int64_t t) {
  adamwUpdate(p, g, m, v, segs, nsegs, gradScale, beta1, beta2, eps, t, nullptr);
}

// The same, and g = 0 over the segments in the same pass (instead of a second pass that zeroes the gradients).
void adamw_update_zero_grads(float* p, float* g, float* m, float* v, const ParamSegment* segs, int nsegs,
                             float gradScale, float beta1, float beta2, float eps, int64_t t) {
  adamwUpdate(p, g, m, v, segs, nsegs, gradScale, beta1, beta2, eps, t, g);
}

// Sum of squares in fixed 64k blocks summed in order: deterministic for any thread count.
void sum_squares(double* out, const float* x, int64_t n) {
  const int64_t block = 1 << 16, nb = (n + block - 1) / block;
  std::vector<double> partial(static_cast<size_t>(nb > 0 ? nb : 0), 0.0);
  parallelFor(nb, [&](int64_t b) {
    const int64_t i0 = b * block, i1 = i0 + block < n ? i0 + block : n;
    // 8 running sums (element i into sum i % 8), added in order at the end: the adds overlap instead of waiting on
    // one another, and the order is still fixed by the block alone.
    double acc[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    int64_t i = i0;
    for (; i + 8 <= i1; i += 8)
      for (int j = 0; j < 8; j++) acc[j] += static_cast<double>(x[i + j]) * x[i + j];
    for (int j = 0; i < i1; i++, j++) acc[j] += static_cast<double>(x[i]) * x[i];
    double s = 0.0;
    for (double a : acc) s += a;
    partial[b] = s;
  });
  double s = 0.0;
  for (double v : partial) s += v;
  out[0] = s;
}

}  // namespace cpu
}  // namespace tessera
