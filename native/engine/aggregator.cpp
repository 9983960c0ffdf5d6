// Aggregator forward/backward for one slide.
#include "aggregator.h"

#include <cmath>

namespace tessera {

namespace {
size_t floatBytes(int64_t n) { return sizeof(float) * static_cast<size_t>(n); }
}  // namespace

void aggregatorForward(const Backend& be, Model& model, const float* h, int64_t N, AggregatorPass& pass,
                       float dropout, uint64_t dropoutSeed) {
  const AggregatorConfig& c = model.aggregator();
  const Model::AggregatorOffsets& o = model.aggregatorOffsets();
  const float* W = model.paramsOnBackend();
  const int64_t D = c.input_dim, Dh = c.hidden_dim;
  pass.attn = BackendBuffer(be, floatBytes(N));
  pass.a = BackendBuffer(be, floatBytes(N * Dh));
  pass.g = BackendBuffer(be, floatBytes(N * Dh));
  pass.z = BackendBuffer(be, floatBytes(D));
  pass.mask = BackendBuffer(be, floatBytes(D));
  pass.zd = BackendBuffer(be, floatBytes(D));
  be.mil_attention_forward(pass.z.f32(), pass.attn.f32(), pass.a.f32(), pass.g.f32(), h, W + o.a_w, W + o.a_b,
                           W + o.b_w, W + o.b_b, W + o.c_w, nullptr, N, D, Dh);
  be.dropout_forward(pass.zd.f32(), pass.mask.f32(), pass.z.f32(), D, dropout, dropoutSeed);
  pass.logitOffset.clear();
  int64_t total = 0;
  for (const TaskConfig& t : c.tasks) {
    pass.logitOffset.push_back(total);
    total += t.numOutputs();
  }
  pass.logits = BackendBuffer(be, floatBytes(total));
  for (size_t t = 0; t < c.tasks.size(); t++)
    be.linear_forward(pass.taskLogits(t), pass.zd.f32(), W + o.heads[t].w, W + o.heads[t].b, 1, D,
                      c.tasks[t].numOutputs());
}

void aggregatorBackward(const Backend& be, Model& model, const float* h, int64_t N, const AggregatorPass& pass,
                        const std::vector<int>& labels, const std::vector<float>& scales, float* dh,
                        double* losses) {
  const AggregatorConfig& c = model.aggregator();
  const Model::AggregatorOffsets& o = model.aggregatorOffsets();
  const float* W = model.paramsOnBackend();
  float* G = model.gradsOnBackend();
  const int64_t D = c.input_dim, Dh = c.hidden_dim;
  // One scratch allocation: dzd (D), dz (D), every task's dlogits (zeroed); the MIL backward's N*(2*Dh+1).
  const int64_t nLogits = pass.logitOffset.empty() ? 0 : pass.logitOffset.back() + c.tasks.back().numOutputs();
  const int64_t zeroed = 2 * D + nLogits;
  BackendBuffer scratch(be, floatBytes(zeroed + N * (2 * Dh + 1)));
  be.zero(scratch.data(), floatBytes(zeroed));
  float* dzd = scratch.f32();
  float* dz = dzd + D;
  float* dlogits = dz + D;
  for (size_t t = 0; t < c.tasks.size(); t++) {  // heads, then pooling, in reverse order of the forward
    const TaskConfig& task = c.tasks[t];
    const int64_t C = task.numOutputs();
    float* dl = dlogits + pass.logitOffset[t];
    be.task_loss(losses + t, dl, pass.taskLogits(t), C, task.kind == TaskKind::Binary, labels[t], scales[t]);
    if (labels[t] < 0 || scales[t] == 0.0f) continue;
    be.linear_backward(dzd, G + o.heads[t].w, G + o.heads[t].b, dl, pass.zd.f32(), W + o.heads[t].w, 1, D, C);
  }
  be.dropout_backward(dz, dzd, pass.mask.f32(), D);
  be.mil_attention_backward(dh, G + o.a_w, G + o.a_b, G + o.b_w, G + o.b_b, G + o.c_w, nullptr, dz,
                            pass.attn.f32(), pass.a.f32(), pass.g.f32(), h, W + o.a_w, W + o.b_w, W + o.c_w,
                            dlogits + nLogits, N, D, Dh);
}

std::vector<std::vector<float>> aggregatorLogits(const Backend& be, const Model& model, const AggregatorPass& pass) {
  const AggregatorConfig& c = model.aggregator();
  std::vector<std::vector<float>> out(c.tasks.size());
  for (size_t t = 0; t < c.tasks.size(); t++) {
    out[t].resize(static_cast<size_t>(c.tasks[t].numOutputs()));
    be.copy_to_host(out[t].data(), pass.taskLogits(t), floatBytes(c.tasks[t].numOutputs()));
  }
  return out;
}

std::vector<std::vector<float>> aggregatorProbabilities(const Model& model,
                                                        const std::vector<std::vector<float>>& logits) {
  const AggregatorConfig& c = model.aggregator();
  std::vector<std::vector<float>> out(c.tasks.size());
  for (size_t t = 0; t < c.tasks.size(); t++) {
    const std::vector<float>& l = logits[t];
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
