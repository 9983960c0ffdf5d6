// safetensors reading (F32, F16, BF16 → float32) and writing (F32).
//
// Format: 8-byte little-endian header length N, N bytes of JSON
//   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}
// then the data block; offsets are relative to the start of the data block.
// The reader validates the whole header (offsets inside the file, sizes matching
// dtype x shape, no overlaps) before any tensor is read, so a truncated or garbage
// file is one SafetensorsError, never a crash.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace tessera {

class SafetensorsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class StDtype { F32, F16, BF16, Other };

struct SafetensorsEntry {
  std::string name;
  std::string dtypeName;  // as written in the file, e.g. "F32", "I64"
  StDtype dtype = StDtype::Other;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets into the data block
  uint64_t end = 0;
  int64_t numel() const;
};

// A destination for one tensor: the model's own float32 storage.
struct TensorSlot {
  std::string name;
  std::vector<int64_t> shape;
  float* data = nullptr;
};

// A source for writing.
struct TensorView {
  std::string name;
  std::vector<int64_t> shape;
  const float* data = nullptr;
};

std::string shapeToString(const std::vector<int64_t>& shape);

class SafetensorsReader {
 public:
  // Opens the file and validates its header; throws SafetensorsError naming the file.
  explicit SafetensorsReader(const std::string& path);

  const std::string& path() const { return path_; }
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const SafetensorsEntry* find(const std::string& name) const;

  // Reads one tensor converted to float32 into dst (numel floats).
  // Throws for dtypes other than F32/F16/BF16.
  void readF32(const SafetensorsEntry& entry, float* dst) const;
  std::vector<float> readF32(const std::string& name) const;

 private:
  std::string path_;
  uint64_t dataStart_ = 0;
  std::vector<SafetensorsEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

struct LoadOptions {
  // Checkpoint names matching one of these prefixes are skipped without complaint
  // (e.g. "head." when a classifier checkpoint is loaded as a feature extractor).
  std::vector<std::string> ignoredPrefixes;
  // Slots listed here may be absent from the file (they keep their current values).
  std::vector<std::string> optionalNames;
};

// Loads every slot from the file. All problems (missing names, unexpected names,
// shape mismatches, unsupported dtypes) are collected and reported in one
// SafetensorsError before any tensor data is read, so a file that does not match
// leaves the destination untouched.
void loadSafetensors(const std::string& path, const std::vector<TensorSlot>& slots,
                     const LoadOptions& options = {});

// Writes tensors as F32 in the given order; metadata goes to "__metadata__".
// Writes to path + ".tmp" and renames, so an interrupted write never leaves a
// half-written file under the final name.
void writeSafetensors(const std::string& path, const std::vector<TensorView>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Conversions used by the reader (exposed for tests).
float halfToFloat(uint16_t h);
float bfloat16ToFloat(uint16_t b);

}  // namespace tessera
