// Small deterministic RNG (splitmix64-seeded xoshiro128+ style) for init and dropout masks: the same seed
// gives the same numbers on every platform, unlike std::normal_distribution.
#pragma once

#include <cmath>
#include <cstdint>

#include "host_device.h"

namespace tessera {

// Element i of an inverted-dropout mask with drop probability p: 0, or 1/(1-p) to keep the expected value. A
// counter-based hash of (seed, i) (splitmix64's finaliser), so every backend draws the same mask in any order.
TESSERA_HD float dropoutMask(uint64_t seed, int64_t i, float p) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(i + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  const float u = static_cast<float>(z >> 40) * (1.0f / 16777216.0f);  // 24 random bits: uniform in [0, 1)
  return u < p ? 0.0f : 1.0f / (1.0f - p);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& s : s_) s = splitmix(seed);
  }
  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;  // xoshiro256**
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1) with 24 random bits (exactly representable in float).
  float uniform() { return static_cast<float>(next() >> 40) * (1.0f / 16777216.0f); }
  // Standard normal truncated to [-2, 2] (rejection), Box-Muller in double.
  float truncNormal() {
    for (;;) {
      double u1 = (static_cast<double>(next() >> 11) + 1.0) * (1.0 / 9007199254740993.0);
      double u2 = static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0);
      double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
      if (z >= -2.0 && z <= 2.0) return static_cast<float>(z);
    }
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t splitmix(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t s_[4];
};

}  // namespace tessera
