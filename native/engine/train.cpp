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

void checkCancel(const std::atomic<bool>* cancel) {
  if (cancel && cancel->load()) throw Cancelled();
}

void report(const ProgressFn& progress, const char* phase, int64_t done, int64_t total) {
  if (progress) progress(Progress{phase, done, total});
}

size_t floatBytes(int64_t n) { return sizeof(float) * static_cast<size_t>(n); }

void validateOptions(const TrainOptions& o) {
  if (o.chunkSize < 0) throw std::invalid_argument("chunkSize must be positive (or 0: chosen from free memory).");
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

// n floats for a slide's embeddings or their gradient: in the backend's memory, or in host memory the backend
// reads in place when they do not fit there.
BackendBuffer allocateEmbeddings(const Backend& be, int64_t n) {
  try {
    return BackendBuffer(be, floatBytes(n));
  } catch (const BackendOutOfMemory&) {
    if (be.hostMemory) throw;
    return BackendBuffer(be, floatBytes(n), true);
  }
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

// The model's cached activation buffers for `capacity` images laid out for the encoder's table (keep: with what
// backward needs), replaced when the capacity or the table differs (the old ones are freed first, so peak memory is
// one set).
EncoderActivations& activations(Model& model, int64_t capacity, bool keep) {
  std::unique_ptr<EncoderActivations>& cached = model.cachedActivations(keep);
  const Backend& be = model.encoderBackend();
  if (!cached || cached->capacity() != capacity || &cached->backend() != &be) {
    cached.reset();
    cached.reset(new EncoderActivations(be, model.vit(), capacity, keep));
  }
  cached->setBatch(capacity);
  return *cached;
}

// Where each chunk's pixels come from: the caller's host memory for a backend with host memory; otherwise the
// activations' two input slots, the next chunk's copy overlapping this chunk's compute. begin(k) before the chunk's
// ops, end(k, next) after them are queued, with the chunk that will be asked for next (-1: none).
class ChunkInputs {
 public:
  ChunkInputs(const Backend& be, EncoderActivations& acts, const uint8_t* pixels, int64_t n, int64_t chunk,
              int64_t imageBytes)
      : be_(be), acts_(acts), pixels_(pixels), n_(n), chunk_(chunk), imageBytes_(imageBytes) {}

  const uint8_t* begin(int64_t k) {
    if (be_.hostMemory) return pixels_ + k * chunk_ * imageBytes_;
    int s = slotOf(k);
    if (s < 0) {
      s = slotChunk_[0] < 0 ? 0 : (slotChunk_[1] < 0 ? 1 : 1 - lastSlot_);
      fill(s, k);
    }
    be_.prefetch_wait(s);
    lastSlot_ = s;
    return acts_.inputSlots[s];
  }

  void end(int64_t k, int64_t next) {
    if (be_.hostMemory) return;
    const int s = slotOf(k);
    be_.prefetch_release(s);
    if (next >= 0 && slotOf(next) < 0) fill(1 - s, next);
  }

 private:
  int slotOf(int64_t k) const { return slotChunk_[0] == k ? 0 : (slotChunk_[1] == k ? 1 : -1); }
  void fill(int s, int64_t k) {
    const int64_t i0 = k * chunk_, b = std::min(chunk_, n_ - i0);
    be_.prefetch(acts_.inputSlots[s], pixels_ + i0 * imageBytes_, static_cast<size_t>(b * imageBytes_), s);
    slotChunk_[s] = k;
  }

  const Backend& be_;
  EncoderActivations& acts_;
  const uint8_t* pixels_;
  int64_t n_, chunk_, imageBytes_;
  int64_t slotChunk_[2] = {-1, -1};
  int lastSlot_ = 1;
};

int64_t imageBytes(const ViTConfig& c) { return static_cast<int64_t>(c.img_size) * c.img_size * 3; }

// The chunk size a call uses: the caller's, or (0) the largest that fits the backend's free memory (32 where the
// backend cannot say).
int resolveChunkSize(const Model& model, int requested, int64_t maxPatches, bool training) {
  if (requested > 0) return requested;
  const int64_t suggested = suggestChunkSize(model, maxPatches, training);
  return static_cast<int>(suggested > 0 ? suggested : std::min<int64_t>(32, maxPatches));
}

// A backend out-of-memory error during a call with chunk size `chunk`, rethrown with the chunk size that fits.
[[noreturn]] void rethrowOutOfMemory(const Model& model, const BackendOutOfMemory& e, int chunk, int64_t maxPatches,
                                     bool training) {
  const int64_t fits = suggestChunkSize(model, maxPatches, training);
  std::string msg = std::string(e.what()) + " The chunk size was " + std::to_string(chunk) + "; ";
  if (fits > 0 && fits < chunk) msg += "use chunk size " + std::to_string(fits) + " or less.";
  else if (fits > 0) msg += "other programs may be using the device's memory; close them or use a smaller chunk size.";
  else msg += "use a smaller chunk size.";
  throw BackendOutOfMemory(msg);
}

// Encoder forward without saved activations over n patches in chunks -> out (n, Dout) in backend memory, or in
// host memory (toHost).
void embedChunks(Model& model, const uint8_t* pixels, int64_t n, float* out, bool toHost, int chunk,
                 const ProgressFn& progress, const std::atomic<bool>* cancel, const char* phase) {
  const ViTConfig& c = model.vit();
  const int64_t Dout = c.outputDim();
  const Backend& be = model.backend();
  EncoderActivations& acts = activations(model, std::min<int64_t>(chunk, n), false);
  const int64_t chunks = (n + chunk - 1) / chunk;
  ChunkInputs inputs(be, acts, pixels, n, chunk, imageBytes(c));
  for (int64_t k = 0; k < chunks; k++) {
    checkCancel(cancel);
    const int64_t i0 = k * chunk, b = std::min<int64_t>(chunk, n - i0);
    acts.setBatch(b);
    encoderForward(model.encoderBackend(), model, inputs.begin(k), acts);
    inputs.end(k, k + 1 < chunks ? k + 1 : -1);
    (toHost ? be.copy_to_host : be.copy)(out + i0 * Dout, acts.out, floatBytes(b * Dout));
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

// The parameter runs the optimizer updates ([begin, numParams)), adjacent tensors with the same learning rate and
// weight decay merged.
std::vector<ParamSegment> optimizerSegments(const Model& model, int64_t begin, float lrEncoder, float lrAggregator,
                                            float weightDecay) {
  std::vector<ParamSegment> segs;
  for (const NamedTensor& t : model.tensors()) {
    if (t.offset < begin) continue;
    const float lr = t.group == ParamGroup::Encoder ? lrEncoder : lrAggregator;
    const float wd = t.decay ? weightDecay : 0.0f;
    if (!segs.empty() && segs.back().end == t.offset && segs.back().lr == lr && segs.back().weightDecay == wd)
      segs.back().end = t.offset + t.numel;
    else
      segs.push_back(ParamSegment{t.offset, t.offset + t.numel, lr, wd});
  }
  return segs;
}

void optimizerStep(Model& model, const TrainOptions& o, bool encoderTrains, StepResult& r) {
  const Backend& be = model.backend();
  float* g = model.gradsOnBackend();
  const int64_t begin = encoderTrains ? 0 : model.numEncoderParams(), end = model.numParams();
  BackendBuffer sumSq(be, sizeof(double));
  be.sum_squares(static_cast<double*>(sumSq.data()), g + begin, end - begin);
  double squares = 0.0;
  be.copy_to_host(&squares, sumSq.data(), sizeof(double));
  const double norm = std::sqrt(squares);
  r.gradNorm = norm;
  float gradScale = 1.0f;
  if (o.clipNorm > 0) {
    const double coef = o.clipNorm / (norm + 1e-6);  // torch.nn.utils.clip_grad_norm_
    if (coef < 1.0) gradScale = static_cast<float>(coef);
  }
  const double factor = learningRateFactor(o, model.step);
  r.lrEncoder = o.lrEncoder * factor;
  r.lrAggregator = o.lrAggregator * factor;
  const std::vector<ParamSegment> segs = optimizerSegments(
      model, begin, static_cast<float>(r.lrEncoder), static_cast<float>(r.lrAggregator), o.weightDecay);
  // The segments cover [begin, end): from 0 the update can zero every gradient as it reads it.
  const bool zeroAsRead = begin == 0 && be.adamw_update_zero_grads;
  float* p = model.paramsOnBackendForUpdate();
  if (zeroAsRead)
    be.adamw_update_zero_grads(p, g, model.adamMOnBackend(), model.adamVOnBackend(), segs.data(),
                               static_cast<int>(segs.size()), gradScale, o.beta1, o.beta2, o.eps, model.step + 1);
  else
    be.adamw_update(p, g, model.adamMOnBackend(), model.adamVOnBackend(), segs.data(), static_cast<int>(segs.size()),
                    gradScale, o.beta1, o.beta2, o.eps, model.step + 1);
  model.step++;
  if (!zeroAsRead) model.zeroGrads();
  model.pendingMicroSteps = 0;
  r.optimizerStepped = true;
}

// Shared by both train steps: run `body` (which accumulates gradients), then maybe step the optimizer. Any
// throw discards the pending gradients so the model stays consistent.
template <class Body>
StepResult runStep(Model& model, const TrainOptions& opt, bool encoderTrains, const ProgressFn& progress,
                   Body body) {
  StepResult r;
  model.gradsOnBackend();
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

// Per-task sums of the slides' losses (losses: slides x tasks in backend memory) -> the step's losses.
void finishLosses(const Model& model, const BackendBuffer& losses, size_t slides, const std::vector<int>& counts,
                  StepResult& r) {
  const AggregatorConfig& c = model.aggregator();
  std::vector<double> all(slides * c.tasks.size());
  model.backend().copy_to_host(all.data(), losses.data(), sizeof(double) * all.size());
  std::vector<double> sums(c.tasks.size(), 0.0);
  for (size_t s = 0; s < slides; s++)
    for (size_t t = 0; t < c.tasks.size(); t++) sums[t] += all[s * c.tasks.size() + t];
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

StepResult accumulateEndToEndChunked(Model& model, const std::vector<SlidePatches>& slides,
                                     const std::vector<std::vector<int>>& labels, const TrainOptions& opt, int chunk,
                                     int64_t totalPatches, int64_t maxPatches, const ProgressFn& progress,
                                     const std::atomic<bool>* cancel) {
  const ViTConfig& c = model.vit();
  const Backend& be = model.backend();
  const int64_t Dout = c.outputDim();
  const size_t nTasks = model.aggregator().tasks.size();
  model.gradsOnBackend();
  StepResult r;
  std::vector<int> counts;
  const std::vector<float> scales = taskScales(model, labels, opt.accumulationSteps, counts);
  BackendBuffer losses(be, sizeof(double) * slides.size() * nTasks);
  int64_t done = 0;
  EncoderActivations& acts = activations(model, std::min<int64_t>(chunk, maxPatches), true);
  for (size_t s = 0; s < slides.size(); s++) {
    const SlidePatches& slide = slides[s];
    const int64_t N = slide.numPatches;
    // 1. embeddings, chunk by chunk through one chunk-sized activation buffer (nothing is kept across chunks
    //    except, at the end, the last chunk's activations). H and dH in the backend's memory, or in host memory it
    //    reads in place when they do not fit there.
    BackendBuffer H = allocateEmbeddings(be, N * Dout), dH = allocateEmbeddings(be, N * Dout);
    be.zero(dH.data(), dH.bytes());
    const int64_t chunks = (N + chunk - 1) / chunk;
    ChunkInputs inputs(be, acts, slide.pixels, N, chunk, imageBytes(c));
    for (int64_t k = 0; k < chunks; k++) {
      checkCancel(cancel);
      const int64_t i0 = k * chunk, b = std::min<int64_t>(chunk, N - i0);
      acts.setBatch(b);
      encoderForward(model.encoderBackend(), model, inputs.begin(k), acts);
      // Next: chunk k+1, or after the last one the first chunk recomputed (the one before it).
      inputs.end(k, k + 1 < chunks ? k + 1 : k - 1);
      be.copy(H.f32() + i0 * Dout, acts.out, floatBytes(b * Dout));
    }
    // 2. aggregator forward + backward -> dL/dH
    checkCancel(cancel);
    AggregatorPass pass;
    aggregatorForward(be, model, H.f32(), N, pass, model.aggregator().dropout,
                      dropoutSeed(opt.seed, model.step, model.pendingMicroSteps, s));
    aggregatorBackward(be, model, H.f32(), N, pass, slide.labels, scales, dH.f32(),
                       static_cast<double*>(losses.data()) + s * nTasks);
    report(progress, "aggregate", static_cast<int64_t>(s + 1), static_cast<int64_t>(slides.size()));
    // 3. backpropagate each chunk's rows of dL/dH, last chunk first: its activations are still in the buffer;
    //    every other chunk is recomputed. (A slide that fits one chunk is never recomputed.)
    for (int64_t k = chunks - 1; k >= 0; k--) {
      checkCancel(cancel);
      const int64_t i0 = k * chunk, b = std::min<int64_t>(chunk, N - i0);
      if (k != chunks - 1) {
        acts.setBatch(b);
        encoderForward(model.encoderBackend(), model, inputs.begin(k), acts);
        inputs.end(k, k - 1);
      }
      encoderBackward(model.encoderBackend(), model, acts, dH.f32() + i0 * Dout);
      done += b;
      report(progress, "backward", done, totalPatches);
    }
  }
  finishLosses(model, losses, slides.size(), counts, r);
  r.step = model.step;
  return r;
}

}  // namespace

StepResult accumulateEndToEnd(Model& model, const std::vector<SlidePatches>& slides, const TrainOptions& opt,
                              const ProgressFn& progress, const std::atomic<bool>* cancel) {
  const std::vector<std::vector<int>> labels = validateStepInputs(model, opt, slides, "patches");
  int64_t totalPatches = 0, maxPatches = 0;
  for (const SlidePatches& s : slides) {
    totalPatches += s.numPatches;
    maxPatches = std::max(maxPatches, s.numPatches);
  }
  const int chunk = resolveChunkSize(model, opt.chunkSize, maxPatches, true);
  try {
    return accumulateEndToEndChunked(model, slides, labels, opt, chunk, totalPatches, maxPatches, progress, cancel);
  } catch (const BackendOutOfMemory& e) {
    rethrowOutOfMemory(model, e, chunk, maxPatches, true);
  }
}

StepResult trainStepEndToEnd(Model& model, const std::vector<SlidePatches>& slides, const TrainOptions& opt,
                             const ProgressFn& progress, const std::atomic<bool>* cancel) {
  return runStep(model, opt, true, progress,
                 [&](StepResult& r) { r = accumulateEndToEnd(model, slides, opt, progress, cancel); });
}

StepResult accumulateFrozen(Model& model, const std::vector<SlideEmbeddings>& slides, const TrainOptions& opt,
                            const ProgressFn& progress, const std::atomic<bool>* cancel) {
  const std::vector<std::vector<int>> labels = validateStepInputs(model, opt, slides, "embeddings");
  const Backend& be = model.backend();
  const int64_t Din = model.aggregator().input_dim;
  const size_t nTasks = model.aggregator().tasks.size();
  model.gradsOnBackend();
  StepResult r;
  std::vector<int> counts;
  const std::vector<float> scales = taskScales(model, labels, opt.accumulationSteps, counts);
  BackendBuffer losses(be, sizeof(double) * slides.size() * nTasks);
  for (size_t s = 0; s < slides.size(); s++) {
    checkCancel(cancel);
    const SlideEmbeddings& slide = slides[s];
    const int64_t N = slide.numPatches;
    BackendBuffer H = allocateEmbeddings(be, N * Din), dH = allocateEmbeddings(be, N * Din);
    be.copy_to_device(H.data(), slide.embeddings, H.bytes());
    be.zero(dH.data(), dH.bytes());
    AggregatorPass pass;
    aggregatorForward(be, model, H.f32(), N, pass, model.aggregator().dropout,
                      dropoutSeed(opt.seed, model.step, model.pendingMicroSteps, s));
    aggregatorBackward(be, model, H.f32(), N, pass, slide.labels, scales, dH.f32(),
                       static_cast<double*>(losses.data()) + s * nTasks);
    report(progress, "aggregate", static_cast<int64_t>(s + 1), static_cast<int64_t>(slides.size()));
  }
  finishLosses(model, losses, slides.size(), counts, r);
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
  if (chunkSize < 0) throw std::invalid_argument("chunkSize must be positive (or 0: chosen from free memory).");
  if (n == 0) return;
  const int chunk = resolveChunkSize(model, chunkSize, n, false);
  try {
    embedChunks(model, pixels, n, out, true, chunk, progress, cancel, "embed");
  } catch (const BackendOutOfMemory& e) {
    rethrowOutOfMemory(model, e, chunk, n, false);
  }
}

namespace {
// The aggregator's prediction from embeddings h (n, Din) in backend memory.
SlidePrediction predictOnBackend(Model& model, const float* h, int64_t n) {
  const Backend& be = model.backend();
  AggregatorPass pass;
  aggregatorForward(be, model, h, n, pass, 0.0f, 0);
  SlidePrediction p;
  p.probabilities = aggregatorProbabilities(model, aggregatorLogits(be, model, pass));
  p.attention.resize(static_cast<size_t>(n));
  be.copy_to_host(p.attention.data(), pass.attn.data(), floatBytes(n));
  return p;
}
}  // namespace

SlidePrediction predictFromEmbeddings(Model& model, const float* embeddings, int64_t n) {
  requireAggregator(model);
  if (n <= 0 || !embeddings) throw std::invalid_argument("A slide needs at least one patch to predict.");
  const Backend& be = model.backend();
  if (be.hostMemory) return predictOnBackend(model, embeddings, n);
  BackendBuffer H = allocateEmbeddings(be, n * model.aggregator().input_dim);
  be.copy_to_device(H.data(), embeddings, H.bytes());
  return predictOnBackend(model, H.f32(), n);
}

SlidePrediction predictSlide(Model& model, const uint8_t* pixels, int64_t n, int chunkSize,
                             const ProgressFn& progress, const std::atomic<bool>* cancel) {
  requireAggregator(model);
  if (n <= 0 || !pixels) throw std::invalid_argument("A slide needs at least one patch to predict.");
  if (chunkSize < 0) throw std::invalid_argument("chunkSize must be positive (or 0: chosen from free memory).");
  const int chunk = resolveChunkSize(model, chunkSize, n, false);
  try {
    BackendBuffer H = allocateEmbeddings(model.backend(), n * model.vit().outputDim());
    embedChunks(model, pixels, n, H.f32(), false, chunk, progress, cancel, "predict");
    return predictOnBackend(model, H.f32(), n);
  } catch (const BackendOutOfMemory& e) {
    rethrowOutOfMemory(model, e, chunk, n, false);
  }
}

int64_t estimateTrainStepBytes(const Model& model, int chunkSize, int64_t maxPatchesPerSlide) {
  if (chunkSize <= 0 || maxPatchesPerSlide <= 0) throw std::invalid_argument("Sizes must be positive.");
  const ViTConfig& c = model.vit();
  const Backend& be = model.encoderBackend();
  const int64_t b = std::min<int64_t>(chunkSize, maxPatchesPerSlide), N = maxPatchesPerSlide;
  const int64_t Din = c.outputDim(), Dh = model.aggregator().enabled() ? model.aggregator().hidden_dim : 0;
  // The CPU's weight-gradient GEMMs pack their B operand, a layer's input over the chunk's b*T rows, into a buffer
  // the thread keeps (gemm.cpp).
  const int64_t widestInput = std::max<int64_t>({c.embed_dim, c.mlpInner(), 3LL * c.patch_size * c.patch_size});
  const int64_t packing = be.hostMemory ? b * c.numTokens() * widestInput : 0;
  // And gemmSplitK's second half of a weight gradient, as large as the largest weight matrix.
  const int64_t D = c.embed_dim;
  const int64_t largestWeight =
      std::max<int64_t>({3 * D * D, c.fc1Width() * D, D * c.mlpInner(), D * 3LL * c.patch_size * c.patch_size});
  const int64_t splitK = be.hostMemory ? largestWeight : 0;
  const int64_t floats = EncoderActivations::activationFloats(be, c, b, true) +
                         EncoderActivations::gradientFloats(be, c, b) + packing + splitK + 2 * N * Din +
                         N * (4 * Dh + 2);
  return floats * static_cast<int64_t>(sizeof(float)) + EncoderActivations::inputSlotBytes(be, c, b);
}

int64_t estimateEmbedBytes(const Model& model, int chunkSize) {
  if (chunkSize <= 0) throw std::invalid_argument("chunkSize must be positive.");
  const Backend& be = model.encoderBackend();
  return EncoderActivations::activationFloats(be, model.vit(), chunkSize, false) *
             static_cast<int64_t>(sizeof(float)) +
         EncoderActivations::inputSlotBytes(be, model.vit(), chunkSize);
}

int64_t suggestChunkSize(const Model& model, int64_t maxPatchesPerSlide, bool training) {
  int64_t freeBytes = 0, totalBytes = 0;
  if (maxPatchesPerSlide <= 0 || !model.backend().memory_info(&freeBytes, &totalBytes)) return 0;
  // Keep a tenth of the free memory (at least 256 MiB) for the backend's own workspace and fragmentation.
  const int64_t budget = freeBytes - std::max<int64_t>(freeBytes / 10, int64_t(256) << 20);
  auto bytes = [&](int64_t chunk) {
    return training ? estimateTrainStepBytes(model, static_cast<int>(chunk), maxPatchesPerSlide)
                    : estimateEmbedBytes(model, static_cast<int>(chunk)) +
                          2 * maxPatchesPerSlide * model.vit().outputDim() * static_cast<int64_t>(sizeof(float));
  };
  const int64_t cap = std::min<int64_t>(maxPatchesPerSlide, 4096);
  if (budget <= 0 || bytes(1) > budget) return 0;
  int64_t lo = 1, hi = cap;  // the largest chunk whose estimate fits
  while (lo < hi) {
    const int64_t mid = (lo + hi + 1) / 2;
    if (bytes(mid) <= budget) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

void setNumThreads(int n) { setPoolThreads(n); }
int numThreads() { return poolThreads(); }

}  // namespace tessera
