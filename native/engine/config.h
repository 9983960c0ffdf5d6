// Reads timm's Hugging Face config.json (the file published next to model.safetensors on the Hub) into a
// ViTConfig, following timm.create_model's precedence:
//   model_args  >  the architecture's own arguments  >  pretrained_cfg (global_pool; img_size only when
//   fixed_input_size)  >  VisionTransformer defaults.
// Anything that would change the network in a way the engine does not implement (pre_norm, qk_norm,
// attention pooling, GLU with GELU, ...) is refused with a message naming the file and the field, rather
// than silently computing something else.
#pragma once

#include <stdexcept>
#include <string>

#include "json.h"
#include "model.h"

namespace tessera {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Everything config.json says that the engine and the image preprocessing need.
struct EncoderSpec {
  std::string architecture;  // timm name, e.g. "vit_small_patch16_224"
  ViTConfig vit;
  bool dynamic_img_size = false;  // recorded; the engine always runs at vit.img_size
  // Evaluation transform (timm's resolve_data_config): resize the shorter side to
  // floor(input_size / crop_pct) with `interpolation`, then centre-crop input_size.
  int input_size = 224;
  double crop_pct = 0.875;
  std::string interpolation = "bicubic";
};

// `source` names the file in error messages.
EncoderSpec parseTimmConfig(const Json& doc, const std::string& source);
EncoderSpec parseTimmConfigText(const std::string& text, const std::string& source);
EncoderSpec loadTimmConfig(const std::string& path);

// The inverse: a timm-style config.json (architecture + explicit model_args + pretrained_cfg) that
// parseTimmConfig reads back to the same EncoderSpec. Used for checkpoints and exported models.
Json encoderSpecToTimmJson(const EncoderSpec& spec);

// Names of the architectures known without model_args (for messages and tests).
std::string knownArchitectures();

}  // namespace tessera
