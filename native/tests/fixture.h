// Reader for the PyTorch-written "TSFX" fixtures (see test/fixtures/engine/make_fixtures.py for the format).
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace tessera {
namespace test {

struct FixtureTensor {
  int dtype = 0;  // 0 f32, 1 u8, 2 i32
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  const float* f32() const { return reinterpret_cast<const float*>(bytes.data()); }
  const int32_t* i32() const { return reinterpret_cast<const int32_t*>(bytes.data()); }
  const uint8_t* u8() const { return bytes.data(); }
};

class Fixture {
 public:
  explicit Fixture(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot open fixture " + path);
    char magic[4];
    f.read(magic, 4);
    if (std::memcmp(magic, "TSFX", 4) != 0) throw std::runtime_error(path + " is not a TSFX fixture");
    uint32_t version = 0, count = 0;
    f.read(reinterpret_cast<char*>(&version), 4);
    f.read(reinterpret_cast<char*>(&count), 4);
    if (version != 1) throw std::runtime_error(path + ": unsupported fixture version " + std::to_string(version));
    for (uint32_t i = 0; i < count; i++) {
      uint32_t len = 0;
      f.read(reinterpret_cast<char*>(&len), 4);
      std::string name(len, '\0');
      f.read(&name[0], len);
      uint8_t dtype = 0, ndim = 0;
      f.read(reinterpret_cast<char*>(&dtype), 1);
      f.read(reinterpret_cast<char*>(&ndim), 1);
      FixtureTensor t;
      t.dtype = dtype;
      t.shape.resize(ndim);
      for (auto& d : t.shape) f.read(reinterpret_cast<char*>(&d), 8);
      const int64_t elem = dtype == 1 ? 1 : 4;
      t.bytes.resize(static_cast<size_t>(t.numel() * elem));
      f.read(reinterpret_cast<char*>(t.bytes.data()), static_cast<std::streamsize>(t.bytes.size()));
      if (!f) throw std::runtime_error(path + ": truncated at tensor " + name);
      tensors_[name] = std::move(t);
    }
  }
  bool has(const std::string& name) const { return tensors_.count(name) > 0; }
  const FixtureTensor& at(const std::string& name) const {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) throw std::runtime_error("fixture has no tensor " + name);
    return it->second;
  }
  float scalar(const std::string& name) const { return at(name).f32()[0]; }
  const std::map<std::string, FixtureTensor>& all() const { return tensors_; }

 private:
  std::map<std::string, FixtureTensor> tensors_;
};

}  // namespace test
}  // namespace tessera
