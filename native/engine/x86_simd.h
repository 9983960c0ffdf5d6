// <immintrin.h> for the x86 SIMD kernels (each compiled for its instruction set by a target attribute). GCC 12
// reports its own AVX-512 intrinsics (_mm512_min_ps, _mm512_reduce_add_pd, _mm512_extractf32x8_ps, ...) as using an
// uninitialized value at -O2 and up, where they pass _mm512_undefined_*() as an unused merge operand (GCC bug
// 105593, fixed in 12.3 and 13): the warnings point into the header, so they are silenced for the header's lines only.
#pragma once

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#else
#include <immintrin.h>
#endif
#endif
