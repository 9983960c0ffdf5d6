// LayerNorm over the last dimension (biased variance, as torch.nn.LayerNorm).
#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu_features.h"
#include "ops_cpu.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include "x86_simd.h"
#define TESSERA_LN_AVX2 1
#endif

namespace tessera {
namespace cpu {

namespace {

// Row sums in double, as the scalar loops below, but eight (AVX2) or sixteen (AVX-512) lanes wide (so the order of the additions differs
// from the scalar path; both are far inside the fixtures' tolerance and each is the same for any thread count).
#ifdef TESSERA_LN_AVX2
__attribute__((target("avx2,fma"))) inline double hsum(__m256d a) {
  const __m128d s = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
  return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

// mean and sum of squared deviations (the deviation rounded to float first, as the scalar loop does)
__attribute__((target("avx2,fma"))) void rowStatsAvx2(const float* x, int64_t C, float* mu, double* ssd) {
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
  int64_t c = 0;
  for (; c + 8 <= C; c += 8) {
    const __m256 v = _mm256_loadu_ps(x + c);
    s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
  }
  double s = hsum(_mm256_add_pd(s0, s1));
  for (; c < C; c++) s += x[c];
  const float m = static_cast<float>(s / C);
  const __m256 mv = _mm256_set1_ps(m);
  s0 = s1 = _mm256_setzero_pd();
  for (c = 0; c + 8 <= C; c += 8) {
    const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + c), mv);
    const __m256d d0 = _mm256_cvtps_pd(_mm256_castps256_ps128(d)), d1 = _mm256_cvtps_pd(_mm256_extractf128_ps(d, 1));
    s0 = _mm256_fmadd_pd(d0, d0, s0);
    s1 = _mm256_fmadd_pd(d1, d1, s1);
  }
  double v = hsum(_mm256_add_pd(s0, s1));
  for (; c < C; c++) {
    const double d = x[c] - m;
    v += d * d;
  }
  *mu = m;
  *ssd = v;
}

// sum of d*w and of (d*w) * xhat for the backward
__attribute__((target("avx2,fma"))) void rowBackSumsAvx2(const float* x, const float* d, const float* w, int64_t C,
                                                         float mu, float r, double* sumD, double* sumDX) {
  __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd(), b0 = _mm256_setzero_pd(), b1 = _mm256_setzero_pd();
  const __m256 mv = _mm256_set1_ps(mu), rv = _mm256_set1_ps(r);
  int64_t c = 0;
  for (; c + 8 <= C; c += 8) {
    const __m256 dn = _mm256_mul_ps(_mm256_loadu_ps(d + c), _mm256_loadu_ps(w + c));
    const __m256 xh = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + c), mv), rv);
    const __m256d dn0 = _mm256_cvtps_pd(_mm256_castps256_ps128(dn)), dn1 = _mm256_cvtps_pd(_mm256_extractf128_ps(dn, 1));
    a0 = _mm256_add_pd(a0, dn0);
    a1 = _mm256_add_pd(a1, dn1);
    b0 = _mm256_fmadd_pd(dn0, _mm256_cvtps_pd(_mm256_castps256_ps128(xh)), b0);
    b1 = _mm256_fmadd_pd(dn1, _mm256_cvtps_pd(_mm256_extractf128_ps(xh, 1)), b1);
  }
  double sd = hsum(_mm256_add_pd(a0, a1)), sdx = hsum(_mm256_add_pd(b0, b1));
  for (; c < C; c++) {
    const float dn = d[c] * w[c];
    sd += dn;
    sdx += static_cast<double>(dn) * ((x[c] - mu) * r);
  }
  *sumD = sd;
  *sumDX = sdx;
}
#endif

#ifdef TESSERA_LN_AVX2
bool lnAvx2() { return useAvx2Fma(); }

// The same sums 16 floats at a time on the AVX-512 path (double accumulators, 8 lanes each).
#define TESSERA_LN_AVX512_FN __attribute__((target("avx512f,avx512dq,avx512vl,fma")))
TESSERA_LN_AVX512_FN void rowStatsAvx512(const float* x, int64_t C, float* mu, double* ssd) {
  __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
  int64_t c = 0;
  for (; c + 16 <= C; c += 16) {
    const __m512 v = _mm512_loadu_ps(x + c);
    s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
    s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)));
  }
  double s = _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
  for (; c < C; c++) s += x[c];
  const float m = static_cast<float>(s / C);
  const __m512 mv = _mm512_set1_ps(m);
  s0 = s1 = _mm512_setzero_pd();
  for (c = 0; c + 16 <= C; c += 16) {
    const __m512 d = _mm512_sub_ps(_mm512_loadu_ps(x + c), mv);
    const __m512d d0 = _mm512_cvtps_pd(_mm512_castps512_ps256(d)), d1 = _mm512_cvtps_pd(_mm512_extractf32x8_ps(d, 1));
    s0 = _mm512_fmadd_pd(d0, d0, s0);
    s1 = _mm512_fmadd_pd(d1, d1, s1);
  }
  double v = _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
  for (; c < C; c++) {
    const double d = x[c] - m;
    v += d * d;
  }
  *mu = m;
  *ssd = v;
}

TESSERA_LN_AVX512_FN void rowBackSumsAvx512(const float* x, const float* d, const float* w, int64_t C, float mu,
                                            float r, double* sumD, double* sumDX) {
  __m512d a0 = _mm512_setzero_pd(), a1 = _mm512_setzero_pd(), b0 = _mm512_setzero_pd(), b1 = _mm512_setzero_pd();
  const __m512 mv = _mm512_set1_ps(mu), rv = _mm512_set1_ps(r);
  int64_t c = 0;
  for (; c + 16 <= C; c += 16) {
    const __m512 dn = _mm512_mul_ps(_mm512_loadu_ps(d + c), _mm512_loadu_ps(w + c));
    const __m512 xh = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + c), mv), rv);
    const __m512d dn0 = _mm512_cvtps_pd(_mm512_castps512_ps256(dn)), dn1 = _mm512_cvtps_pd(_mm512_extractf32x8_ps(dn, 1));
    a0 = _mm512_add_pd(a0, dn0);
    a1 = _mm512_add_pd(a1, dn1);
    b0 = _mm512_fmadd_pd(dn0, _mm512_cvtps_pd(_mm512_castps512_ps256(xh)), b0);
    b1 = _mm512_fmadd_pd(dn1, _mm512_cvtps_pd(_mm512_extractf32x8_ps(xh, 1)), b1);
  }
  double sd = _mm512_reduce_add_pd(_mm512_add_pd(a0, a1)), sdx = _mm512_reduce_add_pd(_mm512_add_pd(b0, b1));
  for (; c < C; c++) {
    const float dn = d[c] * w[c];
    sd += dn;
    sdx += static_cast<double>(dn) * ((x[c] - mu) * r);
  }
  *sumD = sd;
  *sumDX = sdx;
}
#endif

}  // namespace

// out, inp (M,C); weight, bias (C); mean, rstd (M) saved for backward (may be null)
void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                       const float* bias, int64_t M, int64_t C, float eps) {
  parallelRange(M, 64, [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; m++) {
      const float* x = inp + m * C;
      float mu;
      double v = 0.0;
#ifdef TESSERA_LN_AVX2
      if (useAvx512()) {
        rowStatsAvx512(x, C, &mu, &v);
      } else if (lnAvx2()) {
        rowStatsAvx2(x, C, &mu, &v);
      } else
#endif
      {
        double s = 0.0;
        for (int64_t c = 0; c < C; c++) s += x[c];
        mu = static_cast<float>(s / C);
        for (int64_t c = 0; c < C; c++) {
          const double d = x[c] - mu;
          v += d * d;
        }
      }
      const float r = static_cast<float>(1.0 / std::sqrt(v / C + eps));
      float* o = out + m * C;
      onAvx512([&]() TESSERA_VECTORIZE {
        for (int64_t c = 0; c < C; c++) o[c] = (x[c] - mu) * r * weight[c] + bias[c];
      });
      if (mean) mean[m] = mu;
      if (rstd) rstd[m] = r;
    }
  });
}

// One pass over x and dout: rows go in fixed blocks of kRows, each block's task writes dinp for its rows and the
// block's partial sums of dweight / dbias, and the partials are added in block order afterwards (so the result
// does not depend on the thread count).
void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                        const float* weight, const float* mean, const float* rstd, int64_t M, int64_t C) {
  constexpr int64_t kRows = 64;
  const int64_t blocks = (M + kRows - 1) / kRows;
  std::vector<float> partial(static_cast<size_t>(blocks * 2 * C), 0.0f);
  parallelFor(blocks, [&](int64_t blk) {
    float* pw = partial.data() + blk * 2 * C;
    float* pb = pw + C;
    for (int64_t m = blk * kRows; m < std::min(M, (blk + 1) * kRows); m++) {
      const float* x = inp + m * C;
      const float* d = dout + m * C;
      const float mu = mean[m], r = rstd[m];
      onAvx512([&]() TESSERA_VECTORIZE {
        for (int64_t c = 0; c < C; c++) {
          pw[c] += d[c] * ((x[c] - mu) * r);
          pb[c] += d[c];
        }
      });
      if (!dinp) continue;
      double sumD = 0.0, sumDX = 0.0;
#ifdef TESSERA_LN_AVX2
      if (useAvx512()) {
        rowBackSumsAvx512(x, d, weight, C, mu, r, &sumD, &sumDX);
      } else if (lnAvx2()) {
        rowBackSumsAvx2(x, d, weight, C, mu, r, &sumD, &sumDX);
      } else
#endif
      {
        for (int64_t c = 0; c < C; c++) {
          const float dn = d[c] * weight[c];
          sumD += dn;
          sumDX += static_cast<double>(dn) * ((x[c] - mu) * r);
        }
      }
      const float meanD = static_cast<float>(sumD / C), meanDX = static_cast<float>(sumDX / C);
      float* di = dinp + m * C;
      onAvx512([&]() TESSERA_VECTORIZE {
        for (int64_t c = 0; c < C; c++) {
          const float xhat = (x[c] - mu) * r;
          di[c] += (d[c] * weight[c] - meanD - xhat * meanDX) * r;
        }
      });
    }
  });
  for (int64_t blk = 0; blk < blocks; blk++) {
    const float* pw = partial.data() + blk * 2 * C;
    for (int64_t c = 0; c < C; c++) dweight[c] += pw[c];
    if (dbias)
      for (int64_t c = 0; c < C; c++) dbias[c] += pw[C + c];
  }
}

}  // namespace cpu
}  // namespace tessera
