// Aggregator forward/backward for one slide.
#include "aggregator.h"

#include <cmath>

#include "rng.h"

namespace tessera {

void aggregatorForward(const Backend& be, const Model& model, const float* h, int64_t N, AggregatorPass& pass,
                       float dropout, uint64_t dropoutSeed) {
  const AggregatorConfig& c = model.aggregator();
  const Model::AggregatorOffsets& o = model.aggregatorOffsets();
  const float* W = model.params();
  const int64_t D = c.input_dim, Dh = c.hidden_dim;
  pass.attn.assign(N, 0.0f);
  pass.a.assign(N * Dh, 0.0f);
  pass.g.assign(N * Dh, 0.0f);
  pass.z.assign(D, 0.0f);
  be.mil_attention_forward(pass.z.data(), pass.attn.data(), pass.a.data(), pass.g.data(), h, W + o.a_w,
                           W + o.a_b, W + o.b_w, W + o.b_b, W + o.c_w, nullptr, N, D, Dh);
  pass.dropMask.assign(D, 1.0f);
  if (dropout > 0.0f) {
    Rng rng(dropoutSeed);
    const float keepScale = 1.0f / (1.0f - dropout);
    for (int64_t d = 0; d < D; d++) pass.dropMask[d] = rng.uniform() < dropout ? 0.0f : keepScale;
  }
  pass.zd.resize(D);
  for (int64_t d = 0; d < D; d++) pass.zd[d] = pass.z[d] * pass.dropMask[d];
  pass.logits.assign(c.tasks.size(), {});
  for (size_t t = 0; t < c.tasks.size(); t++) {
    const int64_t C = c.tasks[t].numOutputs();
    pass.logits[t].assign(C, 0.0f);
    be.linear_forward(pass.logits[t].data(), pass.zd.data(), W + o.heads[t].w, W + o.heads[t].b, 1, D, C);
  }
}

std::vector<double> aggregatorBackward(const Backend& be, Model& model, const float* h, int64_t N,
                                       const AggregatorPass& pass, const std::vector<int>& labels,
                                       const std::vector<float>& scales, float* dh) {
  const AggregatorConfig& c = model.aggregator();
  const Model::AggregatorOffsets& o = model.aggregatorOffsets();
  const float* W = model.params();
  float* G = model.grads();
  const int64_t D = c.input_dim, Dh = c.hidden_dim;
  std::vector<double> losses(c.tasks.size(), 0.0);
  std::vector<float> dzd(D, 0.0f);
  for (size_t t = 0; t < c.tasks.size(); t++) {  // heads, then pooling, in reverse order of the forward
    const TaskConfig& task = c.tasks[t];
    const int64_t C = task.numOutputs();
    std::vector<float> dlogits(C, 0.0f);
    losses[t] = be.task_loss(dlogits.data(), pass.logits[t].data(), C, task.kind == TaskKind::Binary, labels[t],
                             scales[t]);
    if (labels[t] < 0 || scales[t] == 0.0f) continue;
    be.linear_backward(dzd.data(), G + o.heads[t].w, G + o.heads[t].b, dlogits.data(), pass.zd.data(),
                       W + o.heads[t].w, 1, D, C);
  }
  std::vector<float> dz(D);
  for (int64_t d = 0; d < D; d++) dz[d] = dzd[d] * pass.dropMask[d];
  std::vector<float> scratch(static_cast<size_t>(N * (2 * Dh + 1)));
  be.mil_attention_backward(dh, G + o.a_w, G + o.a_b, G + o.b_w, G + o.b_b, G + o.c_w, nullptr, dz.data(),
                            pass.attn.data(), pass.a.data(), pass.g.data(), h, W + o.a_w, W + o.b_w, W + o.c_w,
                            scratch.data(), N, D, Dh);
  return losses;
}

std::vector<std::vector<float>> aggregatorProbabilities(const Model& model, const AggregatorPass& pass) {
  const AggregatorConfig& c = model.aggregator();
  std::vector<std::vector<float>> out(c.tasks.size());
  for (size_t t = 0; t < c.tasks.size(); t++) {
    const std::vector<float>& l = pass.logits[t];
    if (c.tasks[t].kind == TaskKind::Binary) {
      out[t] = {static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(l[0]))))};
    } else {
      double mx = l[0], sum = 0.0;
      for (float v : l) mx = std::fmax(mx, v);
      for (float v : l) sum += std::exp(v - mx);
      for (float v : l) out[t].push_back(static_cast<float>(std::exp(v - mx) / sum));
    }
  }
  return out;
}

}  // namespace tessera
