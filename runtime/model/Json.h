//===- Json.h - a small, strict JSON parser for model files -----*- C++ -*-===//
//
// Parses the JSON that model checkpoints carry (config.json, tokenizer.json,
// safetensors headers). Input is untrusted: nesting depth is bounded, every
// error names its byte offset, and nothing is read past the end.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_RUNTIME_MODEL_JSON_H
#define LAZYC_RUNTIME_MODEL_JSON_H

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lazyc::rt {

/// `s` as the contents of a JSON string literal (quotes, backslashes and
/// control characters escaped; bytes that are not valid UTF-8 become \ufffd).
/// `shortEscapes`: \n \r \t \b \f for those five, as Python's json.dumps
/// writes them (else \u00XX).
std::string jsonEscape(const std::string &s, bool shortEscapes = false);

class JsonValue {
public:
  enum class Kind { Null, Bool, Number, String, Array, Object };

  /// Parses a whole document; null + `error` on malformed input.
  static std::unique_ptr<JsonValue> parse(std::string_view text, std::string &error);

  Kind kind() const { return kind_; }
  bool isNull() const { return kind_ == Kind::Null; }
  bool isObject() const { return kind_ == Kind::Object; }
  bool isArray() const { return kind_ == Kind::Array; }
  bool isString() const { return kind_ == Kind::String; }
  bool isNumber() const { return kind_ == Kind::Number; }
  bool isBool() const { return kind_ == Kind::Bool; }

  bool boolean() const { return bool_; }
  double number() const { return number_; }
  /// The number as an integer if it is one exactly (no fraction, in range).
  std::optional<int64_t> integer() const;
  const std::string &string() const { return string_; }
  const std::vector<JsonValue> &array() const { return array_; }
  /// Object members in document order.
  const std::vector<std::pair<std::string, JsonValue>> &members() const { return members_; }
  /// Member lookup (objects only); null if absent.
  const JsonValue *get(std::string_view key) const;

  /// Typed member lookups: nullopt if absent or of another kind.
  std::optional<int64_t> getInt(std::string_view key) const;
  std::optional<double> getNumber(std::string_view key) const;
  std::optional<std::string> getString(std::string_view key) const;
  std::optional<bool> getBool(std::string_view key) const;

private:
  friend class JsonParser;
  Kind kind_ = Kind::Null;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<JsonValue> array_;
  std::vector<std::pair<std::string, JsonValue>> members_;
};

/// Reads a whole file into `out`; false + `error` on failure.
bool readFile(const std::string &path, std::string &out, std::string &error);

} // namespace lazyc::rt

#endif // LAZYC_RUNTIME_MODEL_JSON_H
