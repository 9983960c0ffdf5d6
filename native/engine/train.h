// Tessera engine entry points: end-to-end slide training with recompute-and-offload, the frozen-encoder
// (two-stage) baseline, embedding and slide prediction. Plain C++ functions the N-API binding calls from its
// worker threads. Errors a caller can cause (bad shapes, bad labels, bad options) throw std::invalid_argument
// with one clear sentence; a set cancel flag throws tessera::Cancelled; out of memory throws std::bad_alloc (a
// BackendOutOfMemory from a device backend says which chunk size fits).
// The model is left consistent after any throw (gradients of an unfinished step are discarded).
//
// Recompute-and-offload (docs/ARCHITECTURE.md, "Engine"), per slide:
//   1. encoder forward over the N patches in chunks WITHOUT keeping activations -> H (N x D);
//   2. aggregator forward + loss + backward on H -> dL/dH and the aggregator's gradients;
//   3. per chunk: encoder forward WITH activations, backward with that chunk's rows of dL/dH; accumulate
//      (chunks go last to first, and the last chunk's activations from step 1 are reused, so a slide that
//      fits in one chunk costs one forward, not two);
//   4. (after the last slide of the last accumulation micro-step) clip, AdamW step, zero gradients.
// Peak memory is O(chunk activations + N x D), independent of N otherwise.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "model.h"

namespace tessera {

struct Cancelled : std::runtime_error {
  Cancelled() : std::runtime_error("The operation was cancelled.") {}
};

// One slide's patches: numPatches images of img_size x img_size x 3, uint8 RGB, row-major (N,H,W,3).
// labels: one entry per task in AggregatorConfig::tasks order; binary 0/1, categorical 0..C-1, -1 = missing.
struct SlidePatches {
  const uint8_t* pixels = nullptr;
  int64_t numPatches = 0;
  std::vector<int> labels;
};

// One slide's cached embeddings (frozen mode): numPatches x encoder outputDim() floats, row-major.
struct SlideEmbeddings {
  const float* embeddings = nullptr;
  int64_t numPatches = 0;
  std::vector<int> labels;
};

struct TrainOptions {
  // Patches per encoder chunk: the memory knob (results agree to float rounding). 0: the largest that fits the
  // backend's free memory (suggestChunkSize), 32 on the CPU.
  int chunkSize = 32;
  float lrEncoder = 1e-5f;
  float lrAggregator = 1e-4f;
  float weightDecay = 0.05f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  int64_t warmupSteps = 0;  // linear warm-up from 0 over this many optimizer steps
  int64_t totalSteps = 0;  // cosine decay to minLrRatio * lr at totalSteps; 0 = constant after warm-up
  float minLrRatio = 0.0f;
  float clipNorm = 0.0f;  // global gradient-norm clip over all trained parameters; 0 = off
  int accumulationSteps = 1;  // optimizer step every this many train-step calls
  uint64_t seed = 0;  // dropout RNG: the mask depends on (seed, model step, micro-step, slide index) only
};

struct TaskLoss {
  double loss = 0.0;  // masked mean over the batch's labelled slides (0 when none)
  int labelled = 0;
};

struct StepResult {
  double loss = 0.0;  // sum over tasks of loss_weight * task loss (before accumulation scaling)
  std::vector<TaskLoss> tasks;
  bool optimizerStepped = false;  // false while accumulating
  double gradNorm = 0.0;  // global grad norm before clipping (only when optimizerStepped)
  double lrEncoder = 0.0;  // learning rates used (only when optimizerStepped)
  double lrAggregator = 0.0;
  int64_t step = 0;  // model step after this call
};

struct Progress {
  const char* phase;  // "embed", "aggregate", "backward", "optimizer", "predict"
  int64_t done;
  int64_t total;
};
using ProgressFn = std::function<void(const Progress&)>;

// End-to-end step over a batch of slides (loss: per task, the masked mean over the batch's labelled slides,
// weighted by loss_weight and summed over tasks; divided by accumulationSteps for the gradients).
StepResult trainStepEndToEnd(Model& model, const std::vector<SlidePatches>& slides, const TrainOptions& opt,
                             const ProgressFn& progress = {}, const std::atomic<bool>* cancel = nullptr);

// Two-stage baseline: only the aggregator and heads train, on embeddings computed once by embed().
StepResult trainStepFrozen(Model& model, const std::vector<SlideEmbeddings>& slides, const TrainOptions& opt,
                           const ProgressFn& progress = {}, const std::atomic<bool>* cancel = nullptr);

// The loss and gradients of one micro-step, ADDED into model.grads() (scaled by 1/accumulationSteps),
// without an optimizer step and without touching model.step / pendingMicroSteps. The train steps above are
// these plus the optimizer; tests use them to read gradients.
StepResult accumulateEndToEnd(Model& model, const std::vector<SlidePatches>& slides, const TrainOptions& opt,
                              const ProgressFn& progress = {}, const std::atomic<bool>* cancel = nullptr);
StepResult accumulateFrozen(Model& model, const std::vector<SlideEmbeddings>& slides, const TrainOptions& opt,
                            const ProgressFn& progress = {}, const std::atomic<bool>* cancel = nullptr);

// Encoder output (what timm's model with num_classes=0 returns) for n patches -> out (n x outputDim()), host
// memory. chunkSize 0: chosen from free memory as for training.
void embed(Model& model, const uint8_t* pixels, int64_t n, float* out, int chunkSize = 32,
           const ProgressFn& progress = {}, const std::atomic<bool>* cancel = nullptr);

struct SlidePrediction {
  std::vector<std::vector<float>> probabilities;  // per task: binary {p(1)}, categorical softmax (C)
  std::vector<float> attention;  // per patch, softmax over the slide's patches (sums to 1)
};

SlidePrediction predictSlide(Model& model, const uint8_t* pixels, int64_t n, int chunkSize = 32,
                             const ProgressFn& progress = {}, const std::atomic<bool>* cancel = nullptr);
SlidePrediction predictFromEmbeddings(Model& model, const float* embeddings, int64_t n);

// Bytes a call allocates beyond the model (parameters, gradients, AdamW state) and the caller's buffers: the
// chunk workspace (activations and, for training, their gradients and the weight-gradient GEMMs' packing
// buffer) plus, for training, the slide's embeddings, their gradient and the aggregator's buffers. For choosing
// the largest chunk that fits.
int64_t estimateTrainStepBytes(const Model& model, int chunkSize, int64_t maxPatchesPerSlide);
int64_t estimateEmbedBytes(const Model& model, int chunkSize);
// The largest chunk size (up to min(maxPatchesPerSlide, 4096)) whose estimate fits the free memory of the model's
// backend, less a margin for its workspace; 0 when the backend cannot say (the CPU) or not even one patch fits.
int64_t suggestChunkSize(const Model& model, int64_t maxPatchesPerSlide, bool training);

// Worker threads used by every op (default: hardware concurrency, or TESSERA_THREADS). Results do not
// depend on the thread count (no order-dependent parallel reductions).
void setNumThreads(int n);
int numThreads();

}  // namespace tessera
