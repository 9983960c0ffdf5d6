// Recursive-descent JSON parser (RFC 8259) and compact writer; see json.h.
#include "json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <locale>
#include <sstream>

namespace tessera {

const char* jsonTypeName(Json::Type t) {
  switch (t) {
    case Json::Type::Null: return "null";
    case Json::Type::Bool: return "boolean";
    case Json::Type::Number: return "number";
    case Json::Type::String: return "string";
    case Json::Type::Array: return "array";
    case Json::Type::Object: return "object";
  }
  return "?";
}

namespace {

// Nesting limit: keeps a hostile header from exhausting the stack.
constexpr int kMaxDepth = 128;

class Parser {
 public:
  explicit Parser(const std::string& text) : s_(text) {}

  Json parseDocument() {
    Json v = parseValue(0);
    skipSpace();
    if (pos_ != s_.size()) fail("unexpected trailing characters");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw JsonError("invalid JSON at byte " + std::to_string(pos_) + ": " + why);
  }

  void skipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }

  bool consumeLiteral(const char* lit) {
    size_t n = std::strlen(lit);
    if (s_.compare(pos_, n, lit) == 0) {
      pos_ += n;
      return true;
    }
    return false;
  }

  Json parseValue(int depth) {
    if (depth > kMaxDepth) fail("nesting too deep");
    skipSpace();
    if (pos_ >= s_.size()) fail("unexpected end of input");
    char c = s_[pos_];
    if (c == '{') return parseObject(depth);
    if (c == '[') return parseArray(depth);
    if (c == '"') return Json(parseString());
    if (c == 't' && consumeLiteral("true")) return Json(true);
    if (c == 'f' && consumeLiteral("false")) return Json(false);
    if (c == 'n' && consumeLiteral("null")) return Json(nullptr);
    // Python's json.dumps writes these for non-finite floats; timm configs never should,
    // but accepting them beats rejecting an otherwise valid file.
    if (c == 'N' && consumeLiteral("NaN")) return Json(std::nan(""));
    if (c == 'I' && consumeLiteral("Infinity")) return Json(HUGE_VAL);
    if (c == '-' && consumeLiteral("-Infinity")) return Json(-HUGE_VAL);
    if (c == '-' || (c >= '0' && c <= '9')) return parseNumber();
    fail(std::string("unexpected character '") + c + "'");
  }

  Json parseObject(int depth) {
    ++pos_;  // '{'
    Json obj = Json::object();
    skipSpace();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return obj;
    }
    for (;;) {
      skipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '"') fail("expected a string key");
      std::string key = parseString();
      skipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ':') fail("expected ':'");
      ++pos_;
      obj.set(key, parseValue(depth + 1));
      skipSpace();
      if (pos_ >= s_.size()) fail("unexpected end of input in object");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == '}') {
        ++pos_;
        return obj;
      }
      fail("expected ',' or '}'");
    }
  }

  Json parseArray(int depth) {
    ++pos_;  // '['
    Json arr = Json::array();
    skipSpace();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return arr;
    }
    for (;;) {
      arr.push(parseValue(depth + 1));
      skipSpace();
      if (pos_ >= s_.size()) fail("unexpected end of input in array");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == ']') {
        ++pos_;
        return arr;
      }
      fail("expected ',' or ']'");
    }
  }

  Json parseNumber() {
    size_t start = pos_;
    if (s_[pos_] == '-') ++pos_;
    auto digits = [&] {
      size_t d = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ - d;
    };
    if (digits() == 0) fail("expected digits");
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (digits() == 0) fail("expected digits after '.'");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (digits() == 0) fail("expected exponent digits");
    }
    // The classic locale: strtod would read "0.5" wrongly under a decimal-comma locale (Electron sets one).
    std::istringstream in(s_.substr(start, pos_ - start));
    in.imbue(std::locale::classic());
    double d = 0;
    in >> d;
    if (in.fail()) {
      // Out of double range: strtod semantics (+-HUGE_VAL or 0) rather than an error.
      d = s_[start] == '-' ? -HUGE_VAL : HUGE_VAL;
      if (s_.find_first_of("eE", start) < pos_ && s_.find('-', s_.find_first_of("eE", start)) < pos_) d = 0;
    }
    return Json(d);
  }

  unsigned parseHex4() {
    if (pos_ + 4 > s_.size()) fail("truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else fail("bad hex digit in \\u escape");
    }
    return v;
  }

  static void appendUtf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string parseString() {
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (pos_ >= s_.size()) fail("unterminated string");
      char c = s_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) fail("unterminated escape");
      char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = parseHex4();
          if (cp >= 0xD800 && cp < 0xDC00) {
            if (pos_ + 2 > s_.size() || s_[pos_] != '\\' || s_[pos_ + 1] != 'u') fail("unpaired surrogate");
            pos_ += 2;
            unsigned lo = parseHex4();
            if (lo < 0xDC00 || lo >= 0xE000) fail("bad low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          appendUtf8(out, cp);
          break;
        }
        default: fail("bad escape");
      }
    }
  }

  const std::string& s_;
  size_t pos_ = 0;
};

void dumpString(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

}  // namespace

Json Json::parse(const std::string& text) { return Parser(text).parseDocument(); }

static JsonError typeError(Json::Type want, Json::Type got) {
  return JsonError(std::string("expected a JSON ") + jsonTypeName(want) + ", found " + jsonTypeName(got));
}

bool Json::asBool() const {
  if (type_ != Type::Bool) throw typeError(Type::Bool, type_);
  return bool_;
}
double Json::asNumber() const {
  if (type_ != Type::Number) throw typeError(Type::Number, type_);
  return number_;
}
int64_t Json::asInt() const {
  double d = asNumber();
  if (!(std::fabs(d) < 9.007199254740992e15) || std::floor(d) != d) {
    throw JsonError("expected an integer, found " + std::to_string(d));
  }
  return static_cast<int64_t>(d);
}
const std::string& Json::asString() const {
  if (type_ != Type::String) throw typeError(Type::String, type_);
  return string_;
}
const std::vector<Json>& Json::items() const {
  if (type_ != Type::Array) throw typeError(Type::Array, type_);
  return items_;
}
const Json::Members& Json::members() const {
  if (type_ != Type::Object) throw typeError(Type::Object, type_);
  return members_;
}

const Json* Json::find(const std::string& key) const {
  if (type_ != Type::Object) return nullptr;
  for (const auto& kv : members_) {
    if (kv.first == key) return &kv.second;
  }
  return nullptr;
}

Json& Json::set(const std::string& key, Json value) {
  if (type_ != Type::Object) throw typeError(Type::Object, type_);
  // Duplicate keys: last one wins, as in Python's json module.
  for (auto& kv : members_) {
    if (kv.first == key) {
      kv.second = std::move(value);
      return kv.second;
    }
  }
  members_.emplace_back(key, std::move(value));
  return members_.back().second;
}

Json& Json::push(Json value) {
  if (type_ != Type::Array) throw typeError(Type::Array, type_);
  items_.push_back(std::move(value));
  return items_.back();
}

size_t Json::size() const {
  if (type_ == Type::Array) return items_.size();
  if (type_ == Type::Object) return members_.size();
  return 0;
}

std::string Json::dump() const {
  std::string out;
  dumpTo(out);
  return out;
}

void Json::dumpTo(std::string& out) const {
  switch (type_) {
    case Type::Null: out += "null"; break;
    case Type::Bool: out += bool_ ? "true" : "false"; break;
    case Type::Number: {
      if (!std::isfinite(number_)) {
        out += std::isnan(number_) ? "NaN" : (number_ > 0 ? "Infinity" : "-Infinity");
      } else if (std::floor(number_) == number_ && std::fabs(number_) < 9.007199254740992e15) {
        out += std::to_string(static_cast<int64_t>(number_));
      } else {
        std::ostringstream os;  // classic locale: always a decimal point
        os.imbue(std::locale::classic());
        os.precision(17);  // round-trips a double exactly
        os << number_;
        out += os.str();
      }
      break;
    }
    case Type::String: dumpString(out, string_); break;
    case Type::Array: {
      out += '[';
      for (size_t i = 0; i < items_.size(); ++i) {
        if (i) out += ',';
        items_[i].dumpTo(out);
      }
      out += ']';
      break;
    }
    case Type::Object: {
      out += '{';
      for (size_t i = 0; i < members_.size(); ++i) {
        if (i) out += ',';
        dumpString(out, members_[i].first);
        out += ':';
        members_[i].second.dumpTo(out);
      }
      out += '}';
      break;
    }
  }
}

}  // namespace tessera
