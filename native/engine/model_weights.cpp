// Model parameters <-> safetensors; see model_weights.h.
#include "model_weights.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "pos_embed_resample.h"
#include "safetensors.h"

namespace tessera {

namespace {

bool isAggregatorName(const std::string& name) {
  return name.rfind("aggregator.", 0) == 0 || name.rfind("heads.", 0) == 0;
}

// The file's pos_embed grid, when it differs from the model's but can be resampled as timm does
// (same width and prefix layout, square grid). Returns 0 when no resampling applies.
int resampleGrid(const SafetensorsEntry& e, const Model& model) {
  const ViTConfig& v = model.vit();
  int prefix = v.no_embed_class ? 0 : v.numPrefixTokens();
  if (e.shape.size() != 3 || e.shape[0] != 1 || e.shape[2] != v.embed_dim) return 0;
  int64_t patches = e.shape[1] - prefix;
  if (patches <= 0) return 0;
  int grid = static_cast<int>(std::lround(std::sqrt(static_cast<double>(patches))));
  if (static_cast<int64_t>(grid) * grid != patches || grid == v.gridSize()) return 0;
  return grid;
}

}  // namespace

void loadModelWeights(Model& model, const std::string& path, WeightsScope scope) {
  SafetensorsReader reader(path);
  LoadOptions options;
  options.ignoredPrefixes = {"head."};  // timm classifier: replaced by the engine's own heads
  std::vector<TensorSlot> slots;
  const NamedTensor* posEmbed = nullptr;
  int oldGrid = 0;
  for (const NamedTensor& t : model.parameters()) {
    if (t.name == "pos_embed") {
      const SafetensorsEntry* e = reader.find(t.name);
      if (e && (oldGrid = resampleGrid(*e, model)) > 0) {
        posEmbed = model.find("pos_embed");
        options.ignoredPrefixes.push_back("pos_embed");
        continue;  // read and resampled below
      }
    }
    if (isAggregatorName(t.name)) {
      if (scope == WeightsScope::Encoder) continue;
      if (scope == WeightsScope::EncoderOptionalAggregator) options.optionalNames.push_back(t.name);
    }
    slots.push_back(TensorSlot{t.name, t.shape, t.data});
  }
  if (scope == WeightsScope::Encoder) {
    options.ignoredPrefixes.push_back("aggregator.");
    options.ignoredPrefixes.push_back("heads.");
  }
  loadSafetensors(path, slots, options);
  if (posEmbed) {
    const ViTConfig& v = model.vit();
    int prefix = v.no_embed_class ? 0 : v.numPrefixTokens();
    std::vector<float> src = reader.readF32("pos_embed");
    resamplePosEmbed(src.data(), prefix, oldGrid, oldGrid, v.embed_dim, model.params() + posEmbed->offset, v.gridSize(),
                     v.gridSize(), /*antialias=*/true);
  }
}

void saveModelWeights(Model& model, const std::string& path, const std::map<std::string, std::string>& metadata) {
  std::vector<TensorView> views;
  for (const NamedTensor& t : model.parameters()) views.push_back(TensorView{t.name, t.shape, t.data});
  std::map<std::string, std::string> meta = metadata;
  meta.emplace("format", "pt");  // what timm / safetensors.torch write; lets torch tools open the file
  writeSafetensors(path, views, meta);
}

}  // namespace tessera
