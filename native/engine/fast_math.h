// Branch-free float exp and erf that compilers vectorise inside loops (libm's expf / erff are scalar calls).
// exp: Cephes-style range reduction + degree-6 polynomial, relative error ~2 ulp on [-87, 88].
// erf: Abramowitz & Stegun 7.1.26, absolute error below 1.5e-7. Both are far inside the engine's 1e-4
// tolerance against PyTorch; the fixtures check it.
#pragma once

#include <cstdint>
#include <cstring>

namespace tessera {

inline float fastExp(float x) {
  x = x < -87.3f ? -87.3f : (x > 88.3f ? 88.3f : x);
  // n = round(x / ln2) with the 1.5 * 2^23 trick (round to nearest, no libm call).
  const float t = x * 1.44269504088896341f + 12582912.0f;
  const float n = t - 12582912.0f;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // Multiply by 2^n by building the exponent bits.
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

inline float fastErf(float x) {
  const float ax = x < 0.0f ? -x : x;
  const float t = 1.0f / (1.0f + 0.3275911f * ax);
  float p = 1.061405429f;
  p = p * t - 1.453152027f;
  p = p * t + 1.421413741f;
  p = p * t - 0.284496736f;
  p = p * t + 0.254829592f;
  const float y = 1.0f - p * t * fastExp(-ax * ax);
  return x < 0.0f ? -y : y;
}

}  // namespace tessera
