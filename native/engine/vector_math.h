// Elementwise kernels for the activations and the softmax, where libm calls would otherwise cost as much as
// a matmul: AVX-512 and AVX2+FMA versions (chosen at run time by cpu_features.h, like the GEMM kernel) and
// portable ones built on fast_math.h. On a given path every element goes through the same code, including loop
// tails (padded to a full vector), so results never depend on how work was split between threads.
#pragma once

#include <cstdint>

namespace tessera {

// out = 0.5 x (1 + erf(x / sqrt 2))
void vecGeluForward(float* out, const float* x, int64_t n);
// dx += dout * (Phi(x) + x phi(x)); accumulate = false: dx = that product, the same numbers as adding it to zeros
// (a caller that would zero dx first saves that pass over memory and the read of dx)
void vecGeluBackward(float* dx, const float* dout, const float* x, int64_t n, bool accumulate = true);
// The same two functions to about 1e-6 instead of 1e-7, about twice as fast on AVX-512 (vector_math_avx512.cpp;
// elsewhere they are the two above): for callers that round the result to bf16 next.
void vecGeluForwardPiecewise(float* out, const float* x, int64_t n);
void vecGeluBackwardPiecewise(float* dx, const float* dout, const float* x, int64_t n, bool accumulate = true);
// out = silu(g) * v
void vecSwigluForward(float* out, const float* g, const float* v, int64_t n);
// dg += dout * v * s (1 + g (1 - s)), dv += dout * g * s, s = sigmoid(g)
void vecSwigluBackward(float* dg, float* dv, const float* dout, const float* g, const float* v, int64_t n);
// row = softmax(row * scale), scale > 0
void vecSoftmax(float* row, int64_t n, float scale);
// count rows of n floats, ld apart, each as vecSoftmax (the same results); on AVX-512 two rows interleaved.
void vecSoftmaxRows(float* p, int64_t count, int64_t n, int64_t ld, float scale);
// softmax backward, then a scale: d = p * (d - sum_j p_j d_j) * scale
void vecSoftmaxBackward(float* d, const float* p, int64_t n, float scale);

}  // namespace tessera
