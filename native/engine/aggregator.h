// The slide-level half of the model: gated-attention MIL pooling, dropout on the pooled vector, one linear
// head per task, and the masked, weighted task losses.
#pragma once

#include <cstdint>
#include <vector>

#include "backend.h"
#include "model.h"

namespace tessera {

struct AggregatorPass {
  std::vector<float> attn, a, g, z, dropMask, zd;  // attn (N); a, g (N,Dh); z, zd, dropMask (Din)
  std::vector<std::vector<float>> logits;  // per task
};

// h (N, Din). dropout > 0 applies an inverted-dropout mask drawn from dropoutSeed.
void aggregatorForward(const Backend& be, const Model& model, const float* h, int64_t N, AggregatorPass& pass,
                       float dropout, uint64_t dropoutSeed);

// Losses for one slide; scales[t] multiplies task t's gradient (0 skips the task). Adds parameter gradients
// into model.grads() and dh (N, Din) += dL/dh. Returns per-task unscaled losses (0 where unlabelled).
std::vector<double> aggregatorBackward(const Backend& be, Model& model, const float* h, int64_t N,
                                       const AggregatorPass& pass, const std::vector<int>& labels,
                                       const std::vector<float>& scales, float* dh);

// Probabilities from a forward pass: binary {sigmoid}, categorical softmax.
std::vector<std::vector<float>> aggregatorProbabilities(const Model& model, const AggregatorPass& pass);

}  // namespace tessera
