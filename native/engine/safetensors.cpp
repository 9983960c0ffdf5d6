// safetensors reader and writer; see safetensors.h for the format and guarantees.
#include "safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "json.h"

namespace tessera {

namespace {

// The reference implementation refuses headers over 100 MB; so do we, which also
// bounds what a garbage length field can make us allocate.
constexpr uint64_t kMaxHeaderBytes = 100ull * 1024 * 1024;

size_t dtypeSize(const std::string& d) {
  if (d == "F64" || d == "I64" || d == "U64") return 8;
  if (d == "F32" || d == "I32" || d == "U32") return 4;
  if (d == "F16" || d == "BF16" || d == "I16" || d == "U16") return 2;
  if (d == "I8" || d == "U8" || d == "BOOL" || d == "F8_E4M3" || d == "F8_E5M2") return 1;
  return 0;
}

StDtype dtypeFromName(const std::string& d) {
  if (d == "F32") return StDtype::F32;
  if (d == "F16") return StDtype::F16;
  if (d == "BF16") return StDtype::BF16;
  return StDtype::Other;
}

uint64_t fileSize(std::ifstream& f) {
  f.seekg(0, std::ios::end);
  auto n = f.tellg();
  f.seekg(0, std::ios::beg);
  return n < 0 ? 0 : static_cast<uint64_t>(n);
}

bool startsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

std::string joinNames(const std::vector<std::string>& names, size_t limit = 20) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < limit; ++i) {
    if (i) out += ", ";
    out += names[i];
  }
  if (names.size() > limit) out += ", … (" + std::to_string(names.size() - limit) + " more)";
  return out;
}

}  // namespace

int64_t SafetensorsEntry::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shapeToString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

float halfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F;
  uint32_t mant = h & 0x3FF;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400) == 0);
      bits = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((mant & 0x3FF) << 13);
    }
  } else if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (mant << 13);  // inf / nan
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float bfloat16ToFloat(uint16_t b) {
  uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

SafetensorsReader::SafetensorsReader(const std::string& path) : path_(path) {
  auto fail = [&](const std::string& why) -> SafetensorsError {
    return SafetensorsError("Cannot read weights file " + path + ": " + why + ".");
  };
  std::ifstream f(path, std::ios::binary);
  if (!f) throw fail(std::string("cannot open it (") + std::strerror(errno) + ")");
  uint64_t size = fileSize(f);
  if (size < 8) throw fail("the file is too short to be safetensors (" + std::to_string(size) + " bytes)");
  unsigned char lenBytes[8];
  f.read(reinterpret_cast<char*>(lenBytes), 8);
  uint64_t headerLen = 0;
  for (int i = 7; i >= 0; --i) headerLen = (headerLen << 8) | lenBytes[i];
  if (headerLen > kMaxHeaderBytes) throw fail("the header length field is implausible (" + std::to_string(headerLen) + " bytes); the file is not safetensors or is corrupt");
  if (8 + headerLen > size) throw fail("the file is truncated inside its header");
  std::string header(headerLen, '\0');
  f.read(&header[0], static_cast<std::streamsize>(headerLen));
  if (!f) throw fail("reading the header failed");
  dataStart_ = 8 + headerLen;
  uint64_t dataSize = size - dataStart_;

  Json doc;
  try {
    doc = Json::parse(header);
  } catch (const JsonError& e) {
    throw fail(std::string("the header is not valid JSON (") + e.what() + ")");
  }
  if (!doc.isObject()) throw fail("the header is not a JSON object");

  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& kv : doc.members()) {
    const std::string& name = kv.first;
    const Json& v = kv.second;
    if (name == "__metadata__") {
      if (!v.isObject()) throw fail("__metadata__ is not an object");
      for (const auto& m : v.members()) {
        if (!m.second.isString()) throw fail("__metadata__ value for '" + m.first + "' is not a string");
        metadata_[m.first] = m.second.asString();
      }
      continue;
    }
    try {
      SafetensorsEntry e;
      e.name = name;
      const Json* dt = v.find("dtype");
      const Json* shape = v.find("shape");
      const Json* offs = v.find("data_offsets");
      if (!dt || !shape || !offs) throw fail("tensor '" + name + "' lacks dtype, shape or data_offsets");
      e.dtypeName = dt->asString();
      e.dtype = dtypeFromName(e.dtypeName);
      size_t esize = dtypeSize(e.dtypeName);
      if (esize == 0) throw fail("tensor '" + name + "' has unknown dtype " + e.dtypeName);
      uint64_t numel = 1;
      for (const Json& d : shape->items()) {
        int64_t dim = d.asInt();
        if (dim < 0) throw fail("tensor '" + name + "' has a negative dimension");
        e.shape.push_back(dim);
        if (dim != 0 && numel > (UINT64_MAX / 8) / static_cast<uint64_t>(dim)) throw fail("tensor '" + name + "' is impossibly large");
        numel *= static_cast<uint64_t>(dim);
      }
      if (offs->items().size() != 2) throw fail("tensor '" + name + "' data_offsets must have two entries");
      int64_t b = offs->items()[0].asInt(), en = offs->items()[1].asInt();
      if (b < 0 || en < b) throw fail("tensor '" + name + "' has invalid data_offsets");
      e.begin = static_cast<uint64_t>(b);
      e.end = static_cast<uint64_t>(en);
      if (e.end - e.begin != numel * esize) {
        throw fail("tensor '" + name + "' occupies " + std::to_string(e.end - e.begin) + " bytes but " + e.dtypeName + " " +
                   shapeToString(e.shape) + " needs " + std::to_string(numel * esize));
      }
      if (e.end > dataSize) throw fail("the file is truncated (tensor '" + name + "' ends past the end of the file)");
      ranges.emplace_back(e.begin, e.end);
      entries_.push_back(std::move(e));
    } catch (const JsonError& je) {
      throw fail("tensor '" + name + "' has a malformed header entry (" + je.what() + ")");
    }
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].first < ranges[i - 1].second) throw fail("two tensors overlap in the data block");
  }
}

const SafetensorsEntry* SafetensorsReader::find(const std::string& name) const {
  for (const auto& e : entries_) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

void SafetensorsReader::readF32(const SafetensorsEntry& e, float* dst) const {
  if (e.dtype == StDtype::Other) {
    throw SafetensorsError("Cannot read weights file " + path_ + ": tensor '" + e.name + "' has dtype " + e.dtypeName +
                           "; only F32, F16 and BF16 are supported.");
  }
  std::ifstream f(path_, std::ios::binary);
  if (!f) throw SafetensorsError("Cannot read weights file " + path_ + ": cannot open it.");
  f.seekg(static_cast<std::streamoff>(dataStart_ + e.begin));
  uint64_t bytes = e.end - e.begin;
  int64_t n = e.numel();
  if (e.dtype == StDtype::F32) {
    f.read(reinterpret_cast<char*>(dst), static_cast<std::streamsize>(bytes));
  } else {
    // Convert in blocks so a large half-precision tensor needs no second full-size buffer.
    constexpr int64_t kBlock = 1 << 16;
    std::vector<uint16_t> buf(static_cast<size_t>(std::min<int64_t>(n, kBlock)));
    for (int64_t i = 0; i < n && f; i += kBlock) {
      int64_t m = std::min<int64_t>(kBlock, n - i);
      f.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(m * 2));
      if (e.dtype == StDtype::F16) {
        for (int64_t j = 0; j < m; ++j) dst[i + j] = halfToFloat(buf[j]);
      } else {
        for (int64_t j = 0; j < m; ++j) dst[i + j] = bfloat16ToFloat(buf[j]);
      }
    }
  }
  if (!f) throw SafetensorsError("Cannot read weights file " + path_ + ": reading tensor '" + e.name + "' failed (file changed or truncated).");
}

std::vector<float> SafetensorsReader::readF32(const std::string& name) const {
  const SafetensorsEntry* e = find(name);
  if (!e) throw SafetensorsError("Weights file " + path_ + " has no tensor named '" + name + "'.");
  std::vector<float> out(static_cast<size_t>(e->numel()));
  readF32(*e, out.data());
  return out;
}

void loadSafetensors(const std::string& path, const std::vector<TensorSlot>& slots, const LoadOptions& options) {
  SafetensorsReader reader(path);
  std::vector<std::string> missing, unexpected, misShaped, badDtype;
  std::set<std::string> wanted;
  for (const auto& s : slots) {
    wanted.insert(s.name);
    const SafetensorsEntry* e = reader.find(s.name);
    if (!e) {
      if (std::find(options.optionalNames.begin(), options.optionalNames.end(), s.name) == options.optionalNames.end()) {
        missing.push_back(s.name);
      }
      continue;
    }
    if (e->shape != s.shape) {
      misShaped.push_back(s.name + " (file " + shapeToString(e->shape) + ", model " + shapeToString(s.shape) + ")");
    }
    if (e->dtype == StDtype::Other) badDtype.push_back(s.name + " (" + e->dtypeName + ")");
  }
  for (const auto& e : reader.entries()) {
    if (wanted.count(e.name)) continue;
    bool ignored = std::any_of(options.ignoredPrefixes.begin(), options.ignoredPrefixes.end(),
                               [&](const std::string& p) { return startsWith(e.name, p); });
    if (!ignored) unexpected.push_back(e.name);
  }
  if (!missing.empty() || !unexpected.empty() || !misShaped.empty() || !badDtype.empty()) {
    std::string msg = "Weights file " + path + " does not match the model:";
    if (!missing.empty()) msg += " missing tensors: " + joinNames(missing) + ";";
    if (!unexpected.empty()) msg += " unexpected tensors: " + joinNames(unexpected) + ";";
    if (!misShaped.empty()) msg += " wrong shapes: " + joinNames(misShaped) + ";";
    if (!badDtype.empty()) msg += " unsupported dtypes (F32, F16, BF16 only): " + joinNames(badDtype) + ";";
    msg.back() = '.';
    throw SafetensorsError(msg);
  }
  // The header was checked against the file size above, so a read can only fail if the
  // file changes underneath us; reading straight into the model avoids a second copy
  // of multi-gigabyte weights.
  for (const auto& s : slots) {
    const SafetensorsEntry* e = reader.find(s.name);
    if (e) reader.readF32(*e, s.data);
  }
}

void writeSafetensors(const std::string& path, const std::vector<TensorView>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  Json header = Json::object();
  if (!metadata.empty()) {
    Json meta = Json::object();
    for (const auto& kv : metadata) meta.set(kv.first, Json(kv.second));
    header.set("__metadata__", std::move(meta));
  }
  uint64_t offset = 0;
  std::set<std::string> seen;
  for (const auto& t : tensors) {
    if (!seen.insert(t.name).second) throw SafetensorsError("Cannot write " + path + ": tensor name '" + t.name + "' appears twice.");
    uint64_t numel = 1;
    for (int64_t d : t.shape) numel *= static_cast<uint64_t>(d);
    Json entry = Json::object();
    entry.set("dtype", Json("F32"));
    Json shape = Json::array();
    for (int64_t d : t.shape) shape.push(Json(d));
    entry.set("shape", std::move(shape));
    Json offs = Json::array();
    offs.push(Json(offset));
    offs.push(Json(offset + numel * 4));
    entry.set("data_offsets", std::move(offs));
    header.set(t.name, std::move(entry));
    offset += numel * 4;
  }
  std::string text = header.dump();
  // Pad with spaces so the data block starts 8-byte aligned, as the reference writer does.
  while ((8 + text.size()) % 8 != 0) text += ' ';
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw SafetensorsError("Cannot write " + path + ": " + std::strerror(errno) + ".");
    uint64_t n = text.size();
    unsigned char lenBytes[8];
    for (int i = 0; i < 8; ++i) lenBytes[i] = static_cast<unsigned char>(n >> (8 * i));
    f.write(reinterpret_cast<const char*>(lenBytes), 8);
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& t : tensors) {
      uint64_t numel = 1;
      for (int64_t d : t.shape) numel *= static_cast<uint64_t>(d);
      f.write(reinterpret_cast<const char*>(t.data), static_cast<std::streamsize>(numel * 4));
    }
    f.flush();
    if (!f) {
      std::remove(tmp.c_str());
      throw SafetensorsError("Cannot write " + path + ": the write failed (disk full?).");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw SafetensorsError("Cannot write " + path + ": " + std::strerror(errno) + ".");
  }
}

}  // namespace tessera
