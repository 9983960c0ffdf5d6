// Training and inference entry points (see train.h): validation before any compute, the
// recompute-and-offload end-to-end step, the frozen-encoder step, embedding, prediction, and the optimizer
// step (lr schedule, global-norm clipping, AdamW per parameter group).
#include "train.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "aggregator.h"
#include "backend.h"
#include "threads.h"
#include "vit.h"

namespace tessera {

namespace {

const Backend& backend() { return cpuBackend(); }
// The encoder's table: bf16 matrix products where the model asks for them (Model::bf16EncoderMatmuls).
const Backend& encoderBackend(const Model& m) { return m.bf16EncoderMatmuls ? cpuBf16Backend() : cpuBackend(); }

void checkCancel(const std::atomic<bool>* cancel) {
  if (cancel && cancel->load()) throw Cancelled();
}

void report(const ProgressFn& progress, const char* phase, int64_t done, int64_t total) {
  if (progress) progress(Progress{phase, done, total});
}

void validateOptions(const TrainOptions& o) {
  if (o.chunkSize <= 0) throw std::invalid_argument("chunkSize must be positive.");
  if (o.accumulationSteps <= 0) throw std::invalid_argument("accumulationSteps must be positive.");
  if (!(o.lrEncoder >= 0) || !(o.lrAggregator >= 0)) throw std::invalid_argument("Learning rates must be >= 0.");
  if (!(o.weightDecay >= 0)) throw std::invalid_argument("weightDecay must be >= 0.");
  if (!(o.beta1 >= 0 && o.beta1 < 1) || !(o.beta2 >= 0 && o.beta2 < 1))
    throw std::invalid_argument("Adam betas must be in [0, 1).");
  if (!(o.eps > 0)) throw std::invalid_argument("Adam eps must be positive.");
  if (o.warmupSteps < 0 || o.totalSteps < 0) throw std::invalid_argument("Step counts must be >= 0.");
  if (!(o.clipNorm >= 0)) throw std::invalid_argument("clipNorm must be >= 0.");
}

void validateLabels(const Model& model, const std::vector<int>& labels, size_t slide) {
  const AggregatorConfig& c = model.aggregator();
  if (labels.size() != c.tasks.size())
    throw std::invalid_argument("Slide " + std::to_string(slide) + " has " + std::to_string(labels.size()) +
                                " labels but the model has " + std::to_string(c.tasks.size()) + " tasks.");
  for (size_t t = 0; t < labels.size(); t++) {
    const int maxLabel = c.tasks[t].kind == TaskKind::Binary ? 1 : c.tasks[t].num_classes - 1;
    if (labels[t] < -1 || labels[t] > maxLabel)
      throw std::invalid_argument("Slide " + std::to_string(slide) + " has label " + std::to_string(labels[t]) +
                                  " for task \"" + c.tasks[t].name + "\" (allowed: -1 for missing, 0.." +
                                  std::to_string(maxLabel) + ").");
  }
}

void requireAggregator(const Model& model) {
  if (!model.aggregator().enabled())
    throw std::invalid_argument("This model has no tasks, so it has no aggregator to train or predict with.");
}

// Per-task gradient scales: the loss is, per task, the mean over the batch's labelled slides.
std::vector<float> taskScales(const Model& model, const std::vector<std::vector<int>>& labels, int accumulation,
                              std::vector<int>& counts) {
  const AggregatorConfig& c = model.aggregator();
  counts.assign(c.tasks.size(), 0);
  for (const auto& l : labels)
    for (size_t t = 0; t < c.tasks.size(); t++) counts[t] += l[t] >= 0 ? 1 : 0;
  std::vector<float> scales(c.tasks.size(), 0.0f);
  for (size_t t = 0; t < c.tasks.size(); t++)
    if (counts[t] > 0) scales[t] = c.tasks[t].loss_weight / static_cast<float>(counts[t]) / accumulation;
  return scales;
}

uint64_t dropoutSeed(uint64_t seed, int64_t step, int64_t micro, size_t slide) {
  uint64_t h = seed ^ 0x243f6a8885a308d3ULL;
  for (uint64_t v : {static_cast<uint64_t>(step), static_cast<uint64_t>(micro), static_cast<uint64_t>(slide)})
    h = (h ^ v) * 0x100000001b3ULL + 0x9e3779b97f4a7c15ULL;
  return h;
}

// The model's cached activation buffers for `capacity` images (keep: with what backward needs), replaced when
// the capacity differs (the old ones are freed first, so peak memory is one set).
EncoderActivations& activations(Model& model, int64_t capacity, bool keep) {
  std::unique_ptr<EncoderActivations>& cached = model.cachedActivations(keep);
  if (!cached || cached->capacity() != capacity) {
    cached.reset();
    cached.reset(new EncoderActivations(model.vit(), capacity, keep));
  }
  cached->setBatch(capacity);
  return *cached;
}

// Encoder forward without saved activations over n patches in chunks -> out (n, Dout).
void embedChunks(Model& model, const uint8_t* pixels, int64_t n, float* out, int chunk, const ProgressFn& progress,
                 const std::atomic<bool>* cancel, const char* phase) {
  const ViTConfig& c = model.vit();
  const int64_t img = static_cast<int64_t>(c.img_size) * c.img_size * 3, Dout = c.outputDim();
  EncoderActivations& acts = activations(model, std::min<int64_t>(chunk, n), false);
  for (int64_t i0 = 0; i0 < n; i0 += chunk) {
    checkCancel(cancel);
    const int64_t b = std::min<int64_t>(chunk, n - i0);
    acts.setBatch(b);
    encoderForward(encoderBackend(model), model, pixels + i0 * img, acts);
    std::memcpy(out + i0 * Dout, acts.out, sizeof(float) * b * Dout);
    report(progress, phase, i0 + b, n);
  }
}

double learningRateFactor(const TrainOptions& o, int64_t step) {
  if (o.warmupSteps > 0 && step < o.warmupSteps) return static_cast<double>(step + 1) / o.warmupSteps;
  if (o.totalSteps > 0) {
    const double span = std::max<int64_t>(1, o.totalSteps - o.warmupSteps);
    const double progress = std::min(1.0, std::max(0.0, (step - o.warmupSteps) / span));
    return o.minLrRatio + (1.0 - o.minLrRatio) * 0.5 * (1.0 + std::cos(3.14159265358979323846 * progress));
  }
  return 1.0;
}

// Sum of squares over [begin, end) in fixed 64k blocks summed in order: deterministic for any thread count.
double sumSquares(const float* g, int64_t begin, int64_t end) {
  const int64_t block = 1 << 16, n = end - begin, nb = (n + block - 1) / block;
  std::vector<double> partial(static_cast<size_t>(std::max<int64_t>(nb, 0)), 0.0);
  parallelFor(nb, [&](int64_t b) {
    const int64_t i0 = begin + b * block, i1 = std::min(end, i0 + block);
    double s = 0.0;
    for (int64_t i = i0; i < i1; i++) s += static_cast<double>(g[i]) * g[i];
    partial[b] = s;
  });
  double s = 0.0;
  for (double v : partial) s += v;
  return s;
}

void optimizerStep(Model& model, const TrainOptions& o, bool encoderTrains, StepResult& r) {
  const Backend& be = backend();
  float* g = model.grads();
  const int64_t begin = encoderTrains ? 0 : model.numEncoderParams(), end = model.numParams();
  const double norm = std::sqrt(sumSquares(g, begin, end));
  r.gradNorm = norm;
  if (o.clipNorm > 0) {
    const double coef = o.clipNorm / (norm + 1e-6);  // torch.nn.utils.clip_grad_norm_
    if (coef < 1.0) {
      const float cf = static_cast<float>(coef);
      for (int64_t i = begin; i < end; i++) g[i] *= cf;
    }
  }
  const double factor = learningRateFactor(o, model.step);
  r.lrEncoder = o.lrEncoder * factor;
  r.lrAggregator = o.lrAggregator * factor;
  float* m = model.adamM();
  float* v = model.adamV();
  float* p = model.params();
  const int64_t t = model.step + 1;
  for (const NamedTensor& nt : model.parameters()) {
    if (nt.offset < begin) continue;
    const float lr = static_cast<float>(nt.group == ParamGroup::Encoder ? r.lrEncoder : r.lrAggregator);
    be.adamw_update(p + nt.offset, g + nt.offset, m + nt.offset, v + nt.offset, nt.numel, lr, o.beta1, o.beta2,
                    o.eps, nt.decay ? o.weightDecay : 0.0f, t);
  }
  model.step++;
  model.zeroGrads();
  model.pendingMicroSteps = 0;
  r.optimizerStepped = true;
}

// Shared by both train steps: run `body` (which accumulates gradients), then maybe step the optimizer. Any
// throw discards the pending gradients so the model stays consistent.
template <class Body>
StepResult runStep(Model& model, const TrainOptions& opt, bool encoderTrains, const ProgressFn& progress,
                   Body body) {
  StepResult r;
  model.grads();
  try {
    body(r);
    model.pendingMicroSteps++;
    if (model.pendingMicroSteps >= opt.accumulationSteps) {
      report(progress, "optimizer", 0, 1);
      optimizerStep(model, opt, encoderTrains, r);
      report(progress, "optimizer", 1, 1);
    }
  } catch (...) {
    model.zeroGrads();
    model.pendingMicroSteps = 0;
    throw;
  }
  r.step = model.step;
  return r;
}

void finishLosses(const Model& model, const std::vector<double>& sums, const std::vector<int>& counts,
                  StepResult& r) {
  const AggregatorConfig& c = model.aggregator();
  r.tasks.resize(c.tasks.size());
  r.loss = 0.0;
  for (size_t t = 0; t < c.tasks.size(); t++) {
    r.tasks[t].labelled = counts[t];
    r.tasks[t].loss = counts[t] > 0 ? sums[t] / counts[t] : 0.0;
    r.loss += c.tasks[t].loss_weight * r.tasks[t].loss;
  }
}

const void* slideData(const SlidePatches& s) { return s.pixels; }
const void* slideData(const SlideEmbeddings& s) { return s.embeddings; }

// Checks a training step's inputs before any compute and returns each slide's labels. `Slide` is
// SlidePatches or SlideEmbeddings; `data` names what a slide must carry, for the error message.
template <typename Slide>
std::vector<std::vector<int>> validateStepInputs(const Model& model, const TrainOptions& opt,
                                                 const std::vector<Slide>& slides, const char* data) {
  requireAggregator(model);
  validateOptions(opt);
  if (slides.empty()) throw std::invalid_argument("A training step needs at least one slide.");
  std::vector<std::vector<int>> labels;
  for (size_t s = 0; s < slides.size(); s++) {
    if (slides[s].numPatches <= 0 || !slideData(slides[s]))
      throw std::invalid_argument("Slide " + std::to_string(s) + " has no " + data + ".");
    validateLabels(model, slides[s].labels, s);
    labels.push_back(slides[s].labels);
  }
  return labels;
}

}  // namespace

StepResult accumulateEndToEnd(Model& model, const std::vector<SlidePatches>& slides, const TrainOptions& opt,
                              const ProgressFn& progress, const std::atomic<bool>* cancel) {
  const std::vector<std::vector<int>> labels = validateStepInputs(model, opt, slides, "patches");
  const ViTConfig& c = model.vit();
  const int64_t img = static_cast<int64_t>(c.img_size) * c.img_size * 3, Dout = c.outputDim();
  int64_t totalPatches = 0;
  for (const SlidePatches& s : slides) totalPatches += s.numPatches;

  model.grads();
  StepResult r;
  {
    std::vector<int> counts;
    const std::vector<float> scales = taskScales(model, labels, opt.accumulationSteps, counts);
    std::vector<double> sums(scales.size(), 0.0);
    int64_t done = 0, maxPatches = 0;
    for (const SlidePatches& sp : slides) maxPatches = std::max(maxPatches, sp.numPatches);
    EncoderActivations& acts = activations(model, std::min<int64_t>(opt.chunkSize, maxPatches), true);
    for (size_t s = 0; s < slides.size(); s++) {
      const SlidePatches& slide = slides[s];
      const int64_t N = slide.numPatches;
      // 1. embeddings, chunk by chunk through one chunk-sized activation buffer (nothing is kept across
      //    chunks except, at the end, the last chunk's activations)
      std::vector<float> H(static_cast<size_t>(N * Dout));
      const int64_t chunks = (N + opt.chunkSize - 1) / opt.chunkSize;
      for (int64_t k = 0; k < chunks; k++) {
        checkCancel(cancel);
        const int64_t i0 = k * opt.chunkSize, b = std::min<int64_t>(opt.chunkSize, N - i0);
        acts.setBatch(b);
        encoderForward(encoderBackend(model), model, slide.pixels + i0 * img, acts);
        std::memcpy(H.data() + i0 * Dout, acts.out, sizeof(float) * b * Dout);
      }
      // 2. aggregator forward + backward -> dL/dH
      checkCancel(cancel);
      AggregatorPass pass;
      aggregatorForward(backend(), model, H.data(), N, pass, model.aggregator().dropout,
                        dropoutSeed(opt.seed, model.step, model.pendingMicroSteps, s));
      std::vector<float> dH(static_cast<size_t>(N * Dout), 0.0f);
      const std::vector<double> l = aggregatorBackward(backend(), model, H.data(), N, pass, slide.labels, scales,
                                                       dH.data());
      for (size_t t = 0; t < l.size(); t++) sums[t] += l[t];
      report(progress, "aggregate", static_cast<int64_t>(s + 1), static_cast<int64_t>(slides.size()));
      // 3. backpropagate each chunk's rows of dL/dH, last chunk first: its activations are still in the
      //    buffer; every other chunk is recomputed. (A slide that fits one chunk is never recomputed.)
      for (int64_t k = chunks - 1; k >= 0; k--) {
        checkCancel(cancel);
        const int64_t i0 = k * opt.chunkSize, b = std::min<int64_t>(opt.chunkSize, N - i0);
        if (k != chunks - 1) {
          acts.setBatch(b);
          encoderForward(encoderBackend(model), model, slide.pixels + i0 * img, acts);
        }
        encoderBackward(encoderBackend(model), model, slide.pixels + i0 * img, acts, dH.data() + i0 * Dout);
        done += b;
        report(progress, "backward", done, totalPatches);
      }
    }
    finishLosses(model, sums, counts, r);
  }
  r.step = model.step;
  return r;
}

StepResult trainStepEndToEnd(Model& model, const std::vector<SlidePatches>& slides, const TrainOptions& opt,
                             const ProgressFn& progress, const std::atomic<bool>* cancel) {
  return runStep(model, opt, true, progress,
                 [&](StepResult& r) { r = accumulateEndToEnd(model, slides, opt, progress, cancel); });
}

StepResult accumulateFrozen(Model& model, const std::vector<SlideEmbeddings>& slides, const TrainOptions& opt,
                            const ProgressFn& progress, const std::atomic<bool>* cancel) {
  const std::vector<std::vector<int>> labels = validateStepInputs(model, opt, slides, "embeddings");
  const int64_t Din = model.aggregator().input_dim;
  model.grads();
  StepResult r;
  {
    std::vector<int> counts;
    const std::vector<float> scales = taskScales(model, labels, opt.accumulationSteps, counts);
    std::vector<double> sums(scales.size(), 0.0);
    for (size_t s = 0; s < slides.size(); s++) {
      checkCancel(cancel);
      const SlideEmbeddings& slide = slides[s];
      AggregatorPass pass;
      aggregatorForward(backend(), model, slide.embeddings, slide.numPatches, pass, model.aggregator().dropout,
                        dropoutSeed(opt.seed, model.step, model.pendingMicroSteps, s));
      std::vector<float> dH(static_cast<size_t>(slide.numPatches * Din), 0.0f);
      const std::vector<double> l = aggregatorBackward(backend(), model, slide.embeddings, slide.numPatches, pass,
                                                       slide.labels, scales, dH.data());
      for (size_t t = 0; t < l.size(); t++) sums[t] += l[t];
      report(progress, "aggregate", static_cast<int64_t>(s + 1), static_cast<int64_t>(slides.size()));
    }
    finishLosses(model, sums, counts, r);
  }
  r.step = model.step;
  return r;
}

StepResult trainStepFrozen(Model& model, const std::vector<SlideEmbeddings>& slides, const TrainOptions& opt,
                           const ProgressFn& progress, const std::atomic<bool>* cancel) {
  return runStep(model, opt, false, progress,
                 [&](StepResult& r) { r = accumulateFrozen(model, slides, opt, progress, cancel); });
}

void embed(Model& model, const uint8_t* pixels, int64_t n, float* out, int chunkSize, const ProgressFn& progress,
           const std::atomic<bool>* cancel) {
  if (n < 0) throw std::invalid_argument("The number of patches must not be negative.");
  if (n > 0 && (!pixels || !out)) throw std::invalid_argument("embed needs pixel and output buffers.");
  if (chunkSize <= 0) throw std::invalid_argument("chunkSize must be positive.");
  if (n == 0) return;
  embedChunks(model, pixels, n, out, chunkSize, progress, cancel, "embed");
}

SlidePrediction predictFromEmbeddings(Model& model, const float* embeddings, int64_t n) {
  requireAggregator(model);
  if (n <= 0 || !embeddings) throw std::invalid_argument("A slide needs at least one patch to predict.");
  AggregatorPass pass;
  aggregatorForward(backend(), model, embeddings, n, pass, 0.0f, 0);
  SlidePrediction p;
  p.probabilities = aggregatorProbabilities(model, pass);
  p.attention = pass.attn;
  return p;
}

SlidePrediction predictSlide(Model& model, const uint8_t* pixels, int64_t n, int chunkSize,
                             const ProgressFn& progress, const std::atomic<bool>* cancel) {
  requireAggregator(model);
  if (n <= 0 || !pixels) throw std::invalid_argument("A slide needs at least one patch to predict.");
  if (chunkSize <= 0) throw std::invalid_argument("chunkSize must be positive.");
  std::vector<float> H(static_cast<size_t>(n * model.vit().outputDim()));
  embedChunks(model, pixels, n, H.data(), chunkSize, progress, cancel, "predict");
  return predictFromEmbeddings(model, H.data(), n);
}

int64_t estimateTrainStepBytes(const Model& model, int chunkSize, int64_t maxPatchesPerSlide) {
  if (chunkSize <= 0 || maxPatchesPerSlide <= 0) throw std::invalid_argument("Sizes must be positive.");
  const ViTConfig& c = model.vit();
  const int64_t b = std::min<int64_t>(chunkSize, maxPatchesPerSlide), N = maxPatchesPerSlide;
  const int64_t Din = c.outputDim(), Dh = model.aggregator().enabled() ? model.aggregator().hidden_dim : 0;
  // The weight-gradient GEMMs pack their B operand, a layer's input over the chunk's b*T rows, into a buffer
  // the thread keeps (gemm.cpp).
  const int64_t widestInput = std::max<int64_t>({c.embed_dim, c.mlpInner(), 3LL * c.patch_size * c.patch_size});
  const int64_t floats = EncoderActivations::activationFloats(c, b, true) + EncoderActivations::gradientFloats(c, b) +
                         b * c.numTokens() * widestInput + 2 * N * Din + N * (4 * Dh + 2);
  return floats * static_cast<int64_t>(sizeof(float));
}

int64_t estimateEmbedBytes(const Model& model, int chunkSize) {
  if (chunkSize <= 0) throw std::invalid_argument("chunkSize must be positive.");
  return EncoderActivations::activationFloats(model.vit(), chunkSize, false) * static_cast<int64_t>(sizeof(float));
}

void setNumThreads(int n) { setPoolThreads(n); }
int numThreads() { return poolThreads(); }

}  // namespace tessera
