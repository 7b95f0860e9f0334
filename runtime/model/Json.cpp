//===- Json.cpp - a small, strict JSON parser ------------------------------===//

#include "runtime/model/Json.h"

#include "runtime/model/Unicode.h"

#include <cerrno>
#include <cstdio>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace lazyc::rt {

class JsonParser {
public:
  explicit JsonParser(std::string_view text) : text_(text) {}

  bool parseDocument(JsonValue &out) {
    skipSpace();
    if (!parseValue(out, 0))
      return false;
    skipSpace();
    if (pos_ != text_.size())
      return fail("unexpected trailing characters");
    return true;
  }
  const std::string &error() const { return error_; }

private:
  static constexpr unsigned kMaxDepth = 128;

  bool fail(const std::string &message) {
    if (error_.empty())
      error_ = "JSON error at byte " + std::to_string(pos_) + ": " + message;
    return false;
  }
  void skipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }
  bool literal(const char *word) {
    size_t n = std::strlen(word);
    if (text_.compare(pos_, n, word) != 0)
      return fail("invalid literal");
    pos_ += n;
    return true;
  }

  bool parseValue(JsonValue &out, unsigned depth) {
    if (depth > kMaxDepth)
      return fail("nesting deeper than " + std::to_string(kMaxDepth));
    if (pos_ >= text_.size())
      return fail("unexpected end of input");
    switch (text_[pos_]) {
    case '{': return parseObject(out, depth);
    case '[': return parseArray(out, depth);
    case '"':
      out.kind_ = JsonValue::Kind::String;
      return parseString(out.string_);
    case 't':
      out.kind_ = JsonValue::Kind::Bool;
      out.bool_ = true;
      return literal("true");
    case 'f':
      out.kind_ = JsonValue::Kind::Bool;
      out.bool_ = false;
      return literal("false");
    case 'n':
      out.kind_ = JsonValue::Kind::Null;
      return literal("null");
    default:
      return parseNumber(out);
    }
  }

  bool parseObject(JsonValue &out, unsigned depth) {
    out.kind_ = JsonValue::Kind::Object;
    ++pos_; // '{'
    skipSpace();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      return true;
    }
    while (true) {
      skipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"')
        return fail("expected a member name");
      std::string key;
      if (!parseString(key))
        return false;
      skipSpace();
      if (pos_ >= text_.size() || text_[pos_] != ':')
        return fail("expected ':'");
      ++pos_;
      skipSpace();
      out.members_.emplace_back(std::move(key), JsonValue());
      if (!parseValue(out.members_.back().second, depth + 1))
        return false;
      skipSpace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == '}') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or '}'");
    }
  }

  bool parseArray(JsonValue &out, unsigned depth) {
    out.kind_ = JsonValue::Kind::Array;
    ++pos_; // '['
    skipSpace();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      ++pos_;
      return true;
    }
    while (true) {
      skipSpace();
      out.array_.emplace_back();
      if (!parseValue(out.array_.back(), depth + 1))
        return false;
      skipSpace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == ']') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }

  bool hex4(uint32_t &out) {
    if (text_.size() - pos_ < 4)
      return fail("truncated \\u escape");
    out = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text_[pos_++];
      out <<= 4;
      if (c >= '0' && c <= '9') out |= c - '0';
      else if (c >= 'a' && c <= 'f') out |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') out |= c - 'A' + 10;
      else return fail("invalid \\u escape");
    }
    return true;
  }

  bool parseString(std::string &out) {
    ++pos_; // opening quote
    size_t start = pos_;
    while (true) {
      if (pos_ >= text_.size())
        return fail("unterminated string");
      char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        break;
      }
      if (static_cast<unsigned char>(c) < 0x20)
        return fail("control character in string");
      if (c != '\\') {
        out += c;
        ++pos_;
        continue;
      }
      if (++pos_ >= text_.size())
        return fail("unterminated escape");
      char e = text_[pos_++];
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
        uint32_t cp;
        if (!hex4(cp))
          return false;
        if (cp >= 0xD800 && cp <= 0xDBFF) { // surrogate pair
          uint32_t low;
          if (text_.compare(pos_, 2, "\\u") != 0)
            return fail("unpaired surrogate");
          pos_ += 2;
          if (!hex4(low))
            return false;
          if (low < 0xDC00 || low > 0xDFFF)
            return fail("invalid surrogate pair");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return fail("unpaired surrogate");
        }
        unicode::appendUtf8(cp, out);
        break;
      }
      default:
        return fail(std::string("invalid escape '\\") + e + "'");
      }
    }
    // Raw bytes must be valid UTF-8.
    std::vector<uint32_t> cps;
    std::vector<size_t> offsets;
    std::string utf8Error;
    if (!unicode::decodeUtf8(out, cps, offsets, utf8Error)) {
      pos_ = start;
      return fail("string is not valid UTF-8");
    }
    return true;
  }

  bool parseNumber(JsonValue &out) {
    size_t start = pos_;
    if (pos_ < text_.size() && text_[pos_] == '-')
      ++pos_;
    auto digits = [&] {
      size_t from = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9')
        ++pos_;
      return pos_ > from;
    };
    if (!digits())
      return fail("invalid value");
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      if (!digits())
        return fail("invalid number");
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-'))
        ++pos_;
      if (!digits())
        return fail("invalid number");
    }
    std::string number(text_.substr(start, pos_ - start));
    out.kind_ = JsonValue::Kind::Number;
    out.number_ = std::strtod(number.c_str(), nullptr);
    return true;
  }

  std::string_view text_;
  size_t pos_ = 0;
  std::string error_;
};

std::unique_ptr<JsonValue> JsonValue::parse(std::string_view text, std::string &error) {
  auto value = std::make_unique<JsonValue>();
  JsonParser parser(text);
  if (!parser.parseDocument(*value)) {
    error = parser.error();
    return nullptr;
  }
  return value;
}

std::optional<int64_t> JsonValue::integer() const {
  if (kind_ != Kind::Number || !std::isfinite(number_) ||
      number_ != std::floor(number_) || std::fabs(number_) > 9.0e15)
    return std::nullopt;
  return static_cast<int64_t>(number_);
}

const JsonValue *JsonValue::get(std::string_view key) const {
  for (const auto &[k, v] : members_)
    if (k == key)
      return &v;
  return nullptr;
}

std::optional<int64_t> JsonValue::getInt(std::string_view key) const {
  const JsonValue *v = get(key);
  return v ? v->integer() : std::nullopt;
}
std::optional<double> JsonValue::getNumber(std::string_view key) const {
  const JsonValue *v = get(key);
  if (!v || !v->isNumber())
    return std::nullopt;
  return v->number();
}
std::optional<std::string> JsonValue::getString(std::string_view key) const {
  const JsonValue *v = get(key);
  if (!v || !v->isString())
    return std::nullopt;
  return v->string();
}
std::optional<bool> JsonValue::getBool(std::string_view key) const {
  const JsonValue *v = get(key);
  if (!v || !v->isBool())
    return std::nullopt;
  return v->boolean();
}

bool readFile(const std::string &path, std::string &out, std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open '" + path + "': " + std::strerror(errno);
    return false;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  out = buffer.str();
  return true;
}

} // namespace lazyc::rt

namespace {
/// The length of the valid UTF-8 sequence starting at `p` (RFC 3629: no
/// overlong forms, surrogates or code points past U+10FFFF), or 0.
size_t utf8SequenceLength(const unsigned char *p, size_t n) {
  auto cont = [&](size_t i, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return i < n && p[i] >= lo && p[i] <= hi;
  };
  unsigned char c = p[0];
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF)
    return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    bool second = c == 0xE0 ? cont(1, 0xA0) : c == 0xED ? cont(1, 0x80, 0x9F) : cont(1);
    return second && cont(2) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    bool second = c == 0xF0 ? cont(1, 0x90) : c == 0xF4 ? cont(1, 0x80, 0x8F) : cont(1);
    return second && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}
} // namespace

std::string lazyc::rt::jsonEscape(const std::string &s, bool shortEscapes) {
  std::string out;
  const auto *p = reinterpret_cast<const unsigned char *>(s.data());
  static const char kShort[] = "\nn\rr\tt\bb\ff"; // control character, its letter
  for (size_t i = 0; i < s.size();) {
    unsigned char c = p[i];
    const char *letter = shortEscapes && c != 0 ? std::strchr(kShort, c) : nullptr;
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (letter && (letter - kShort) % 2 == 0) {
      out += '\\';
      out += letter[1];
      ++i;
    } else if (c < 0x20) {
      char buffer[8];
      std::snprintf(buffer, sizeof(buffer), "\\u%04x", c);
      out += buffer;
      ++i;
    } else if (size_t length = utf8SequenceLength(p + i, s.size() - i)) {
      out.append(s, i, length);
      i += length;
    } else {
      // JSON text is UTF-8: a byte that starts no valid sequence (generated
      // text can end inside a character) becomes U+FFFD, as Python's
      // errors="replace" decodes it.
      out += "\\ufffd";
      ++i;
    }
  }
  return out;
}
