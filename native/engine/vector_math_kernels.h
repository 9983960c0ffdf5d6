// Internal to vector_math*.cpp: the AVX-512 elementwise kernels (vector_math_avx512.cpp), called by the dispatching
// functions of vector_math.h on the AVX-512 path only. Same contracts as those functions.
#pragma once

#include <cstdint>

namespace tessera {
namespace vec_impl {

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
void geluForwardAvx512(float* out, const float* x, int64_t n);
void geluBackwardAvx512(float* dx, const float* dout, const float* x, int64_t n, bool accumulate);
void geluForwardPiecewiseAvx512(float* out, const float* x, int64_t n);
void geluBackwardPiecewiseAvx512(float* dx, const float* dout, const float* x, int64_t n, bool accumulate);
void swigluForwardAvx512(float* out, const float* g, const float* v, int64_t n);
void swigluBackwardAvx512(float* dg, float* dv, const float* dout, const float* g, const float* v, int64_t n);
void softmaxAvx512(float* row, int64_t n, float scale);
void softmaxRowsAvx512(float* p, int64_t count, int64_t n, int64_t ld, float scale);
void softmaxBackwardAvx512(float* d, const float* p, int64_t n, float scale);
#define TESSERA_VEC_AVX512 1
#endif

}  // namespace vec_impl
}  // namespace tessera
