//===- Jinja.h - the Jinja subset chat templates are written in -*- C++ -*-===//
//
// Chat templates (GGUF tokenizer.chat_template, a Hugging Face checkpoint's
// chat_template.jinja / tokenizer_config.json) are Jinja2 programs that
// transformers renders in a sandbox with trim_blocks, lstrip_blocks and the
// loop controls. This is an interpreter for the part of Jinja2 they use:
//   * {{ }}, {% %}, {# #} with whitespace control ("-"), trim_blocks and
//     lstrip_blocks as transformers sets them;
//   * if/elif/else, for (tuple targets, an `if` filter, else, loop.index0 /
//     index / first / last / length / revindex..., break, continue), set
//     (names, namespace attributes, blocks), macros with defaults and
//     keyword arguments, {% generation %} (transformers' marker: no-op);
//   * expressions with Jinja's precedence: literals, lists, dicts, attribute
//     and item access, slices, calls, filters, tests, arithmetic, ~, in,
//     comparisons, and/or/not, inline if/else;
//   * Python's str/dict/list methods templates call (strip, split,
//     startswith, replace, items, get, ...), the filters and tests of
//     jinja2's builtins that templates use, transformers' tojson, and the
//     globals raise_exception, namespace, range, dict and strftime_now.
// Values print as Python prints them. Anything else is an error naming the
// construct and the line, never silently skipped. Bounded: nesting depth,
// loop iterations and output size are capped, so an untrusted template
// cannot exhaust the stack or memory.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_RUNTIME_MODEL_JINJA_H
#define LAZYC_RUNTIME_MODEL_JINJA_H

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lazyc::rt::jinja {

struct Value;
using List = std::vector<Value>;
/// Insertion-ordered, as Python dicts are.
using Dict = std::vector<std::pair<std::string, Value>>;
struct Macro;

/// A Jinja value. Lists, dicts and namespaces are shared (a namespace is
/// mutated through `set ns.attr`).
struct Value {
  enum class Kind {
    Undefined, None, Bool, Int, Float, String, List, Dict, Namespace, Macro, Function
  };
  Kind kind = Kind::Undefined;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s; // String; Function: the builtin's name
  std::shared_ptr<List> list;
  std::shared_ptr<Dict> dict; // Dict and Namespace
  std::shared_ptr<const Macro> macro;
  bool tuple = false; // a List that Python would hold as a tuple (prints "(a, b)")

  Value() = default;
  static Value none();
  static Value boolean(bool v);
  static Value integer(int64_t v);
  static Value number(double v);
  static Value string(std::string v);
  static Value makeList(List items = {});
  static Value makeTuple(List items);
  static Value makeDict(Dict items = {});

  bool isUndefined() const { return kind == Kind::Undefined; }
  bool isString() const { return kind == Kind::String; }
  /// The member `key` of a dict or namespace, or null.
  const Value *find(std::string_view key) const;
};

/// A parsed template. Render it any number of times.
class Template {
public:
  ~Template();
  Template(Template &&) noexcept;
  /// Parses `source`; null + `error` (with the line) on a syntax error or a
  /// construct outside the subset.
  static std::unique_ptr<Template> parse(std::string_view source, std::string &error);
  /// Renders with the given global variables. False + `error` when the
  /// template raises (raise_exception), fails (a type error, an unknown
  /// filter) or exceeds the limits.
  bool render(const std::map<std::string, Value> &globals, std::string &out,
              std::string &error) const;

  struct Impl;

private:
  explicit Template(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

} // namespace lazyc::rt::jinja

#endif // LAZYC_RUNTIME_MODEL_JINJA_H
