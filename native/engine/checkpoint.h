// A training checkpoint is a folder that is also a loadable model folder:
//   config.json            timm-style encoder config (config.h) plus a "tessera" section with the
//                          aggregator/tasks and the training position (step, pending micro-steps)
//   model.safetensors      every parameter, F32, timm names (+ aggregator.*, heads.*)
//   optimizer.safetensors  AdamW moments per parameter ("exp_avg.<name>", "exp_avg_sq.<name>") and, while
//                          gradients are being accumulated, the pending gradients ("grad.<name>")
// Resuming from it continues exactly where the run stopped: the next step's loss and parameters equal
// those of an uninterrupted run (the engine's dropout masks depend only on seed, step and slide index).
#pragma once

#include <memory>
#include <string>

#include "config.h"
#include "json.h"
#include "model.h"

namespace tessera {

Json aggregatorToJson(const AggregatorConfig& a);
// `source` names the file in error messages; throws ConfigError.
AggregatorConfig aggregatorFromJson(const Json& j, const std::string& source);

struct CheckpointInfo {
  EncoderSpec encoder;
  AggregatorConfig aggregator;
  int64_t step = 0;
  int64_t pendingMicroSteps = 0;
  bool hasOptimizerState = false;
};

// Writes the folder (created if needed). Each file is written to a temporary name and renamed; config.json
// is written last, so a folder with a config.json is complete.
void saveCheckpoint(Model& model, const EncoderSpec& encoder, const std::string& dir);

CheckpointInfo readCheckpointInfo(const std::string& dir);

// Builds the model the checkpoint describes and loads parameters, optimizer state and position.
std::unique_ptr<Model> loadCheckpoint(const std::string& dir, CheckpointInfo* info = nullptr);

}  // namespace tessera
