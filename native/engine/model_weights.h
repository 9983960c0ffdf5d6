// Loading and saving a Model's parameters as safetensors with timm names, the way timm's
// load_pretrained does it: a classifier "head.*" in the file is ignored (the engine brings its own
// heads), and a position embedding for a different patch grid is resampled bicubically to the model's.
#pragma once

#include <map>
#include <string>

#include "model.h"

namespace tessera {

enum class WeightsScope {
  Encoder,  // only encoder tensors are required; aggregator/heads in the file are ignored
  All,  // every parameter of the model must be in the file (a Tessera checkpoint)
  EncoderOptionalAggregator,  // encoder required; aggregator/heads loaded where present
};

// Throws SafetensorsError (one message listing every missing, unexpected or mis-shaped tensor) before
// any parameter is changed.
void loadModelWeights(Model& model, const std::string& path, WeightsScope scope = WeightsScope::Encoder);

// Writes every parameter (encoder and aggregator) as F32 with timm names.
void saveModelWeights(Model& model, const std::string& path, const std::map<std::string, std::string>& metadata = {});

}  // namespace tessera
