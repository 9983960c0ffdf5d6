// Checkpoint folders; see checkpoint.h.
#include "checkpoint.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <vector>

#include "model_weights.h"
#include "safetensors.h"

namespace tessera {

namespace {

constexpr int kCheckpointVersion = 1;

std::string join(const std::string& dir, const char* file) {
  return dir.empty() || dir.back() == '/' ? dir + file : dir + "/" + file;
}

void makeDir(const std::string& dir) {
  struct stat st {};
  if (stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) throw std::runtime_error("Cannot write checkpoint " + dir + ": it exists and is not a folder.");
    return;
  }
  if (mkdir(dir.c_str(), 0755) != 0) {
    throw std::runtime_error("Cannot create checkpoint folder " + dir + ": " + std::strerror(errno) + ".");
  }
}

void writeTextAtomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw std::runtime_error("Cannot write " + path + ": " + std::strerror(errno) + ".");
    f << text;
    f.flush();
    if (!f) {
      std::remove(tmp.c_str());
      throw std::runtime_error("Cannot write " + path + ": the write failed (disk full?).");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("Cannot write " + path + ": " + std::strerror(errno) + ".");
  }
}

std::string readText(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw ConfigError("Cannot open " + path + ".");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

Json aggregatorToJson(const AggregatorConfig& a) {
  Json j = Json::object();
  j.set("input_dim", Json(a.input_dim));
  j.set("hidden_dim", Json(a.hidden_dim));
  j.set("dropout", Json(static_cast<double>(a.dropout)));
  Json tasks = Json::array();
  for (const TaskConfig& t : a.tasks) {
    Json tj = Json::object();
    tj.set("name", Json(t.name));
    tj.set("kind", Json(t.kind == TaskKind::Binary ? "binary" : "categorical"));
    tj.set("num_classes", Json(t.num_classes));
    tj.set("loss_weight", Json(static_cast<double>(t.loss_weight)));
    tasks.push(std::move(tj));
  }
  j.set("tasks", std::move(tasks));
  return j;
}

AggregatorConfig aggregatorFromJson(const Json& j, const std::string& source) {
  auto fail = [&](const std::string& why) -> ConfigError {
    return ConfigError("Aggregator config in " + source + " is not usable: " + why + ".");
  };
  if (!j.isObject()) throw fail("it is not an object");
  AggregatorConfig a;
  try {
    if (const Json* v = j.find("input_dim")) a.input_dim = static_cast<int>(v->asInt());
    if (const Json* v = j.find("hidden_dim")) a.hidden_dim = static_cast<int>(v->asInt());
    if (const Json* v = j.find("dropout")) a.dropout = static_cast<float>(v->asNumber());
    if (const Json* tasks = j.find("tasks")) {
      for (const Json& tj : tasks->items()) {
        TaskConfig t;
        const Json* name = tj.find("name");
        if (!name) throw fail("a task has no name");
        t.name = name->asString();
        std::string kind = tj.find("kind") ? tj.find("kind")->asString() : "binary";
        if (kind == "binary") t.kind = TaskKind::Binary;
        else if (kind == "categorical") t.kind = TaskKind::Categorical;
        else throw fail("task \"" + t.name + "\" has kind \"" + kind + "\" (binary or categorical)");
        if (const Json* v = tj.find("num_classes")) t.num_classes = static_cast<int>(v->asInt());
        if (const Json* v = tj.find("loss_weight")) t.loss_weight = static_cast<float>(v->asNumber());
        a.tasks.push_back(std::move(t));
      }
    }
  } catch (const JsonError& e) {
    throw fail(e.what());
  }
  try {
    a.validate();
  } catch (const std::exception& e) {
    throw fail(e.what());
  }
  return a;
}

void saveCheckpoint(Model& model, const EncoderSpec& encoder, const std::string& dir) {
  makeDir(dir);
  std::map<std::string, std::string> meta{{"tessera_checkpoint_version", std::to_string(kCheckpointVersion)},
                                          {"step", std::to_string(model.step)}};
  saveModelWeights(model, join(dir, "model.safetensors"), meta);

  std::string optPath = join(dir, "optimizer.safetensors");
  if (model.hasOptimizerState()) {
    std::vector<TensorView> views;
    std::vector<NamedTensor> params = model.parameters();
    const float* m = model.adamM();
    const float* v = model.adamV();
    for (const NamedTensor& t : params) views.push_back(TensorView{"exp_avg." + t.name, t.shape, m + t.offset});
    for (const NamedTensor& t : params) views.push_back(TensorView{"exp_avg_sq." + t.name, t.shape, v + t.offset});
    if (model.pendingMicroSteps > 0 && model.hasGrads()) {
      const float* g = model.grads();
      for (const NamedTensor& t : params) views.push_back(TensorView{"grad." + t.name, t.shape, g + t.offset});
    }
    std::map<std::string, std::string> ometa = meta;
    ometa["pending_micro_steps"] = std::to_string(model.pendingMicroSteps);
    writeSafetensors(optPath, views, ometa);
  } else {
    std::remove(optPath.c_str());  // a stale one from an earlier save must not be resumed
  }

  EncoderSpec spec = encoder;
  spec.vit = model.vit();
  Json doc = encoderSpecToTimmJson(spec);
  Json t = Json::object();
  t.set("checkpoint_version", Json(kCheckpointVersion));
  t.set("aggregator", aggregatorToJson(model.aggregator()));
  t.set("step", Json(model.step));
  t.set("pending_micro_steps", Json(model.pendingMicroSteps));
  t.set("has_optimizer_state", Json(model.hasOptimizerState()));
  doc.set("tessera", std::move(t));
  writeTextAtomically(join(dir, "config.json"), doc.dump());
}

CheckpointInfo readCheckpointInfo(const std::string& dir) {
  std::string path = join(dir, "config.json");
  std::string text = readText(path);
  Json doc;
  try {
    doc = Json::parse(text);
  } catch (const JsonError& e) {
    throw ConfigError("Checkpoint config " + path + " is not valid JSON: " + e.what() + ".");
  }
  CheckpointInfo info;
  info.encoder = parseTimmConfig(doc, path);
  const Json* t = doc.find("tessera");
  if (!t || !t->isObject()) throw ConfigError("Checkpoint config " + path + " has no \"tessera\" section; it is a model folder, not a checkpoint.");
  try {
    int64_t version = t->find("checkpoint_version") ? t->find("checkpoint_version")->asInt() : 0;
    if (version != kCheckpointVersion) {
      throw ConfigError("Checkpoint " + dir + " has format version " + std::to_string(version) + "; this build reads version " +
                        std::to_string(kCheckpointVersion) + ".");
    }
    if (const Json* a = t->find("aggregator")) info.aggregator = aggregatorFromJson(*a, path);
    if (const Json* s = t->find("step")) info.step = s->asInt();
    if (const Json* p = t->find("pending_micro_steps")) info.pendingMicroSteps = p->asInt();
    if (const Json* h = t->find("has_optimizer_state")) info.hasOptimizerState = h->asBool();
  } catch (const JsonError& e) {
    throw ConfigError("Checkpoint config " + path + " is malformed: " + e.what() + ".");
  }
  return info;
}

std::unique_ptr<Model> loadCheckpoint(const std::string& dir, CheckpointInfo* infoOut) {
  CheckpointInfo info = readCheckpointInfo(dir);
  auto model = std::make_unique<Model>(info.encoder.vit, info.aggregator);
  loadModelWeights(*model, join(dir, "model.safetensors"), WeightsScope::All);
  if (info.hasOptimizerState) {
    std::string optPath = join(dir, "optimizer.safetensors");
    std::vector<TensorSlot> slots;
    std::vector<NamedTensor> params = model->parameters();
    float* m = model->adamM();
    float* v = model->adamV();
    for (const NamedTensor& t : params) slots.push_back(TensorSlot{"exp_avg." + t.name, t.shape, m + t.offset});
    for (const NamedTensor& t : params) slots.push_back(TensorSlot{"exp_avg_sq." + t.name, t.shape, v + t.offset});
    if (info.pendingMicroSteps > 0) {
      float* g = model->grads();
      for (const NamedTensor& t : params) slots.push_back(TensorSlot{"grad." + t.name, t.shape, g + t.offset});
    }
    loadSafetensors(optPath, slots);
  }
  model->step = info.step;
  model->pendingMicroSteps = info.pendingMicroSteps;
  if (infoOut) *infoOut = info;
  return model;
}

}  // namespace tessera
