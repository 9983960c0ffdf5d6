// The slide-level half of the model: gated-attention MIL pooling, dropout on the pooled vector, one linear
// head per task, and the masked, weighted task losses. Every buffer is in the backend's memory.
#pragma once

#include <cstdint>
#include <vector>

#include "backend.h"
#include "model.h"

namespace tessera {

struct AggregatorPass {
  BackendBuffer attn, a, g, z, mask, zd;  // attn (N); a, g (N,Dh); z, zd, mask (Din)
  BackendBuffer logits;  // every task's logits one after the other, task t from logitOffset[t]
  std::vector<int64_t> logitOffset;
  float* taskLogits(size_t t) const { return logits.f32() + logitOffset[t]; }
};

// h (N, Din). dropout > 0 applies an inverted-dropout mask drawn from dropoutSeed.
void aggregatorForward(const Backend& be, Model& model, const float* h, int64_t N, AggregatorPass& pass,
                       float dropout, uint64_t dropoutSeed);

// Losses for one slide; scales[t] multiplies task t's gradient (0 skips the task). Adds parameter gradients
// into the model's gradients and dh (N, Din) += dL/dh. losses (tasks) in backend memory get the per-task unscaled
// losses (0 where unlabelled).
void aggregatorBackward(const Backend& be, Model& model, const float* h, int64_t N, const AggregatorPass& pass,
                        const std::vector<int>& labels, const std::vector<float>& scales, float* dh, double* losses);

// Host copies of a forward pass's logits, per task.
std::vector<std::vector<float>> aggregatorLogits(const Backend& be, const Model& model, const AggregatorPass& pass);

// Probabilities from the logits: binary {sigmoid}, categorical softmax.
std::vector<std::vector<float>> aggregatorProbabilities(const Model& model,
                                                        const std::vector<std::vector<float>>& logits);

}  // namespace tessera
