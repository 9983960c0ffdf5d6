// Minimal JSON value, parser and writer for the engine's own small documents:
// safetensors headers, timm config.json files and checkpoint metadata.
// No JSON library ships through npm as a header, so this lives here; it is not a
// general-purpose library (no streaming, no comments, numbers are doubles).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace tessera {

class JsonError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Json {
 public:
  enum class Type { Null, Bool, Number, String, Array, Object };
  // Objects keep insertion order so written files read the way they were built.
  using Members = std::vector<std::pair<std::string, Json>>;

  Json() = default;
  Json(std::nullptr_t) {}
  Json(bool b) : type_(Type::Bool), bool_(b) {}
  Json(double d) : type_(Type::Number), number_(d) {}
  Json(int i) : type_(Type::Number), number_(i) {}
  Json(int64_t i) : type_(Type::Number), number_(static_cast<double>(i)) {}
  Json(uint64_t i) : type_(Type::Number), number_(static_cast<double>(i)) {}
  Json(const char* s) : type_(Type::String), string_(s) {}
  Json(std::string s) : type_(Type::String), string_(std::move(s)) {}

  static Json array() { Json j; j.type_ = Type::Array; return j; }
  static Json object() { Json j; j.type_ = Type::Object; return j; }
  // Throws JsonError with the byte offset of the first problem.
  static Json parse(const std::string& text);

  Type type() const { return type_; }
  bool isNull() const { return type_ == Type::Null; }
  bool isBool() const { return type_ == Type::Bool; }
  bool isNumber() const { return type_ == Type::Number; }
  bool isString() const { return type_ == Type::String; }
  bool isArray() const { return type_ == Type::Array; }
  bool isObject() const { return type_ == Type::Object; }

  // Typed accessors throw JsonError naming the expected type.
  bool asBool() const;
  double asNumber() const;
  int64_t asInt() const;  // rejects non-integral numbers
  const std::string& asString() const;
  const std::vector<Json>& items() const;
  const Members& members() const;

  // Object access: find returns nullptr when absent.
  const Json* find(const std::string& key) const;
  Json& set(const std::string& key, Json value);
  // Array append.
  Json& push(Json value);
  size_t size() const;

  std::string dump() const;

 private:
  void dumpTo(std::string& out) const;
  Type type_ = Type::Null;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<Json> items_;
  Members members_;
};

const char* jsonTypeName(Json::Type t);

}  // namespace tessera
