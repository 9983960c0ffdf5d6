// Task losses on a head's logits: BCE with logits for binary tasks, cross-entropy for categorical ones.
// A missing label (-1) contributes neither loss nor gradient.
#include <cmath>
#include <stdexcept>
#include <string>

#include "ops_cpu.h"

namespace tessera {
namespace cpu {

namespace {
double lossAndGradient(float* dlogits, const float* logits, int64_t C, bool binary, int label, float scale) {
  if (label < 0) return 0.0;
  if (binary) {
    if (label > 1) throw std::invalid_argument("A binary label must be 0, 1 or missing (got " +
                                               std::to_string(label) + ").");
    const double x = logits[0], y = label;
    const double loss = std::fmax(x, 0.0) - x * y + std::log1p(std::exp(-std::fabs(x)));
    dlogits[0] += scale * static_cast<float>(1.0 / (1.0 + std::exp(-x)) - y);
    return loss;
  }
  if (label >= C)
    throw std::invalid_argument("A categorical label must be below the number of classes " + std::to_string(C) +
                                " (got " + std::to_string(label) + ").");
  double mx = logits[0];
  for (int64_t c = 1; c < C; c++) mx = std::fmax(mx, static_cast<double>(logits[c]));
  double sum = 0.0;
  for (int64_t c = 0; c < C; c++) sum += std::exp(logits[c] - mx);
  const double lse = mx + std::log(sum);
  for (int64_t c = 0; c < C; c++) {
    const double p = std::exp(logits[c] - lse);
    dlogits[c] += scale * static_cast<float>(p - (c == label ? 1.0 : 0.0));
  }
  return lse - logits[label];
}
}  // namespace

// loss (1) = the unscaled loss; dlogits (C) += scale * dloss/dlogits
void task_loss(double* loss, float* dlogits, const float* logits, int64_t C, bool binary, int label, float scale) {
  loss[0] = lossAndGradient(dlogits, logits, C, binary, label, scale);
}

}  // namespace cpu
}  // namespace tessera
