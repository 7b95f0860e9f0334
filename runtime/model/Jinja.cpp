//===- Jinja.cpp - the Jinja subset chat templates are written in ---------===//

#include "runtime/model/Jinja.h"

#include "runtime/model/Json.h"
#include "runtime/model/Unicode.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <unordered_map>

namespace lazyc::rt::jinja {

//===----------------------------------------------------------------------===//
// Values
//===----------------------------------------------------------------------===//

Value Value::none() {
  Value v;
  v.kind = Kind::None;
  return v;
}
Value Value::boolean(bool b) {
  Value v;
  v.kind = Kind::Bool;
  v.b = b;
  return v;
}
Value Value::integer(int64_t i) {
  Value v;
  v.kind = Kind::Int;
  v.i = i;
  return v;
}
Value Value::number(double f) {
  Value v;
  v.kind = Kind::Float;
  v.f = f;
  return v;
}
Value Value::string(std::string s) {
  Value v;
  v.kind = Kind::String;
  v.s = std::move(s);
  return v;
}
Value Value::makeList(List items) {
  Value v;
  v.kind = Kind::List;
  v.list = std::make_shared<List>(std::move(items));
  return v;
}
Value Value::makeTuple(List items) {
  Value v = makeList(std::move(items));
  v.tuple = true;
  return v;
}
Value Value::makeDict(Dict items) {
  Value v;
  v.kind = Kind::Dict;
  v.dict = std::make_shared<Dict>(std::move(items));
  return v;
}
const Value *Value::find(std::string_view key) const {
  if ((kind != Kind::Dict && kind != Kind::Namespace) || !dict)
    return nullptr;
  for (const auto &[k, v] : *dict)
    if (k == key)
      return &v;
  return nullptr;
}

namespace {

constexpr int kMaxDepth = 200;                 // nesting of expressions and blocks
constexpr size_t kMaxOutput = size_t(64) << 20; // rendered bytes
constexpr int64_t kMaxSteps = 5'000'000;       // evaluated nodes per render
constexpr int64_t kMaxRange = 1'000'000;       // numbers from one range()

/// A syntax or evaluation error; caught at the API boundary.
struct Error {
  std::string message;
};
[[noreturn]] void fail(int line, const std::string &message) {
  throw Error{"chat template line " + std::to_string(line) + ": " + message};
}

const char *kindName(const Value &v) {
  switch (v.kind) {
  case Value::Kind::Undefined: return "undefined";
  case Value::Kind::None: return "none";
  case Value::Kind::Bool: return "bool";
  case Value::Kind::Int: return "int";
  case Value::Kind::Float: return "float";
  case Value::Kind::String: return "string";
  case Value::Kind::List: return "list";
  case Value::Kind::Dict: return "dict";
  case Value::Kind::Namespace: return "namespace";
  case Value::Kind::Macro: return "macro";
  case Value::Kind::Function: return "function";
  }
  return "?";
}

bool isNumber(const Value &v) {
  return v.kind == Value::Kind::Int || v.kind == Value::Kind::Float || v.kind == Value::Kind::Bool;
}
double asDouble(const Value &v) {
  return v.kind == Value::Kind::Float ? v.f : v.kind == Value::Kind::Bool ? v.b : double(v.i);
}
int64_t asInt(const Value &v) { return v.kind == Value::Kind::Bool ? v.b : v.i; }

bool truthy(const Value &v) {
  switch (v.kind) {
  case Value::Kind::Undefined:
  case Value::Kind::None: return false;
  case Value::Kind::Bool: return v.b;
  case Value::Kind::Int: return v.i != 0;
  case Value::Kind::Float: return v.f != 0;
  case Value::Kind::String: return !v.s.empty();
  case Value::Kind::List: return !v.list->empty();
  case Value::Kind::Dict: return !v.dict->empty();
  default: return true;
  }
}

/// The UTF-8 characters of `s` (Python indexes strings by code point).
std::vector<std::string> characters(const std::string &s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    len = std::min(len, s.size() - i);
    out.push_back(s.substr(i, len));
    i += len;
  }
  return out;
}

/// Python's repr of a float: the shortest text that reads back the same.
std::string floatText(double f) {
  if (std::isnan(f))
    return "nan";
  if (std::isinf(f))
    return f > 0 ? "inf" : "-inf";
  char buffer[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof(buffer), "%.*g", precision, f);
    if (std::strtod(buffer, nullptr) == f)
      break;
  }
  std::string text = buffer;
  size_t e = text.find('e');
  if (e != std::string::npos) {
    // Python: at least two exponent digits, no '+' dropped ("1e-05", "1e+16").
    std::string mantissa = text.substr(0, e), exponent = text.substr(e + 1);
    char sign = exponent[0] == '-' ? '-' : '+';
    if (exponent[0] == '-' || exponent[0] == '+')
      exponent.erase(0, 1);
    while (exponent.size() > 2 && exponent[0] == '0')
      exponent.erase(0, 1);
    if (exponent.size() < 2)
      exponent.insert(0, "0");
    int power = std::stoi(exponent) * (sign == '-' ? -1 : 1);
    if (power >= -4 && power < 16) { // Python writes these in positional form
      std::snprintf(buffer, sizeof(buffer), "%.17f", f);
      text = buffer;
    } else {
      return mantissa + "e" + sign + exponent;
    }
  }
  if (text.find('.') == std::string::npos)
    return text + ".0";
  // Positional form from %.17f: trim to the shortest that round-trips.
  while (text.back() == '0' && text[text.size() - 2] != '.') {
    std::string shorter = text.substr(0, text.size() - 1);
    if (std::strtod(shorter.c_str(), nullptr) != f)
      break;
    text = shorter;
  }
  return text;
}

std::string repr(const Value &v);

/// Python's str().
std::string str(const Value &v) {
  switch (v.kind) {
  case Value::Kind::Undefined: return "";
  case Value::Kind::None: return "None";
  case Value::Kind::Bool: return v.b ? "True" : "False";
  case Value::Kind::Int: return std::to_string(v.i);
  case Value::Kind::Float: return floatText(v.f);
  case Value::Kind::String: return v.s;
  case Value::Kind::List: {
    std::string out = v.tuple ? "(" : "[";
    for (size_t i = 0; i < v.list->size(); ++i)
      out += (i ? ", " : "") + repr((*v.list)[i]);
    if (v.tuple && v.list->size() == 1)
      out += ",";
    return out + (v.tuple ? ")" : "]");
  }
  case Value::Kind::Dict:
  case Value::Kind::Namespace: {
    std::string out = v.kind == Value::Kind::Namespace ? "<Namespace {" : "{";
    for (size_t i = 0; i < v.dict->size(); ++i)
      out += (i ? ", '" : "'") + (*v.dict)[i].first + "': " + repr((*v.dict)[i].second);
    return out + (v.kind == Value::Kind::Namespace ? "}>" : "}");
  }
  case Value::Kind::Macro: return "<Macro>";
  case Value::Kind::Function: return "<built-in function " + v.s + ">";
  }
  return "";
}

std::string repr(const Value &v) {
  if (v.kind != Value::Kind::String)
    return str(v);
  char quote = v.s.find('\'') != std::string::npos && v.s.find('"') == std::string::npos ? '"'
                                                                                          : '\'';
  std::string out(1, quote);
  for (char c : v.s) {
    if (c == '\\' || c == quote)
      out += {'\\', c};
    else if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\r')
      out += "\\r";
    else
      out += c;
  }
  return out + quote;
}

/// Python's json.dumps(ensure_ascii=False), as transformers' tojson filter.
void toJson(const Value &v, int indent, int depth, std::string &out, int line) {
  if (depth > kMaxDepth)
    fail(line, "tojson: value nested too deeply");
  auto newline = [&](int level) {
    out += '\n';
    out.append(static_cast<size_t>(indent * level), ' ');
  };
  switch (v.kind) {
  case Value::Kind::None: out += "null"; return;
  case Value::Kind::Bool: out += v.b ? "true" : "false"; return;
  case Value::Kind::Int: out += std::to_string(v.i); return;
  case Value::Kind::Float:
    out += std::isnan(v.f) ? "NaN" : std::isinf(v.f) ? (v.f > 0 ? "Infinity" : "-Infinity")
                                                     : floatText(v.f);
    return;
  case Value::Kind::String:
    out += '"' + jsonEscape(v.s, /*shortEscapes=*/true) + '"';
    return;
  case Value::Kind::List:
  case Value::Kind::Dict:
  case Value::Kind::Namespace: {
    bool isList = v.kind == Value::Kind::List;
    size_t n = isList ? v.list->size() : v.dict->size();
    out += isList ? '[' : '{';
    for (size_t i = 0; i < n; ++i) {
      if (i)
        out += indent >= 0 ? "," : ", ";
      if (indent >= 0)
        newline(depth + 1);
      if (!isList) {
        toJson(Value::string((*v.dict)[i].first), indent, depth + 1, out, line);
        out += ": ";
      }
      toJson(isList ? (*v.list)[i] : (*v.dict)[i].second, indent, depth + 1, out, line);
    }
    if (indent >= 0 && n)
      newline(depth);
    out += isList ? ']' : '}';
    return;
  }
  default:
    fail(line, std::string("tojson: a ") + kindName(v) + " is not JSON serializable");
  }
}

bool equals(const Value &a, const Value &b) {
  if (isNumber(a) && isNumber(b))
    return asDouble(a) == asDouble(b);
  if (a.kind != b.kind)
    return false;
  switch (a.kind) {
  case Value::Kind::Undefined:
  case Value::Kind::None: return true;
  case Value::Kind::String: return a.s == b.s;
  case Value::Kind::List:
    if (a.list->size() != b.list->size())
      return false;
    for (size_t i = 0; i < a.list->size(); ++i)
      if (!equals((*a.list)[i], (*b.list)[i]))
        return false;
    return true;
  case Value::Kind::Dict:
    if (a.dict->size() != b.dict->size())
      return false;
    for (const auto &[k, v] : *a.dict) {
      const Value *other = b.find(k);
      if (!other || !equals(v, *other))
        return false;
    }
    return true;
  default: return a.dict == b.dict && a.macro == b.macro;
  }
}

/// -1, 0, 1 as Python orders numbers, strings and lists; an error otherwise.
int compare(const Value &a, const Value &b, int line) {
  if (isNumber(a) && isNumber(b)) {
    double x = asDouble(a), y = asDouble(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.kind == Value::Kind::String && b.kind == Value::Kind::String)
    return a.s < b.s ? -1 : a.s > b.s ? 1 : 0;
  if (a.kind == Value::Kind::List && b.kind == Value::Kind::List) {
    for (size_t i = 0; i < std::min(a.list->size(), b.list->size()); ++i)
      if (int c = compare((*a.list)[i], (*b.list)[i], line))
        return c;
    return a.list->size() < b.list->size() ? -1 : a.list->size() > b.list->size() ? 1 : 0;
  }
  fail(line, std::string("cannot order a ") + kindName(a) + " and a " + kindName(b));
}

//===----------------------------------------------------------------------===//
// Lexer
//===----------------------------------------------------------------------===//

enum class Tok { Name, String, Int, Float, Op, End };
struct Token {
  Tok kind = Tok::End;
  std::string text; // name, operator or string value
  int64_t i = 0;
  double f = 0;
  int line = 0;
};

struct Segment {
  enum class Kind { Text, Expr, Stmt } kind;
  std::string text;          // Text
  std::vector<Token> tokens; // Expr, Stmt (ending with an End token)
  int line;
};

bool isSpaceChar(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/// Tokens of one tag, from `pos` up to its closer ("}}" or "%}", optionally
/// after '-'). Returns the position after the closer; `strip` says whether
/// the closer asked to strip the whitespace after it.
size_t lexTag(std::string_view src, size_t pos, char closer, int &line,
              std::vector<Token> &tokens, bool &strip) {
  int startLine = line;
  while (true) {
    while (pos < src.size() && isSpaceChar(src[pos]))
      line += src[pos++] == '\n';
    if (pos >= src.size())
      fail(startLine, std::string("unclosed tag (no '") + closer + "}')");
    char c = src[pos];
    auto closesAt = [&](size_t at) {
      return at + 1 < src.size() && src[at] == closer && src[at + 1] == '}';
    };
    if (closesAt(pos) || (c == '-' && closesAt(pos + 1))) {
      strip = c == '-';
      tokens.push_back({Tok::End, "", 0, 0, line});
      return pos + (strip ? 3 : 2);
    }
    Token token;
    token.line = line;
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t end = pos;
      while (end < src.size() &&
             (std::isalnum(static_cast<unsigned char>(src[end])) || src[end] == '_'))
        ++end;
      token.kind = Tok::Name;
      token.text = std::string(src.substr(pos, end - pos));
      pos = end;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t end = pos;
      while (end < src.size() && (std::isdigit(static_cast<unsigned char>(src[end])) ||
                                  src[end] == '_'))
        ++end;
      bool isFloat = end + 1 < src.size() && src[end] == '.' &&
                     std::isdigit(static_cast<unsigned char>(src[end + 1]));
      if (isFloat) {
        ++end;
        while (end < src.size() && std::isdigit(static_cast<unsigned char>(src[end])))
          ++end;
      }
      std::string digits;
      for (char d : src.substr(pos, end - pos))
        if (d != '_')
          digits += d;
      if (isFloat) {
        token.kind = Tok::Float;
        token.f = std::strtod(digits.c_str(), nullptr);
      } else {
        token.kind = Tok::Int;
        errno = 0;
        token.i = std::strtoll(digits.c_str(), nullptr, 10);
        if (errno == ERANGE)
          fail(line, "integer literal out of range");
      }
      pos = end;
    } else if (c == '\'' || c == '"') {
      token.kind = Tok::String;
      ++pos;
      while (true) {
        if (pos >= src.size())
          fail(token.line, "unterminated string literal");
        char d = src[pos++];
        if (d == c)
          break;
        if (d == '\n')
          ++line;
        if (d != '\\') {
          token.text += d;
          continue;
        }
        if (pos >= src.size())
          fail(token.line, "unterminated string literal");
        char e = src[pos++];
        switch (e) {
        case 'n': token.text += '\n'; break;
        case 't': token.text += '\t'; break;
        case 'r': token.text += '\r'; break;
        case '0': token.text += '\0'; break;
        case '\\': token.text += '\\'; break;
        case '\'': token.text += '\''; break;
        case '"': token.text += '"'; break;
        case '\n': ++line; break; // a line continuation
        case 'x':
        case 'u':
        case 'U': {
          size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          if (pos + digits > src.size())
            fail(line, "truncated \\" + std::string(1, e) + " escape");
          uint32_t cp = 0;
          for (size_t k = 0; k < digits; ++k) {
            char h = src[pos + k];
            if (!std::isxdigit(static_cast<unsigned char>(h)))
              fail(line, "bad \\" + std::string(1, e) + " escape");
            cp = cp * 16 + (std::isdigit(static_cast<unsigned char>(h))
                                ? h - '0'
                                : (std::tolower(static_cast<unsigned char>(h)) - 'a' + 10));
          }
          if (cp > 0x10FFFF)
            fail(line, "escape outside Unicode");
          pos += digits;
          unicode::appendUtf8(cp, token.text);
          break;
        }
        default: token.text += '\\'; token.text += e; // Python keeps unknown escapes
        }
      }
    } else {
      static const char *const kTwo[] = {"==", "!=", "<=", ">=", "//", "**"};
      token.kind = Tok::Op;
      for (const char *op : kTwo)
        if (src.compare(pos, 2, op) == 0)
          token.text = op;
      if (token.text.empty()) {
        if (!std::strchr("+-*/%~<>=()[]{}.,:|", c))
          fail(line, std::string("unexpected character '") + c + "'");
        token.text = std::string(1, c);
      }
      pos += token.text.size();
    }
    tokens.push_back(std::move(token));
  }
}

/// Splits a template into text and tags, applying whitespace control as
/// transformers' environment does (trim_blocks, lstrip_blocks).
std::vector<Segment> lex(std::string_view src) {
  std::vector<Segment> segments;
  size_t pos = 0;
  int line = 1;
  bool stripLeading = false, trimNewline = false;
  while (pos <= src.size()) {
    size_t at = pos;
    while ((at = src.find('{', at)) != std::string_view::npos) {
      if (at + 1 < src.size() && (src[at + 1] == '{' || src[at + 1] == '%' || src[at + 1] == '#'))
        break;
      ++at;
    }
    std::string text(src.substr(pos, at == std::string_view::npos ? src.size() - pos : at - pos));
    int textLine = line;
    line += static_cast<int>(std::count(text.begin(), text.end(), '\n'));
    if (stripLeading) {
      size_t keep = 0;
      while (keep < text.size() && isSpaceChar(text[keep]))
        ++keep;
      text.erase(0, keep);
    } else if (trimNewline && !text.empty() && text[0] == '\n') {
      text.erase(0, 1);
    } else if (trimNewline && text.compare(0, 2, "\r\n") == 0) {
      text.erase(0, 2);
    }
    stripLeading = trimNewline = false;
    if (at == std::string_view::npos) {
      if (!text.empty())
        segments.push_back({Segment::Kind::Text, std::move(text), {}, textLine});
      break;
    }
    char kind = src[at + 1];
    size_t inner = at + 2;
    char modifier = inner < src.size() ? src[inner] : '\0';
    if (modifier == '-') {
      while (!text.empty() && isSpaceChar(text.back()))
        text.pop_back();
    } else if (modifier != '+' && kind != '{') {
      // lstrip_blocks: spaces and tabs between the line's start and the tag.
      size_t back = at;
      while (back > 0 && (src[back - 1] == ' ' || src[back - 1] == '\t'))
        --back;
      if (back == 0 || src[back - 1] == '\n')
        text.resize(text.size() - std::min(text.size(), at - back));
    }
    if (modifier == '-' || modifier == '+')
      ++inner;
    if (!text.empty())
      segments.push_back({Segment::Kind::Text, std::move(text), {}, textLine});
    if (kind == '#') {
      size_t end = src.find("#}", inner);
      if (end == std::string_view::npos)
        fail(line, "unclosed comment");
      line += static_cast<int>(std::count(src.begin() + inner, src.begin() + end, '\n'));
      stripLeading = end > inner && src[end - 1] == '-';
      trimNewline = !stripLeading;
      pos = end + 2;
      continue;
    }
    Segment tag{kind == '{' ? Segment::Kind::Expr : Segment::Kind::Stmt, "", {}, line};
    bool strip = false;
    pos = lexTag(src, inner, kind == '{' ? '}' : '%', line, tag.tokens, strip);
    stripLeading = strip;
    trimNewline = !strip && kind == '%';
    // {% raw %} ... {% endraw %}: the text between, verbatim.
    if (tag.kind == Segment::Kind::Stmt && tag.tokens.size() == 2 &&
        tag.tokens[0].text == "raw" && tag.tokens[0].kind == Tok::Name) {
      size_t end = pos;
      while ((end = src.find("{%", end)) != std::string_view::npos) {
        size_t k = end + 2;
        if (k < src.size() && (src[k] == '-' || src[k] == '+'))
          ++k;
        while (k < src.size() && isSpaceChar(src[k]))
          ++k;
        if (src.compare(k, 6, "endraw") == 0)
          break;
        end += 2;
      }
      if (end == std::string_view::npos)
        fail(tag.line, "{% raw %} without {% endraw %}");
      std::string raw(src.substr(pos, end - pos));
      if (trimNewline && !raw.empty() && raw[0] == '\n')
        raw.erase(0, 1);
      if (src[end + 2] == '-')
        while (!raw.empty() && isSpaceChar(raw.back()))
          raw.pop_back();
      line += static_cast<int>(std::count(raw.begin(), raw.end(), '\n'));
      segments.push_back({Segment::Kind::Text, std::move(raw), {}, tag.line});
      std::vector<Token> ignored;
      pos = lexTag(src, end + 2 + (src[end + 2] == '-' || src[end + 2] == '+'), '%', line,
                   ignored, strip);
      stripLeading = strip;
      trimNewline = !strip;
      continue;
    }
    segments.push_back(std::move(tag));
  }
  return segments;
}

//===----------------------------------------------------------------------===//
// Syntax tree
//===----------------------------------------------------------------------===//

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;
struct Expr {
  enum class K {
    Literal, Name, Attr, Item, Slice, Call, Filter, Test, Neg, Not, Binary, Compare, And, Or,
    Cond, ListLit, DictLit
  };
  K k;
  int line = 0;
  Value literal;
  std::string name;                 // Name, Attr, Filter, Test; Binary's operator
  std::vector<std::string> ops;     // Compare's operators
  ExprPtr a, b, c;                  // operands
  std::vector<ExprPtr> args;        // call / filter / test arguments; list elements;
                                    // Compare's operands; Slice's start, stop, step
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::pair<ExprPtr, ExprPtr>> entries; // DictLit
  bool negated = false;             // Test: `is not`; ListLit: a tuple
};

struct Node;
using NodePtr = std::unique_ptr<Node>;
using Body = std::vector<NodePtr>;
struct Node {
  enum class K { Text, Output, If, For, Set, SetBlock, Macro, Break, Continue };
  K k;
  int line = 0;
  std::string text;                                 // Text
  ExprPtr expr;                                     // Output, Set, For's iterable
  std::vector<std::pair<ExprPtr, Body>> branches;   // If (a null condition: else)
  std::vector<std::string> targets;                 // For's names; Set's name [, attribute]
  ExprPtr condition;                                // For's `if`
  Body body, elseBody;                              // For, SetBlock, Macro
  std::shared_ptr<Macro> macro;
};

} // namespace

struct Macro {
  std::string name;
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults; // null: required
  Body body;
};

namespace {

//===----------------------------------------------------------------------===//
// Parser
//===----------------------------------------------------------------------===//

class ExprParser {
public:
  explicit ExprParser(const std::vector<Token> &tokens) : tokens_(tokens) {}

  const Token &peek(size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  bool atEnd() const { return peek().kind == Tok::End; }
  bool isOp(const char *op, size_t ahead = 0) const {
    return peek(ahead).kind == Tok::Op && peek(ahead).text == op;
  }
  bool isName(const char *name, size_t ahead = 0) const {
    return peek(ahead).kind == Tok::Name && peek(ahead).text == name;
  }
  const Token &next() {
    const Token &t = peek();
    if (pos_ < tokens_.size() - 1)
      ++pos_;
    return t;
  }
  void expectOp(const char *op) {
    if (!isOp(op))
      fail(peek().line, std::string("expected '") + op + "', found " + describe(peek()));
    next();
  }
  std::string expectName() {
    if (peek().kind != Tok::Name)
      fail(peek().line, "expected a name, found " + describe(peek()));
    return next().text;
  }
  void expectEnd() {
    if (!atEnd())
      fail(peek().line, "unexpected " + describe(peek()));
  }
  static std::string describe(const Token &t) {
    switch (t.kind) {
    case Tok::End: return "the end of the tag";
    case Tok::String: return "a string";
    case Tok::Int:
    case Tok::Float: return "a number";
    default: return "'" + t.text + "'";
    }
  }

  ExprPtr expression() { return conditional(); }

  /// An or-expression: what `for ... in` iterates (no inline if there).
  ExprPtr orExpr() {
    Guard guard(*this);
    ExprPtr left = andExpr();
    while (isName("or")) {
      int line = next().line;
      left = binary(Expr::K::Or, std::move(left), andExpr(), line);
    }
    return left;
  }

private:
  struct Guard {
    explicit Guard(ExprParser &p) : parser(p) {
      if (++parser.depth_ > kMaxDepth)
        fail(parser.peek().line, "expression nested too deeply");
    }
    ~Guard() { --parser.depth_; }
    ExprParser &parser;
  };

  static ExprPtr make(Expr::K k, int line) {
    auto e = std::make_unique<Expr>();
    e->k = k;
    e->line = line;
    return e;
  }
  static ExprPtr binary(Expr::K k, ExprPtr a, ExprPtr b, int line, std::string op = "") {
    ExprPtr e = make(k, line);
    e->a = std::move(a);
    e->b = std::move(b);
    e->name = std::move(op);
    return e;
  }

  ExprPtr conditional() {
    Guard guard(*this);
    ExprPtr value = orExpr();
    if (!isName("if"))
      return value;
    int line = next().line;
    ExprPtr e = make(Expr::K::Cond, line);
    e->a = orExpr();
    e->b = std::move(value);
    if (isName("else")) {
      next();
      e->c = conditional();
    }
    return e;
  }
  ExprPtr andExpr() {
    ExprPtr left = notExpr();
    while (isName("and")) {
      int line = next().line;
      left = binary(Expr::K::And, std::move(left), notExpr(), line);
    }
    return left;
  }
  ExprPtr notExpr() {
    Guard guard(*this);
    if (isName("not")) {
      int line = next().line;
      ExprPtr e = make(Expr::K::Not, line);
      e->a = notExpr();
      return e;
    }
    return comparison();
  }
  ExprPtr comparison() {
    ExprPtr first = math1();
    ExprPtr e;
    while (true) {
      std::string op;
      if (peek().kind == Tok::Op && (peek().text == "==" || peek().text == "!=" ||
                                     peek().text == "<" || peek().text == "<=" ||
                                     peek().text == ">" || peek().text == ">=")) {
        op = next().text;
      } else if (isName("in")) {
        next();
        op = "in";
      } else if (isName("not") && isName("in", 1)) {
        next();
        next();
        op = "not in";
      } else {
        break;
      }
      if (!e) {
        e = make(Expr::K::Compare, first->line);
        e->args.push_back(std::move(first));
      }
      e->ops.push_back(op);
      e->args.push_back(math1());
    }
    return e ? std::move(e) : std::move(first);
  }
  ExprPtr math1() {
    ExprPtr left = concat();
    while (isOp("+") || isOp("-")) {
      const Token &op = next();
      left = binary(Expr::K::Binary, std::move(left), concat(), op.line, op.text);
    }
    return left;
  }
  ExprPtr concat() {
    ExprPtr left = math2();
    while (isOp("~")) {
      int line = next().line;
      left = binary(Expr::K::Binary, std::move(left), math2(), line, "~");
    }
    return left;
  }
  ExprPtr math2() {
    ExprPtr left = power();
    while (isOp("*") || isOp("/") || isOp("//") || isOp("%")) {
      const Token &op = next();
      left = binary(Expr::K::Binary, std::move(left), power(), op.line, op.text);
    }
    return left;
  }
  ExprPtr power() {
    ExprPtr left = unary(true);
    while (isOp("**")) {
      int line = next().line;
      left = binary(Expr::K::Binary, std::move(left), unary(true), line, "**");
    }
    return left;
  }
  ExprPtr unary(bool withFilter) {
    Guard guard(*this);
    ExprPtr node;
    if (isOp("-") || isOp("+")) {
      const Token &op = next();
      ExprPtr operand = unary(false);
      if (op.text == "-") {
        node = make(Expr::K::Neg, op.line);
        node->a = std::move(operand);
      } else {
        node = std::move(operand);
      }
    } else {
      node = primary();
    }
    node = postfix(std::move(node));
    return withFilter ? filters(std::move(node)) : std::move(node);
  }
  ExprPtr primary() {
    const Token &t = next();
    ExprPtr e;
    switch (t.kind) {
    case Tok::Name:
      if (t.text == "true" || t.text == "True" || t.text == "false" || t.text == "False") {
        e = make(Expr::K::Literal, t.line);
        e->literal = Value::boolean(t.text[0] == 't' || t.text[0] == 'T');
      } else if (t.text == "none" || t.text == "None") {
        e = make(Expr::K::Literal, t.line);
        e->literal = Value::none();
      } else {
        e = make(Expr::K::Name, t.line);
        e->name = t.text;
      }
      return e;
    case Tok::String: {
      e = make(Expr::K::Literal, t.line);
      std::string text = t.text;
      while (peek().kind == Tok::String) // adjacent literals concatenate
        text += next().text;
      e->literal = Value::string(std::move(text));
      return e;
    }
    case Tok::Int:
      e = make(Expr::K::Literal, t.line);
      e->literal = Value::integer(t.i);
      return e;
    case Tok::Float:
      e = make(Expr::K::Literal, t.line);
      e->literal = Value::number(t.f);
      return e;
    case Tok::Op:
      if (t.text == "(") {
        if (isOp(")")) {
          next();
          e = make(Expr::K::ListLit, t.line); // an empty tuple
          e->negated = true;
          return e;
        }
        ExprPtr inner = expression();
        if (isOp(",")) { // a tuple
          e = make(Expr::K::ListLit, t.line);
          e->negated = true; // (ListLit: a tuple)
          e->args.push_back(std::move(inner));
          while (isOp(",")) {
            next();
            if (isOp(")"))
              break;
            e->args.push_back(expression());
          }
          inner = std::move(e);
        }
        expectOp(")");
        return inner;
      }
      if (t.text == "[") {
        e = make(Expr::K::ListLit, t.line);
        while (!isOp("]")) {
          e->args.push_back(expression());
          if (!isOp(","))
            break;
          next();
        }
        expectOp("]");
        return e;
      }
      if (t.text == "{") {
        e = make(Expr::K::DictLit, t.line);
        while (!isOp("}")) {
          ExprPtr key = expression();
          expectOp(":");
          e->entries.emplace_back(std::move(key), expression());
          if (!isOp(","))
            break;
          next();
        }
        expectOp("}");
        return e;
      }
      break;
    case Tok::End:
      break;
    }
    fail(t.line, "expected an expression, found " + describe(t));
  }
  void callArguments(Expr &call) {
    expectOp("(");
    while (!isOp(")")) {
      if (peek().kind == Tok::Name && isOp("=", 1)) {
        std::string key = next().text;
        next();
        call.kwargs.emplace_back(key, expression());
      } else {
        if (!call.kwargs.empty())
          fail(peek().line, "a positional argument after a keyword argument");
        call.args.push_back(expression());
      }
      if (!isOp(","))
        break;
      next();
    }
    expectOp(")");
  }
  /// `callee(arguments)`.
  ExprPtr callOn(ExprPtr callee) {
    ExprPtr e = make(Expr::K::Call, peek().line);
    e->a = std::move(callee);
    callArguments(*e);
    return e;
  }
  ExprPtr postfix(ExprPtr node) {
    while (true) {
      if (isOp(".")) {
        int line = next().line;
        if (peek().kind == Tok::Int) { // x.0 is x[0]
          ExprPtr e = make(Expr::K::Item, line);
          e->a = std::move(node);
          e->b = make(Expr::K::Literal, line);
          e->b->literal = Value::integer(next().i);
          node = std::move(e);
          continue;
        }
        ExprPtr e = make(Expr::K::Attr, line);
        e->a = std::move(node);
        e->name = expectName();
        node = std::move(e);
      } else if (isOp("[")) {
        int line = next().line;
        ExprPtr parts[3];
        int colons = 0;
        while (!isOp("]")) {
          if (isOp(":")) {
            next();
            if (++colons > 2)
              fail(line, "a slice has at most three parts");
            continue;
          }
          if (parts[colons])
            fail(peek().line, "expected ':' or ']' in a subscript");
          parts[colons] = expression();
        }
        expectOp("]");
        if (colons == 0) {
          if (!parts[0])
            fail(line, "an empty subscript");
          ExprPtr e = make(Expr::K::Item, line);
          e->a = std::move(node);
          e->b = std::move(parts[0]);
          node = std::move(e);
        } else {
          ExprPtr e = make(Expr::K::Slice, line);
          e->a = std::move(node);
          for (ExprPtr &part : parts)
            e->args.push_back(std::move(part));
          node = std::move(e);
        }
      } else if (isOp("(")) {
        node = callOn(std::move(node));
      } else {
        return node;
      }
    }
  }
  ExprPtr filters(ExprPtr node) {
    while (true) {
      if (isOp("|")) {
        int line = next().line;
        ExprPtr e = make(Expr::K::Filter, line);
        e->a = std::move(node);
        e->name = expectName();
        if (isOp("("))
          callArguments(*e);
        node = std::move(e);
      } else if (isName("is")) {
        int line = next().line;
        ExprPtr e = make(Expr::K::Test, line);
        e->a = std::move(node);
        if (isName("not")) {
          next();
          e->negated = true;
        }
        e->name = expectName();
        if (isOp("(")) {
          callArguments(*e);
        } else {
          const Token &t = peek();
          bool argument = t.kind == Tok::String || t.kind == Tok::Int || t.kind == Tok::Float ||
                          (t.kind == Tok::Name && t.text != "and" && t.text != "or" &&
                           t.text != "else" && t.text != "if" && t.text != "in" &&
                           t.text != "is" && t.text != "not");
          if (argument)
            e->args.push_back(postfix(primary()));
        }
        node = std::move(e);
      } else if (isOp("(")) {
        node = callOn(std::move(node));
      } else {
        return node;
      }
    }
  }

  const std::vector<Token> &tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
};

class Parser {
public:
  explicit Parser(std::vector<Segment> segments) : segments_(std::move(segments)) {}

  Body parseTemplate() {
    std::string end;
    Body body = parseBody({}, end);
    return body;
  }

private:
  /// Nodes up to a statement whose keyword is in `ends` (returned in
  /// `foundEnd`, its segment consumed; its parser left in `endParser_`).
  Body parseBody(const std::vector<const char *> &ends, std::string &foundEnd) {
    if (++depth_ > kMaxDepth)
      fail(line(), "blocks nested too deeply");
    Body body;
    while (index_ < segments_.size()) {
      Segment &segment = segments_[index_++];
      if (segment.kind == Segment::Kind::Text) {
        auto node = std::make_unique<Node>();
        node->k = Node::K::Text;
        node->line = segment.line;
        node->text = std::move(segment.text);
        body.push_back(std::move(node));
        continue;
      }
      auto parser = std::make_unique<ExprParser>(segment.tokens);
      if (segment.kind == Segment::Kind::Expr) {
        auto node = std::make_unique<Node>();
        node->k = Node::K::Output;
        node->line = segment.line;
        node->expr = parser->expression();
        parser->expectEnd();
        body.push_back(std::move(node));
        continue;
      }
      std::string keyword = parser->expectName();
      for (const char *end : ends)
        if (keyword == end) {
          foundEnd = keyword;
          endParser_ = std::move(parser);
          --depth_;
          return body;
        }
      if (NodePtr node = statement(keyword, *parser, segment.line))
        body.push_back(std::move(node));
    }
    if (!ends.empty())
      fail(line(), std::string("missing {% ") + ends.back() + " %}");
    --depth_;
    return body;
  }

  int line() const {
    return segments_.empty() ? 1 : segments_[std::min(index_, segments_.size()) - 1].line;
  }

  NodePtr statement(const std::string &keyword, ExprParser &p, int line) {
    auto node = std::make_unique<Node>();
    node->line = line;
    std::string end;
    if (keyword == "if") {
      node->k = Node::K::If;
      ExprPtr condition = p.expression();
      p.expectEnd();
      while (true) {
        Body body = parseBody({"elif", "else", "endif"}, end);
        node->branches.emplace_back(std::move(condition), std::move(body));
        if (end == "endif") {
          endParser_->expectEnd();
          break;
        }
        if (end == "else") {
          endParser_->expectEnd();
          node->branches.emplace_back(nullptr, parseBody({"endif"}, end));
          endParser_->expectEnd();
          break;
        }
        condition = endParser_->expression(); // elif
        endParser_->expectEnd();
      }
      return node;
    }
    if (keyword == "for") {
      node->k = Node::K::For;
      bool parenthesized = p.isOp("(");
      if (parenthesized)
        p.next();
      node->targets.push_back(p.expectName());
      while (p.isOp(",")) {
        p.next();
        node->targets.push_back(p.expectName());
      }
      if (parenthesized)
        p.expectOp(")");
      if (!p.isName("in"))
        p.expectOp("in");
      p.next();
      node->expr = p.orExpr();
      if (p.isName("if")) {
        p.next();
        node->condition = p.orExpr();
      }
      if (p.isName("recursive"))
        fail(line, "recursive loops are not supported");
      p.expectEnd();
      node->body = parseBody({"else", "endfor"}, end);
      endParser_->expectEnd();
      if (end == "else") {
        node->elseBody = parseBody({"endfor"}, end);
        endParser_->expectEnd();
      }
      return node;
    }
    if (keyword == "set") {
      node->targets.push_back(p.expectName());
      if (p.isOp(".")) {
        p.next();
        node->targets.push_back(p.expectName());
      }
      if (p.isOp(",")) // set a, b = ...
        fail(line, "tuple assignment in {% set %} is not supported");
      if (p.atEnd()) {
        node->k = Node::K::SetBlock;
        node->body = parseBody({"endset"}, end);
        endParser_->expectEnd();
        return node;
      }
      node->k = Node::K::Set;
      p.expectOp("=");
      node->expr = p.expression();
      if (p.isOp(",")) { // set x = a, b: a tuple
        auto list = std::make_unique<Expr>();
        list->k = Expr::K::ListLit;
        list->negated = true;
        list->line = line;
        list->args.push_back(std::move(node->expr));
        while (p.isOp(",")) {
          p.next();
          list->args.push_back(p.expression());
        }
        node->expr = std::move(list);
      }
      p.expectEnd();
      return node;
    }
    if (keyword == "macro") {
      node->k = Node::K::Macro;
      auto macro = std::make_shared<Macro>();
      macro->name = p.expectName();
      p.expectOp("(");
      while (!p.isOp(")")) {
        macro->params.push_back(p.expectName());
        if (p.isOp("=")) {
          p.next();
          macro->defaults.push_back(p.expression());
        } else {
          macro->defaults.push_back(nullptr);
        }
        if (!p.isOp(","))
          break;
        p.next();
      }
      p.expectOp(")");
      p.expectEnd();
      macro->body = parseBody({"endmacro"}, end);
      node->macro = std::move(macro);
      return node;
    }
    if (keyword == "break" || keyword == "continue") {
      p.expectEnd();
      node->k = keyword == "break" ? Node::K::Break : Node::K::Continue;
      return node;
    }
    if (keyword == "generation") {
      // transformers' marker of assistant text for training masks: renders
      // its body.
      p.expectEnd();
      Body body = parseBody({"endgeneration"}, end);
      endParser_->expectEnd();
      node->k = Node::K::If;
      auto yes = std::make_unique<Expr>();
      yes->k = Expr::K::Literal;
      yes->literal = Value::boolean(true);
      node->branches.emplace_back(std::move(yes), std::move(body));
      return node;
    }
    if (keyword.compare(0, 3, "end") == 0 || keyword == "else" || keyword == "elif")
      fail(line, "unexpected {% " + keyword + " %}");
    fail(line, "unsupported statement {% " + keyword + " %}");
  }

  std::vector<Segment> segments_;
  size_t index_ = 0;
  int depth_ = 0;
  std::unique_ptr<ExprParser> endParser_;
};

//===----------------------------------------------------------------------===//
// Evaluation
//===----------------------------------------------------------------------===//

enum class Flow { Normal, Break, Continue };

std::string stripChars(const std::string &s, const std::string &chars, bool left, bool right) {
  size_t begin = 0, end = s.size();
  while (left && begin < end && chars.find(s[begin]) != std::string::npos)
    ++begin;
  while (right && end > begin && chars.find(s[end - 1]) != std::string::npos)
    --end;
  return s.substr(begin, end - begin);
}
const std::string kWhitespace = " \t\n\r\v\f";

class Renderer {
public:
  Renderer(const std::map<std::string, Value> &globals, std::string &out)
      : globals_(globals), out_(out) {
    scopes_.emplace_back();
  }

  Flow run(const Body &body) {
    for (const NodePtr &node : body) {
      Flow flow = execute(*node);
      if (flow != Flow::Normal)
        return flow;
    }
    return Flow::Normal;
  }

private:
  void step(int line) {
    if (++steps_ > kMaxSteps)
      fail(line, "the template runs too long (over " + std::to_string(kMaxSteps) + " steps)");
  }
  void write(const std::string &text, int line) {
    if (out_.size() + text.size() > kMaxOutput)
      fail(line, "the rendered text exceeds " + std::to_string(kMaxOutput >> 20) + " MiB");
    out_ += text;
  }

  Value lookup(const std::string &name) const {
    for (auto scope = scopes_.rbegin(); scope != scopes_.rend(); ++scope)
      if (auto it = scope->find(name); it != scope->end())
        return it->second;
    if (auto it = globals_.find(name); it != globals_.end())
      return it->second;
    for (const char *builtin : {"raise_exception", "namespace", "range", "dict", "strftime_now"})
      if (name == builtin) {
        Value f;
        f.kind = Value::Kind::Function;
        f.s = name;
        return f;
      }
    return Value();
  }

  Flow execute(const Node &node) {
    step(node.line);
    switch (node.k) {
    case Node::K::Text:
      write(node.text, node.line);
      return Flow::Normal;
    case Node::K::Output:
      write(str(eval(*node.expr)), node.line);
      return Flow::Normal;
    case Node::K::If:
      for (const auto &[condition, body] : node.branches)
        if (!condition || truthy(eval(*condition)))
          return run(body);
      return Flow::Normal;
    case Node::K::For:
      return loop(node);
    case Node::K::Set:
      assign(node, eval(*node.expr));
      return Flow::Normal;
    case Node::K::SetBlock: {
      std::string saved;
      saved.swap(out_);
      run(node.body);
      std::string captured;
      captured.swap(out_);
      out_.swap(saved);
      assign(node, Value::string(std::move(captured)));
      return Flow::Normal;
    }
    case Node::K::Macro: {
      Value macro;
      macro.kind = Value::Kind::Macro;
      macro.macro = node.macro;
      scopes_.back()[node.macro->name] = std::move(macro);
      return Flow::Normal;
    }
    case Node::K::Break:
      return Flow::Break;
    case Node::K::Continue:
      return Flow::Continue;
    }
    return Flow::Normal;
  }

  void assign(const Node &node, Value value) {
    if (node.targets.size() == 1) {
      scopes_.back()[node.targets[0]] = std::move(value);
      return;
    }
    Value target = lookup(node.targets[0]);
    if (target.kind != Value::Kind::Namespace)
      fail(node.line, "cannot set an attribute of '" + node.targets[0] + "', a " +
                          kindName(target) + " (only a namespace())");
    for (auto &[key, v] : *target.dict)
      if (key == node.targets[1]) {
        v = std::move(value);
        return;
      }
    target.dict->emplace_back(node.targets[1], std::move(value));
  }

  List iterate(const Value &v, int line) {
    switch (v.kind) {
    case Value::Kind::Undefined: return {};
    case Value::Kind::List: return *v.list;
    case Value::Kind::Dict: {
      List keys;
      for (const auto &entry : *v.dict)
        keys.push_back(Value::string(entry.first));
      return keys;
    }
    case Value::Kind::String: {
      List chars;
      for (std::string &c : characters(v.s))
        chars.push_back(Value::string(std::move(c)));
      return chars;
    }
    default: fail(line, std::string("a ") + kindName(v) + " is not iterable");
    }
  }

  Flow loop(const Node &node) {
    List items = iterate(eval(*node.expr), node.line);
    auto bind = [&](std::map<std::string, Value> &scope, const Value &item) {
      if (node.targets.size() == 1) {
        scope[node.targets[0]] = item;
        return;
      }
      if (item.kind != Value::Kind::List || item.list->size() != node.targets.size())
        fail(node.line, "cannot unpack a " + std::string(kindName(item)) + " into " +
                            std::to_string(node.targets.size()) + " loop variables");
      for (size_t t = 0; t < node.targets.size(); ++t)
        scope[node.targets[t]] = (*item.list)[t];
    };
    if (node.condition) { // for x in xs if cond: filter first
      List kept;
      for (const Value &item : items) {
        scopes_.emplace_back();
        bind(scopes_.back(), item);
        bool keep = truthy(eval(*node.condition));
        scopes_.pop_back();
        if (keep)
          kept.push_back(item);
      }
      items = std::move(kept);
    }
    if (items.empty())
      return run(node.elseBody) == Flow::Break ? Flow::Break : Flow::Normal;
    auto n = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < n; ++i) {
      step(node.line);
      scopes_.emplace_back();
      bind(scopes_.back(), items[i]);
      Dict info = {{"index0", Value::integer(i)},
                   {"index", Value::integer(i + 1)},
                   {"revindex0", Value::integer(n - i - 1)},
                   {"revindex", Value::integer(n - i)},
                   {"first", Value::boolean(i == 0)},
                   {"last", Value::boolean(i == n - 1)},
                   {"length", Value::integer(n)},
                   {"previtem", i > 0 ? items[i - 1] : Value()},
                   {"nextitem", i + 1 < n ? items[i + 1] : Value()}};
      scopes_.back()["loop"] = Value::makeDict(std::move(info));
      Flow flow = run(node.body);
      scopes_.pop_back();
      if (flow == Flow::Break)
        break;
    }
    return Flow::Normal;
  }

  Value eval(const Expr &e) {
    step(e.line);
    if (++depth_ > kMaxDepth)
      fail(e.line, "evaluation nested too deeply");
    Value v = evalInner(e);
    --depth_;
    return v;
  }

  Value evalInner(const Expr &e) {
    switch (e.k) {
    case Expr::K::Literal: return e.literal;
    case Expr::K::Name: return lookup(e.name);
    case Expr::K::Attr: return attribute(eval(*e.a), e.name);
    case Expr::K::Item: return item(eval(*e.a), eval(*e.b), e.line);
    case Expr::K::Slice: return slice(e);
    case Expr::K::Call: return call(e);
    case Expr::K::Filter: return filter(e);
    case Expr::K::Test: return Value::boolean(test(e) != e.negated);
    case Expr::K::Neg: {
      Value v = eval(*e.a);
      if (v.kind == Value::Kind::Float)
        return Value::number(-v.f);
      if (isNumber(v))
        return Value::integer(-asInt(v));
      fail(e.line, std::string("cannot negate a ") + kindName(v));
    }
    case Expr::K::Not: return Value::boolean(!truthy(eval(*e.a)));
    case Expr::K::And: {
      Value a = eval(*e.a);
      return truthy(a) ? eval(*e.b) : a;
    }
    case Expr::K::Or: {
      Value a = eval(*e.a);
      return truthy(a) ? a : eval(*e.b);
    }
    case Expr::K::Cond:
      if (truthy(eval(*e.a)))
        return eval(*e.b);
      return e.c ? eval(*e.c) : Value();
    case Expr::K::Binary: return binary(e.name, eval(*e.a), eval(*e.b), e.line);
    case Expr::K::Compare: {
      Value left = eval(*e.args[0]);
      for (size_t i = 0; i < e.ops.size(); ++i) {
        Value right = eval(*e.args[i + 1]);
        if (!compareOp(e.ops[i], left, right, e.line))
          return Value::boolean(false);
        left = std::move(right);
      }
      return Value::boolean(true);
    }
    case Expr::K::ListLit: {
      List items;
      for (const ExprPtr &a : e.args)
        items.push_back(eval(*a));
      return e.negated ? Value::makeTuple(std::move(items)) : Value::makeList(std::move(items));
    }
    case Expr::K::DictLit: {
      Dict items;
      for (const auto &[k, v] : e.entries) {
        Value key = eval(*k);
        if (!key.isString())
          fail(e.line, std::string("dict keys must be strings here, not a ") + kindName(key));
        setMember(items, key.s, eval(*v));
      }
      return Value::makeDict(std::move(items));
    }
    }
    fail(e.line, "unknown expression");
  }

  static void setMember(Dict &dict, const std::string &key, Value value) {
    for (auto &[k, v] : dict)
      if (k == key) {
        v = std::move(value);
        return;
      }
    dict.emplace_back(key, std::move(value));
  }

  static Value attribute(const Value &object, const std::string &name) {
    if (const Value *member = object.find(name))
      return *member;
    return Value();
  }

  static bool contains(const Value &container, const Value &v, int line) {
    switch (container.kind) {
    case Value::Kind::String:
      if (!v.isString())
        fail(line, std::string("'in <string>' needs a string, not a ") + kindName(v));
      return container.s.find(v.s) != std::string::npos;
    case Value::Kind::List:
      return std::any_of(container.list->begin(), container.list->end(),
                         [&](const Value &x) { return equals(x, v); });
    case Value::Kind::Dict:
    case Value::Kind::Namespace: return v.isString() && container.find(v.s);
    case Value::Kind::Undefined: return false;
    default: fail(line, std::string("'in' needs a container, not a ") + kindName(container));
    }
  }

  static bool compareOp(const std::string &op, const Value &a, const Value &b, int line) {
    if (op == "==")
      return equals(a, b);
    if (op == "!=")
      return !equals(a, b);
    if (op == "in")
      return contains(b, a, line);
    if (op == "not in")
      return !contains(b, a, line);
    int c = compare(a, b, line);
    return op == "<" ? c < 0 : op == "<=" ? c <= 0 : op == ">" ? c > 0 : c >= 0;
  }

  static Value binary(const std::string &op, const Value &a, const Value &b, int line) {
    if (op == "~")
      return Value::string(str(a) + str(b));
    bool ints = (a.kind == Value::Kind::Int || a.kind == Value::Kind::Bool) &&
                (b.kind == Value::Kind::Int || b.kind == Value::Kind::Bool);
    if (isNumber(a) && isNumber(b)) {
      if (op == "+")
        return ints ? Value::integer(asInt(a) + asInt(b)) : Value::number(asDouble(a) + asDouble(b));
      if (op == "-")
        return ints ? Value::integer(asInt(a) - asInt(b)) : Value::number(asDouble(a) - asDouble(b));
      if (op == "*")
        return ints ? Value::integer(asInt(a) * asInt(b)) : Value::number(asDouble(a) * asDouble(b));
      if (op == "**")
        return ints && asInt(b) >= 0 ? Value::integer(static_cast<int64_t>(
                                           std::pow(double(asInt(a)), double(asInt(b)))))
                                     : Value::number(std::pow(asDouble(a), asDouble(b)));
      if (asDouble(b) == 0)
        fail(line, "division by zero");
      if (op == "/")
        return Value::number(asDouble(a) / asDouble(b));
      if (op == "//") {
        if (ints) {
          int64_t q = asInt(a) / asInt(b);
          if ((asInt(a) % asInt(b) != 0) && ((asInt(a) < 0) != (asInt(b) < 0)))
            --q;
          return Value::integer(q);
        }
        return Value::number(std::floor(asDouble(a) / asDouble(b)));
      }
      if (op == "%") {
        if (ints) {
          int64_t r = asInt(a) % asInt(b);
          if (r != 0 && ((r < 0) != (asInt(b) < 0)))
            r += asInt(b);
          return Value::integer(r);
        }
        double r = std::fmod(asDouble(a), asDouble(b));
        if (r != 0 && ((r < 0) != (asDouble(b) < 0)))
          r += asDouble(b);
        return Value::number(r);
      }
    }
    if (op == "+" && a.isString() && b.isString())
      return Value::string(a.s + b.s);
    if (op == "+" && a.kind == Value::Kind::List && b.kind == Value::Kind::List) {
      List joined = *a.list;
      joined.insert(joined.end(), b.list->begin(), b.list->end());
      return Value::makeList(std::move(joined));
    }
    if (op == "*" && (a.isString() || b.isString()) &&
        (a.kind == Value::Kind::Int || b.kind == Value::Kind::Int)) {
      const std::string &s = a.isString() ? a.s : b.s;
      int64_t n = a.isString() ? b.i : a.i;
      if (n > 0 && s.size() * static_cast<uint64_t>(n) > kMaxOutput)
        fail(line, "a repeated string longer than the output limit");
      std::string out;
      for (int64_t k = 0; k < n; ++k)
        out += s;
      return Value::string(std::move(out));
    }
    fail(line, "unsupported operand types for " + op + ": " + kindName(a) + " and " +
                   kindName(b));
  }

  static Value item(const Value &object, const Value &key, int line) {
    switch (object.kind) {
    case Value::Kind::Dict:
    case Value::Kind::Namespace:
      if (key.isString())
        return attribute(object, key.s);
      return Value();
    case Value::Kind::List:
    case Value::Kind::String: {
      if (key.kind != Value::Kind::Int)
        return Value();
      std::vector<std::string> chars;
      if (object.isString())
        chars = characters(object.s);
      auto n = static_cast<int64_t>(object.isString() ? chars.size() : object.list->size());
      int64_t i = key.i < 0 ? key.i + n : key.i;
      if (i < 0 || i >= n)
        return Value();
      return object.isString() ? Value::string(chars[i]) : (*object.list)[i];
    }
    case Value::Kind::Undefined: return Value();
    default: fail(line, std::string("a ") + kindName(object) + " cannot be subscripted");
    }
  }

  Value slice(const Expr &e) {
    Value object = eval(*e.a);
    int64_t bounds[3];
    bool given[3];
    for (int k = 0; k < 3; ++k) {
      given[k] = e.args[k] != nullptr;
      if (given[k]) {
        Value v = eval(*e.args[k]);
        if (v.kind == Value::Kind::None) {
          given[k] = false;
        } else if (v.kind != Value::Kind::Int) {
          fail(e.line, "slice bounds must be integers");
        } else {
          bounds[k] = v.i;
        }
      }
    }
    int64_t stride = given[2] ? bounds[2] : 1;
    if (stride == 0)
      fail(e.line, "slice step cannot be zero");
    std::vector<std::string> chars;
    if (object.isString())
      chars = characters(object.s);
    else if (object.kind != Value::Kind::List)
      fail(e.line, std::string("a ") + kindName(object) + " cannot be sliced");
    auto n = static_cast<int64_t>(object.isString() ? chars.size() : object.list->size());
    auto clamp = [&](int64_t v, bool isStart) {
      if (v < 0)
        v += n;
      if (stride > 0)
        return std::clamp<int64_t>(v, 0, n);
      (void)isStart;
      return std::clamp<int64_t>(v, -1, n - 1);
    };
    int64_t start = given[0] ? clamp(bounds[0], true) : (stride > 0 ? 0 : n - 1);
    int64_t stop = given[1] ? clamp(bounds[1], false) : (stride > 0 ? n : -1);
    List items;
    std::string text;
    for (int64_t i = start; stride > 0 ? i < stop : i > stop; i += stride) {
      if (object.isString())
        text += chars[i];
      else
        items.push_back((*object.list)[i]);
    }
    return object.isString() ? Value::string(std::move(text)) : Value::makeList(std::move(items));
  }

  struct Args {
    std::vector<Value> positional;
    std::vector<std::pair<std::string, Value>> keyword;
    const Value *get(size_t index, const char *name) const {
      if (index < positional.size())
        return &positional[index];
      for (const auto &[k, v] : keyword)
        if (k == name)
          return &v;
      return nullptr;
    }
  };
  Args arguments(const Expr &e) {
    Args args;
    for (const ExprPtr &a : e.args)
      args.positional.push_back(eval(*a));
    for (const auto &[k, v] : e.kwargs)
      args.keyword.emplace_back(k, eval(*v));
    return args;
  }
  static const std::string &stringArg(const Args &args, size_t index, const char *name,
                                      const char *function, int line) {
    const Value *v = args.get(index, name);
    if (!v || !v->isString())
      fail(line, std::string(function) + " needs a string " + name);
    return v->s;
  }

  Value call(const Expr &e) {
    if (e.a->k == Expr::K::Attr) { // a method
      Value object = eval(*e.a->a);
      Args args = arguments(e);
      return method(object, e.a->name, args, e.line);
    }
    Value callee = eval(*e.a);
    Args args = arguments(e);
    if (callee.kind == Value::Kind::Macro)
      return callMacro(*callee.macro, args, e.line);
    if (callee.isUndefined() && e.a->k == Expr::K::Name)
      fail(e.line, "unknown function '" + e.a->name + "'");
    if (callee.kind != Value::Kind::Function)
      fail(e.line, std::string("a ") + kindName(callee) + " is not callable");
    const std::string &name = callee.s;
    if (name == "raise_exception") {
      const Value *message = args.get(0, "message");
      throw Error{"the chat template raised an error: " + (message ? str(*message) : "")};
    }
    if (name == "namespace" || name == "dict") {
      Dict members;
      for (const Value &v : args.positional) // namespace({...}) / dict({...})
        if (v.kind == Value::Kind::Dict)
          for (const auto &[k, x] : *v.dict)
            setMember(members, k, x);
      for (auto &[k, v] : args.keyword)
        setMember(members, k, v);
      Value out = Value::makeDict(std::move(members));
      if (name == "namespace")
        out.kind = Value::Kind::Namespace;
      return out;
    }
    if (name == "range") {
      int64_t bounds[3] = {0, 0, 1};
      if (args.positional.empty() || args.positional.size() > 3)
        fail(e.line, "range takes 1 to 3 integers");
      for (size_t k = 0; k < args.positional.size(); ++k)
        if (args.positional[k].kind != Value::Kind::Int)
          fail(e.line, "range takes integers");
      if (args.positional.size() == 1) {
        bounds[1] = args.positional[0].i;
      } else {
        for (size_t k = 0; k < args.positional.size(); ++k)
          bounds[k] = args.positional[k].i;
      }
      if (bounds[2] == 0)
        fail(e.line, "range step cannot be zero");
      double count = (double(bounds[1]) - double(bounds[0])) / double(bounds[2]);
      if (count > kMaxRange)
        fail(e.line, "range of over " + std::to_string(kMaxRange) + " numbers");
      List items;
      for (int64_t i = bounds[0]; bounds[2] > 0 ? i < bounds[1] : i > bounds[1]; i += bounds[2]) {
        step(e.line);
        items.push_back(Value::integer(i));
      }
      return Value::makeList(std::move(items));
    }
    if (name == "strftime_now") {
      const std::string &format = stringArg(args, 0, "format", "strftime_now", e.line);
      std::time_t now = std::time(nullptr);
      std::tm local{};
      localtime_r(&now, &local);
      char buffer[256];
      size_t n = std::strftime(buffer, sizeof(buffer), format.c_str(), &local);
      return Value::string(std::string(buffer, n));
    }
    fail(e.line, "unknown function '" + name + "'");
  }

  Value callMacro(const Macro &macro, const Args &args, int line) {
    if (args.positional.size() > macro.params.size())
      fail(line, "macro '" + macro.name + "' takes " + std::to_string(macro.params.size()) +
                     " arguments");
    std::map<std::string, Value> scope;
    for (size_t k = 0; k < macro.params.size(); ++k) {
      if (const Value *v = args.get(k, macro.params[k].c_str()))
        scope[macro.params[k]] = *v;
      else if (macro.defaults[k])
        scope[macro.params[k]] = eval(*macro.defaults[k]);
      else
        scope[macro.params[k]] = Value();
    }
    // A macro sees the template's top-level names and its parameters.
    std::vector<std::map<std::string, Value>> saved;
    saved.swap(scopes_);
    scopes_.push_back(saved.front());
    scopes_.push_back(std::move(scope));
    std::string output;
    output.swap(out_);
    run(macro.body);
    output.swap(out_);
    scopes_.swap(saved);
    return Value::string(std::move(output));
  }

  Value method(const Value &object, const std::string &name, const Args &args, int line) {
    if (object.isString()) {
      const std::string &s = object.s;
      auto chars = [&](size_t index) {
        const Value *v = args.get(index, "chars");
        return v && v->isString() ? v->s : kWhitespace;
      };
      if (name == "strip")
        return Value::string(stripChars(s, chars(0), true, true));
      if (name == "lstrip")
        return Value::string(stripChars(s, chars(0), true, false));
      if (name == "rstrip")
        return Value::string(stripChars(s, chars(0), false, true));
      if (name == "upper" || name == "lower") {
        std::string out = s;
        for (char &c : out)
          c = static_cast<char>(name == "upper" ? std::toupper(static_cast<unsigned char>(c))
                                                : std::tolower(static_cast<unsigned char>(c)));
        return Value::string(std::move(out));
      }
      if (name == "title" || name == "capitalize")
        return filterText(name, s);
      if (name == "startswith" || name == "endswith") {
        const Value *affix = args.get(0, "prefix");
        std::vector<std::string> options;
        if (affix && affix->isString())
          options.push_back(affix->s);
        else if (affix && affix->kind == Value::Kind::List)
          for (const Value &v : *affix->list)
            if (v.isString())
              options.push_back(v.s);
        if (options.empty())
          fail(line, name + " needs a string or a tuple of strings");
        for (const std::string &o : options)
          if (o.size() <= s.size() &&
              (name == "startswith" ? s.compare(0, o.size(), o) == 0
                                    : s.compare(s.size() - o.size(), o.size(), o) == 0))
            return Value::boolean(true);
        return Value::boolean(false);
      }
      if (name == "split" || name == "rsplit")
        return split(s, args, name == "rsplit", line);
      if (name == "replace") {
        const std::string &from = stringArg(args, 0, "old", "replace", line);
        const std::string &to = stringArg(args, 1, "new", "replace", line);
        const Value *count = args.get(2, "count");
        return Value::string(replaceAll(s, from, to, count && count->kind == Value::Kind::Int
                                                         ? count->i
                                                         : -1));
      }
      if (name == "find")
        return Value::integer([&]() -> int64_t {
          size_t at = s.find(stringArg(args, 0, "sub", "find", line));
          return at == std::string::npos ? -1 : static_cast<int64_t>(at);
        }());
      if (name == "count") {
        const std::string &sub = stringArg(args, 0, "sub", "count", line);
        if (sub.empty())
          return Value::integer(static_cast<int64_t>(characters(s).size()) + 1);
        int64_t n = 0;
        for (size_t at = s.find(sub); at != std::string::npos; at = s.find(sub, at + sub.size()))
          ++n;
        return Value::integer(n);
      }
      if (name == "join") {
        const Value *items = args.get(0, "iterable");
        if (!items)
          fail(line, "join needs an iterable");
        std::string out;
        bool first = true;
        for (const Value &v : iterate(*items, line)) {
          if (!v.isString())
            fail(line, std::string("join needs strings, found a ") + kindName(v));
          out += (first ? "" : s) + v.s;
          first = false;
        }
        return Value::string(std::move(out));
      }
      if (name == "isdigit" || name == "isspace" || name == "isalpha") {
        bool all = !s.empty();
        for (unsigned char c : s)
          all = all && (name == "isdigit"   ? std::isdigit(c) != 0
                        : name == "isspace" ? std::isspace(c) != 0
                                            : std::isalpha(c) != 0);
        return Value::boolean(all);
      }
    }
    if (object.kind == Value::Kind::Dict) {
      if (name == "items" || name == "keys" || name == "values") {
        List out;
        for (const auto &[k, v] : *object.dict)
          out.push_back(name == "items"  ? Value::makeTuple({Value::string(k), v})
                        : name == "keys" ? Value::string(k)
                                         : v);
        return Value::makeList(std::move(out));
      }
      if (name == "get") {
        const std::string &key = stringArg(args, 0, "key", "get", line);
        if (const Value *v = object.find(key))
          return *v;
        const Value *fallback = args.get(1, "default");
        return fallback ? *fallback : Value::none();
      }
    }
    if (object.kind == Value::Kind::Dict && name == "cycle" && object.find("index0") &&
        object.find("revindex0")) { // loop.cycle(a, b, ...)
      if (args.positional.empty())
        fail(line, "loop.cycle needs at least one value");
      return args.positional[static_cast<size_t>(object.find("index0")->i) %
                             args.positional.size()];
    }
    if (object.kind == Value::Kind::Dict || object.kind == Value::Kind::Namespace) {
      // A callable member (a macro kept in a dict or namespace).
      if (const Value *member = object.find(name); member && member->kind == Value::Kind::Macro)
        return callMacro(*member->macro, args, line);
    }
    fail(line, "a " + std::string(kindName(object)) + " has no method '" + name + "'");
  }

  static std::string replaceAll(const std::string &s, const std::string &from,
                                const std::string &to, int64_t count) {
    if (from.empty())
      return s; // Python would interleave; no template relies on it
    std::string out;
    size_t pos = 0;
    for (size_t at; count != 0 && (at = s.find(from, pos)) != std::string::npos; --count) {
      out += s.substr(pos, at - pos) + to;
      pos = at + from.size();
    }
    return out + s.substr(pos);
  }

  Value split(const std::string &s, const Args &args, bool fromRight, int line) {
    const Value *sep = args.get(0, "sep");
    const Value *maxValue = args.get(1, "maxsplit");
    int64_t maxSplit = maxValue && maxValue->kind == Value::Kind::Int ? maxValue->i : -1;
    std::vector<std::string> parts;
    if (!sep || sep->kind == Value::Kind::None) { // runs of whitespace
      if (fromRight && maxSplit >= 0)
        fail(line, "rsplit with maxsplit and no separator is not supported");
      size_t i = 0;
      while (true) {
        while (i < s.size() && kWhitespace.find(s[i]) != std::string::npos)
          ++i;
        if (i >= s.size())
          break;
        if (maxSplit >= 0 && static_cast<int64_t>(parts.size()) == maxSplit) {
          parts.push_back(stripChars(s.substr(i), kWhitespace, false, true));
          break;
        }
        size_t end = i;
        while (end < s.size() && kWhitespace.find(s[end]) == std::string::npos)
          ++end;
        parts.push_back(s.substr(i, end - i));
        i = end;
      }
    } else {
      if (!sep->isString() || sep->s.empty())
        fail(line, "split needs a non-empty string separator");
      const std::string &d = sep->s;
      if (!fromRight) {
        size_t pos = 0;
        for (size_t at; (maxSplit < 0 || static_cast<int64_t>(parts.size()) < maxSplit) &&
                        (at = s.find(d, pos)) != std::string::npos;) {
          parts.push_back(s.substr(pos, at - pos));
          pos = at + d.size();
        }
        parts.push_back(s.substr(pos));
      } else {
        size_t end = s.size();
        std::vector<std::string> reversed;
        while (maxSplit < 0 || static_cast<int64_t>(reversed.size()) < maxSplit) {
          if (end < d.size())
            break;
          size_t at = s.rfind(d, end - d.size());
          if (at == std::string::npos)
            break;
          reversed.push_back(s.substr(at + d.size(), end - at - d.size()));
          end = at;
        }
        reversed.push_back(s.substr(0, end));
        parts.assign(reversed.rbegin(), reversed.rend());
      }
    }
    List out;
    for (std::string &p : parts)
      out.push_back(Value::string(std::move(p)));
    return Value::makeList(std::move(out));
  }

  static Value filterText(const std::string &name, const std::string &s) {
    std::string out = s;
    bool startOfWord = true;
    for (size_t i = 0; i < out.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(out[i]);
      if (name == "capitalize")
        out[i] = static_cast<char>(i == 0 ? std::toupper(c) : std::tolower(c));
      else {
        out[i] = static_cast<char>(startOfWord ? std::toupper(c) : std::tolower(c));
        startOfWord = !std::isalnum(c);
      }
    }
    return Value::string(std::move(out));
  }

  /// `item`'s attribute `path` (dotted), as selectattr / map(attribute=) read it.
  static Value attributePath(const Value &item, const std::string &path) {
    Value v = item;
    size_t begin = 0;
    while (true) {
      size_t dot = path.find('.', begin);
      std::string part = path.substr(begin, dot == std::string::npos ? dot : dot - begin);
      if (v.kind == Value::Kind::List && !part.empty() &&
          std::all_of(part.begin(), part.end(), [](char c) { return std::isdigit(c); }))
        v = item_(v, std::stoll(part));
      else
        v = attribute(v, part);
      if (dot == std::string::npos)
        return v;
      begin = dot + 1;
    }
  }
  static Value item_(const Value &list, int64_t i) {
    return i < static_cast<int64_t>(list.list->size()) ? (*list.list)[i] : Value();
  }

  Value filter(const Expr &e) {
    Value v = eval(*e.a);
    Args args = arguments(e);
    const std::string &name = e.name;
    int line = e.line;
    if (name == "trim")
      return Value::string(stripChars(str(v), [&] {
        const Value *c = args.get(0, "chars");
        return c && c->isString() ? c->s : kWhitespace;
      }(), true, true));
    if (name == "length" || name == "count") {
      switch (v.kind) {
      case Value::Kind::String: return Value::integer(static_cast<int64_t>(characters(v.s).size()));
      case Value::Kind::List: return Value::integer(static_cast<int64_t>(v.list->size()));
      case Value::Kind::Dict: return Value::integer(static_cast<int64_t>(v.dict->size()));
      case Value::Kind::Undefined: return Value::integer(0);
      default: fail(line, std::string("a ") + kindName(v) + " has no length");
      }
    }
    if (name == "tojson") {
      const Value *indent = args.get(0, "indent");
      std::string out;
      toJson(v, indent && indent->kind == Value::Kind::Int ? static_cast<int>(indent->i) : -1, 0,
             out, line);
      return Value::string(std::move(out));
    }
    if (name == "string")
      return Value::string(str(v));
    if (name == "upper" || name == "lower")
      return method(Value::string(str(v)), name, {}, line);
    if (name == "capitalize" || name == "title")
      return filterText(name, str(v));
    if (name == "default" || name == "d") {
      const Value *fallback = args.get(0, "default_value");
      const Value *boolean = args.get(1, "boolean");
      bool useFallback = v.isUndefined() || (boolean && truthy(*boolean) && !truthy(v));
      return useFallback ? (fallback ? *fallback : Value::string("")) : v;
    }
    if (name == "first" || name == "last") {
      List items = iterate(v, line);
      if (items.empty())
        return Value();
      return name == "first" ? items.front() : items.back();
    }
    if (name == "list")
      return Value::makeList(iterate(v, line));
    if (name == "reverse") {
      if (v.isString()) {
        std::vector<std::string> chars = characters(v.s);
        std::string out;
        for (auto it = chars.rbegin(); it != chars.rend(); ++it)
          out += *it;
        return Value::string(std::move(out));
      }
      List items = iterate(v, line);
      std::reverse(items.begin(), items.end());
      return Value::makeList(std::move(items));
    }
    if (name == "join") {
      const Value *sep = args.get(0, "d");
      const Value *attr = args.get(1, "attribute");
      std::string out;
      bool first = true;
      for (const Value &item : iterate(v, line)) {
        out += (first ? "" : sep ? str(*sep) : "") +
               str(attr && attr->isString() ? attributePath(item, attr->s) : item);
        first = false;
      }
      return Value::string(std::move(out));
    }
    if (name == "replace") {
      const Value *count = args.get(2, "count");
      return Value::string(replaceAll(str(v), stringArg(args, 0, "old", "replace", line),
                                      stringArg(args, 1, "new", "replace", line),
                                      count && count->kind == Value::Kind::Int ? count->i : -1));
    }
    if (name == "items") {
      if (v.kind == Value::Kind::Undefined)
        return Value::makeList();
      if (v.kind != Value::Kind::Dict)
        fail(line, std::string("items needs a dict, not a ") + kindName(v));
      return method(v, "items", {}, line);
    }
    if (name == "selectattr" || name == "rejectattr" || name == "select" || name == "reject") {
      bool byAttribute = name == "selectattr" || name == "rejectattr";
      bool keepWhen = name == "selectattr" || name == "select";
      std::string attr;
      size_t testIndex = 0;
      if (byAttribute) {
        attr = stringArg(args, 0, "attribute", name.c_str(), line);
        testIndex = 1;
      }
      List kept;
      for (const Value &item : iterate(v, line)) {
        Value subject = byAttribute ? attributePath(item, attr) : item;
        bool passes;
        if (testIndex < args.positional.size()) {
          const Value &testName = args.positional[testIndex];
          if (!testName.isString())
            fail(line, name + " needs a test name");
          std::vector<Value> testArgs(args.positional.begin() + testIndex + 1,
                                      args.positional.end());
          passes = applyTest(testName.s, subject, testArgs, line);
        } else {
          passes = truthy(subject);
        }
        if (passes == keepWhen)
          kept.push_back(item);
      }
      return Value::makeList(std::move(kept));
    }
    if (name == "map") {
      List out;
      const Value *attr = args.get(99, "attribute");
      const Value *fallback = args.get(99, "default");
      for (const Value &item : iterate(v, line)) {
        if (attr && attr->isString()) {
          Value x = attributePath(item, attr->s);
          out.push_back(x.isUndefined() && fallback ? *fallback : x);
        } else if (!args.positional.empty() && args.positional[0].isString()) {
          auto call = std::make_unique<Expr>();
          call->k = Expr::K::Filter;
          call->line = line;
          call->name = args.positional[0].s;
          call->a = std::make_unique<Expr>();
          call->a->k = Expr::K::Literal;
          call->a->literal = item;
          out.push_back(filter(*call));
        } else {
          fail(line, "map needs attribute= or a filter name");
        }
      }
      return Value::makeList(std::move(out));
    }
    if (name == "unique") {
      List out;
      for (const Value &item : iterate(v, line))
        if (std::none_of(out.begin(), out.end(), [&](const Value &x) { return equals(x, item); }))
          out.push_back(item);
      return Value::makeList(std::move(out));
    }
    if (name == "sort") {
      List items = iterate(v, line);
      const Value *reverse = args.get(0, "reverse");
      const Value *attr = args.get(2, "attribute");
      std::stable_sort(items.begin(), items.end(), [&](const Value &x, const Value &y) {
        Value a = attr && attr->isString() ? attributePath(x, attr->s) : x;
        Value b = attr && attr->isString() ? attributePath(y, attr->s) : y;
        return compare(a, b, line) < 0;
      });
      if (reverse && truthy(*reverse))
        std::reverse(items.begin(), items.end());
      return Value::makeList(std::move(items));
    }
    if (name == "int") {
      if (v.kind == Value::Kind::Float)
        return Value::integer(static_cast<int64_t>(v.f));
      if (isNumber(v))
        return Value::integer(asInt(v));
      if (v.isString()) {
        char *end = nullptr;
        long long n = std::strtoll(v.s.c_str(), &end, 10);
        if (end && *end == '\0' && !v.s.empty())
          return Value::integer(n);
      }
      const Value *fallback = args.get(0, "default");
      return fallback ? *fallback : Value::integer(0);
    }
    if (name == "float") {
      if (isNumber(v))
        return Value::number(asDouble(v));
      if (v.isString()) {
        char *end = nullptr;
        double f = std::strtod(v.s.c_str(), &end);
        if (end && *end == '\0' && !v.s.empty())
          return Value::number(f);
      }
      return Value::number(0);
    }
    if (name == "abs") {
      if (v.kind == Value::Kind::Float)
        return Value::number(std::fabs(v.f));
      if (isNumber(v))
        return Value::integer(std::llabs(asInt(v)));
      fail(line, std::string("abs needs a number, not a ") + kindName(v));
    }
    if (name == "safe")
      return v;
    if (name == "indent") { // as jinja2's do_indent
      const Value *width = args.get(0, "width");
      const Value *first = args.get(1, "first");
      const Value *blank = args.get(2, "blank");
      std::string pad = width && width->isString()
                            ? width->s
                            : std::string(width && isNumber(*width) ? asInt(*width) : 4, ' ');
      // (str(v) + "\n").splitlines(): the lines, a final newline dropped.
      std::string text = str(v) + "\n";
      std::vector<std::string> lines;
      for (size_t start = 0, nl; (nl = text.find('\n', start)) != std::string::npos;
           start = nl + 1)
        lines.push_back(text.substr(start, nl - start));
      std::string out = lines.front();
      for (size_t i = 1; i < lines.size(); ++i)
        out += "\n" + ((blank && truthy(*blank)) || !lines[i].empty() ? pad : "") + lines[i];
      return Value::string(first && truthy(*first) ? pad + out : out);
    }
    if (name == "sum" || name == "min" || name == "max") {
      const Value *attr = args.get(name == "sum" ? 0 : 1, "attribute");
      List items = iterate(v, line);
      if (attr && attr->isString())
        for (Value &item : items)
          item = attributePath(item, attr->s);
      if (name == "sum") {
        const Value *start = args.get(1, "start");
        Value total = start ? *start : Value::integer(0);
        for (const Value &item : items)
          total = binary("+", total, item, line);
        return total;
      }
      if (items.empty())
        return Value();
      Value best = items.front();
      for (const Value &item : items)
        if (name == "min" ? compare(item, best, line) < 0 : compare(item, best, line) > 0)
          best = item;
      return best;
    }
    if (name == "round") {
      const Value *precision = args.get(0, "precision");
      const Value *method = args.get(1, "method");
      double scale = std::pow(10.0, precision && isNumber(*precision) ? asInt(*precision) : 0);
      double x = asDouble(isNumber(v) ? v : Value::number(0)) * scale;
      std::string how = method && method->isString() ? method->s : "common";
      // "common" is Python's round(): halves to even.
      double r = how == "ceil" ? std::ceil(x) : how == "floor" ? std::floor(x) : std::nearbyint(x);
      return Value::number(r / scale);
    }
    if (name == "wordcount") { // runs of \w, as jinja2 counts them
      int64_t words = 0;
      bool inWord = false;
      for (unsigned char c : str(v)) {
        bool word = std::isalnum(c) || c == '_' || c >= 0x80;
        words += word && !inWord;
        inWord = word;
      }
      return Value::integer(words);
    }
    if (name == "dictsort") { // by key, case-insensitively unless case_sensitive
      if (v.kind != Value::Kind::Dict)
        fail(line, std::string("dictsort needs a dict, not a ") + kindName(v));
      const Value *caseSensitive = args.get(0, "case_sensitive");
      const Value *by = args.get(1, "by");
      const Value *reverse = args.get(2, "reverse");
      bool byValue = by && by->isString() && by->s == "value";
      auto key = [&](const std::pair<std::string, Value> &entry) {
        Value k = byValue ? entry.second : Value::string(entry.first);
        if (k.isString() && !(caseSensitive && truthy(*caseSensitive)))
          for (char &c : k.s)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return k;
      };
      Dict entries = *v.dict;
      std::stable_sort(entries.begin(), entries.end(), [&](const auto &a, const auto &b) {
        return compare(key(a), key(b), line) < 0;
      });
      if (reverse && truthy(*reverse))
        std::reverse(entries.begin(), entries.end());
      List out;
      for (auto &[k, x] : entries)
        out.push_back(Value::makeTuple({Value::string(k), x}));
      return Value::makeList(std::move(out));
    }
    if (name == "escape" || name == "e") {
      std::string out;
      for (char c : str(v)) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&#34;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
        }
      }
      return Value::string(std::move(out));
    }
    fail(line, "unknown filter '" + name + "'");
  }

  bool test(const Expr &e) {
    Value v = eval(*e.a);
    Args args = arguments(e);
    return applyTest(e.name, v, args.positional, e.line);
  }

  static bool applyTest(const std::string &name, const Value &v, const std::vector<Value> &args,
                        int line) {
    auto arg = [&](size_t i) -> const Value & {
      if (i >= args.size())
        fail(line, "the test '" + name + "' needs an argument");
      return args[i];
    };
    if (name == "defined")
      return !v.isUndefined();
    if (name == "undefined")
      return v.isUndefined();
    if (name == "none")
      return v.kind == Value::Kind::None;
    if (name == "string")
      return v.isString();
    if (name == "number")
      return v.kind == Value::Kind::Int || v.kind == Value::Kind::Float;
    if (name == "integer")
      return v.kind == Value::Kind::Int;
    if (name == "float")
      return v.kind == Value::Kind::Float;
    if (name == "boolean")
      return v.kind == Value::Kind::Bool;
    if (name == "true" || name == "false")
      return v.kind == Value::Kind::Bool && v.b == (name == "true");
    if (name == "mapping")
      return v.kind == Value::Kind::Dict;
    if (name == "iterable")
      return v.kind == Value::Kind::List || v.kind == Value::Kind::Dict || v.isString() ||
             v.isUndefined();
    if (name == "sequence")
      return v.kind == Value::Kind::List || v.kind == Value::Kind::Dict || v.isString();
    if (name == "callable")
      return v.kind == Value::Kind::Macro || v.kind == Value::Kind::Function;
    if (name == "even" || name == "odd") {
      if (v.kind != Value::Kind::Int)
        fail(line, "the test '" + name + "' needs an integer");
      return (v.i % 2 == 0) == (name == "even");
    }
    if (name == "divisibleby") {
      const Value &d = arg(0);
      if (v.kind != Value::Kind::Int || d.kind != Value::Kind::Int || d.i == 0)
        fail(line, "divisibleby needs integers (and a non-zero divisor)");
      return v.i % d.i == 0;
    }
    if (name == "eq" || name == "equalto" || name == "==" || name == "sameas")
      return equals(v, arg(0));
    if (name == "ne" || name == "!=")
      return !equals(v, arg(0));
    if (name == "lt" || name == "<")
      return compare(v, arg(0), line) < 0;
    if (name == "le" || name == "<=")
      return compare(v, arg(0), line) <= 0;
    if (name == "gt" || name == ">")
      return compare(v, arg(0), line) > 0;
    if (name == "ge" || name == ">=")
      return compare(v, arg(0), line) >= 0;
    if (name == "in")
      return contains(arg(0), v, line);
    if (name == "lower" || name == "upper") {
      if (!v.isString())
        return false;
      for (unsigned char c : v.s)
        if (name == "lower" ? std::isupper(c) : std::islower(c))
          return false;
      return true;
    }
    fail(line, "unknown test '" + name + "'");
  }

  const std::map<std::string, Value> &globals_;
  std::string &out_;
  std::vector<std::map<std::string, Value>> scopes_;
  int64_t steps_ = 0;
  int depth_ = 0;
};

} // namespace

struct Template::Impl {
  Body body;
};

Template::Template(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Template::~Template() = default;
Template::Template(Template &&) noexcept = default;

std::unique_ptr<Template> Template::parse(std::string_view source, std::string &error) {
  try {
    auto impl = std::make_unique<Impl>();
    impl->body = Parser(lex(source)).parseTemplate();
    return std::unique_ptr<Template>(new Template(std::move(impl)));
  } catch (const Error &e) {
    error = e.message;
    return nullptr;
  }
}

bool Template::render(const std::map<std::string, Value> &globals, std::string &out,
                      std::string &error) const {
  out.clear();
  try {
    Renderer(globals, out).run(impl_->body);
    return true;
  } catch (const Error &e) {
    error = e.message;
    return false;
  }
}

} // namespace lazyc::rt::jinja
