// Bicubic pos_embed resampling matching torch.nn.functional.interpolate(mode="bicubic",
// align_corners=False), with antialias=True (timm's default in resample_abs_pos_embed) or False. Both are
// separable: each output position along an axis is a weighted sum of input positions along it.
#include "pos_embed_resample.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace tessera {

namespace {

struct Taps {
  std::vector<int64_t> start;  // first input index per output index
  std::vector<int> count;  // taps per output index
  std::vector<std::vector<double>> w;
  std::vector<std::vector<int64_t>> idx;  // input index per tap (clamped at the border for plain bicubic)
};

double aaCubic(double x) {  // Keys kernel with a = -0.5 (PIL / torch antialias)
  const double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

Taps antialiasTaps(int64_t in, int64_t out) {
  Taps t;
  const double scale = static_cast<double>(in) / out;
  const double support = scale >= 1.0 ? 2.0 * scale : 2.0;
  const double invscale = scale >= 1.0 ? 1.0 / scale : 1.0;
  for (int64_t i = 0; i < out; i++) {
    const double center = scale * (i + 0.5);
    const int64_t xmin = std::max<int64_t>(static_cast<int64_t>(center - support + 0.5), 0);
    const int64_t xsize = std::min<int64_t>(static_cast<int64_t>(center + support + 0.5), in) - xmin;
    std::vector<double> w;
    std::vector<int64_t> idx;
    double total = 0.0;
    for (int64_t j = 0; j < xsize; j++) {
      const double v = aaCubic((j + xmin - center + 0.5) * invscale);
      w.push_back(v);
      idx.push_back(xmin + j);
      total += v;
    }
    if (total != 0.0)
      for (double& v : w) v /= total;
    t.w.push_back(w);
    t.idx.push_back(idx);
  }
  return t;
}

Taps plainTaps(int64_t in, int64_t out) {  // upsample_bicubic2d, A = -0.75, border-clamped reads
  Taps t;
  const double A = -0.75;
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  auto conv1 = [&](double x) { return ((A + 2) * x - (A + 3)) * x * x + 1; };
  auto conv2 = [&](double x) { return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; };
  for (int64_t i = 0; i < out; i++) {
    const float real = scale * (static_cast<float>(i) + 0.5f) - 0.5f;
    const int64_t x0 = static_cast<int64_t>(std::floor(real));
    const double f = real - static_cast<float>(x0);
    std::vector<double> w = {conv2(f + 1.0), conv1(f), conv1(1.0 - f), conv2(2.0 - f)};
    std::vector<int64_t> idx;
    for (int k = 0; k < 4; k++) idx.push_back(std::min<int64_t>(std::max<int64_t>(x0 - 1 + k, 0), in - 1));
    t.w.push_back(w);
    t.idx.push_back(idx);
  }
  return t;
}

}  // namespace

void resamplePosEmbed(const float* src, int numPrefix, int oldH, int oldW, int dim, float* dst, int newH,
                      int newW, bool antialias) {
  if (numPrefix < 0 || oldH <= 0 || oldW <= 0 || newH <= 0 || newW <= 0 || dim <= 0)
    throw std::invalid_argument("pos_embed resampling needs positive grid sizes (from " + std::to_string(oldH) +
                                "x" + std::to_string(oldW) + " to " + std::to_string(newH) + "x" +
                                std::to_string(newW) + ").");
  std::copy(src, src + static_cast<int64_t>(numPrefix) * dim, dst);
  const float* grid = src + static_cast<int64_t>(numPrefix) * dim;
  float* out = dst + static_cast<int64_t>(numPrefix) * dim;
  if (oldH == newH && oldW == newW) {
    std::copy(grid, grid + static_cast<int64_t>(oldH) * oldW * dim, out);
    return;
  }
  const Taps tx = antialias ? antialiasTaps(oldW, newW) : plainTaps(oldW, newW);
  const Taps ty = antialias ? antialiasTaps(oldH, newH) : plainTaps(oldH, newH);
  // Horizontal pass: (oldH, oldW, dim) -> (oldH, newW, dim); then vertical: -> (newH, newW, dim).
  std::vector<double> tmp(static_cast<size_t>(oldH) * newW * dim, 0.0);
  for (int y = 0; y < oldH; y++)
    for (int x = 0; x < newW; x++) {
      double* o = tmp.data() + (static_cast<size_t>(y) * newW + x) * dim;
      for (size_t k = 0; k < tx.w[x].size(); k++) {
        const float* s = grid + (static_cast<int64_t>(y) * oldW + tx.idx[x][k]) * dim;
        for (int d = 0; d < dim; d++) o[d] += tx.w[x][k] * s[d];
      }
    }
  for (int y = 0; y < newH; y++)
    for (int x = 0; x < newW; x++) {
      float* o = out + (static_cast<int64_t>(y) * newW + x) * dim;
      for (int d = 0; d < dim; d++) {
        double acc = 0.0;
        for (size_t k = 0; k < ty.w[y].size(); k++)
          acc += ty.w[y][k] * tmp[(static_cast<size_t>(ty.idx[y][k]) * newW + x) * dim + d];
        o[d] = static_cast<float>(acc);
      }
    }
}

}  // namespace tessera
