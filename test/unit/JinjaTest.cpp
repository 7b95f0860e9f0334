//===- JinjaTest.cpp - the chat-template interpreter's errors and limits --===//
//
// What it renders is checked against jinja2 in TokenizerTest's
// ChatTemplateTest (test/fixtures/chat-templates/interpreter-features.jinja
// and real templates); here, that bad templates fail with a message naming
// the problem and the line, and that hostile ones stop at the limits.
//
//===----------------------------------------------------------------------===//

#include "runtime/model/Jinja.h"

#include <gtest/gtest.h>

using namespace lazyc::rt::jinja;

namespace {

std::string render(const std::string &source, std::string &error,
                   const std::map<std::string, Value> &globals = {}) {
  error.clear();
  auto compiled = Template::parse(source, error);
  if (!compiled)
    return "<parse error>";
  std::string out;
  if (!compiled->render(globals, out, error))
    return "<render error>";
  return out;
}

TEST(JinjaTest, RendersWithGlobals) {
  std::string error;
  Value messages = Value::makeList({Value::makeDict({{"role", Value::string("user")}})});
  EXPECT_EQ(render("{% for m in messages %}{{ m.role }}{% endfor %} {{ n + 1 }}", error,
                   {{"messages", messages}, {"n", Value::integer(41)}}),
            "user 42")
      << error;
  // A template is parsed once and rendered any number of times.
  auto compiled = Template::parse("{{ x }}", error);
  ASSERT_TRUE(compiled);
  std::string out;
  ASSERT_TRUE(compiled->render({{"x", Value::string("a")}}, out, error));
  EXPECT_EQ(out, "a");
  ASSERT_TRUE(compiled->render({{"x", Value::integer(7)}}, out, error));
  EXPECT_EQ(out, "7");
}

TEST(JinjaTest, SyntaxErrorsNameTheLine) {
  struct Case {
    const char *source, *error;
  };
  for (const Case &c : std::vector<Case>{
           {"a\n{% if x %}b", "chat template line 2: missing {% endif %}"},
           {"{% for x in y %}\n{% endif %}", "chat template line 2: unexpected {% endif %}"},
           {"\n\n{{ 'abc }}", "chat template line 3: unterminated string literal"},
           {"{{ x", "chat template line 1: unclosed tag (no '}}')"},
           {"{# never closed", "chat template line 1: unclosed comment"},
           {"{% include 'other.jinja' %}",
            "chat template line 1: unsupported statement {% include %}"},
           {"{{ x $ y }}", "chat template line 1: unexpected character '$'"},
           {"{{ (1 + }}", "chat template line 1: expected an expression, found the end of the tag"},
           {"{% set a, b = 1, 2 %}",
            "chat template line 1: tuple assignment in {% set %} is not supported"},
           {"{{ 99999999999999999999 }}", "chat template line 1: integer literal out of range"},
       }) {
    std::string error;
    EXPECT_EQ(render(c.source, error), "<parse error>") << c.source;
    EXPECT_EQ(error, c.error) << c.source;
  }
}

TEST(JinjaTest, RenderErrorsNameTheProblem) {
  struct Case {
    const char *source, *error;
  };
  for (const Case &c : std::vector<Case>{
           {"{{ raise_exception('no system role') }}",
            "the chat template raised an error: no system role"},
           {"\n{{ 'a' + 1 }}", "chat template line 2: unsupported operand types for +: string and int"},
           {"{{ 1 / 0 }}", "chat template line 1: division by zero"},
           {"{{ x|nope }}", "chat template line 1: unknown filter 'nope'"},
           {"{{ x is nope }}", "chat template line 1: unknown test 'nope'"},
           {"{{ frobnicate(1) }}", "chat template line 1: unknown function 'frobnicate'"},
           {"{{ 'a'.frobnicate() }}", "chat template line 1: a string has no method 'frobnicate'"},
           {"{% set x = 1 %}{% set x.y = 2 %}",
            "chat template line 1: cannot set an attribute of 'x', a int (only a namespace())"},
           {"{% for a, b in [1] %}{% endfor %}",
            "chat template line 1: cannot unpack a int into 2 loop variables"},
           {"{{ [1] < 'a' }}", "chat template line 1: cannot order a list and a string"},
           {"{{ {'a': 1}|tojson }}{{ x|tojson }}",
            "chat template line 1: tojson: a undefined is not JSON serializable"},
           {"{% for x in 5 %}{% endfor %}", "chat template line 1: a int is not iterable"},
       }) {
    std::string error;
    EXPECT_EQ(render(c.source, error), "<render error>") << c.source;
    EXPECT_EQ(error, c.error) << c.source;
  }
}

TEST(JinjaTest, HostileTemplatesStopAtTheLimits) {
  std::string error;
  // Deep nesting: an error, not a stack overflow.
  std::string deep = "{{ " + std::string(100000, '(') + "1" + std::string(100000, ')') + " }}";
  EXPECT_EQ(render(deep, error), "<parse error>");
  EXPECT_NE(error.find("nested too deeply"), std::string::npos) << error;
  std::string blocks;
  for (int i = 0; i < 1000; ++i)
    blocks += "{% if true %}";
  EXPECT_EQ(render(blocks, error), "<parse error>");
  EXPECT_NE(error.find("nested too deeply"), std::string::npos) << error;
  // A macro calling itself.
  EXPECT_EQ(render("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", error), "<render error>");
  EXPECT_NE(error.find("nested too deeply"), std::string::npos) << error;
  // Runaway loops and output.
  EXPECT_EQ(render("{% for i in range(1000000000) %}{% endfor %}", error), "<render error>");
  EXPECT_NE(error.find("range of over 1000000 numbers"), std::string::npos) << error;
  EXPECT_EQ(render("{% for i in range(1000000) %}{% for j in range(1000000) %}{% endfor %}"
                   "{% endfor %}",
                   error),
            "<render error>");
  EXPECT_NE(error.find("runs too long"), std::string::npos) << error;
  EXPECT_EQ(render("{{ 'x' * 1000000000000 }}", error), "<render error>");
  EXPECT_NE(error.find("longer than the output limit"), std::string::npos) << error;
  EXPECT_EQ(render("{% for i in range(100000) %}{{ 'y' * 1000 }}{% endfor %}", error),
            "<render error>");
  EXPECT_NE(error.find("exceeds 64 MiB"), std::string::npos) << error;
}

TEST(JinjaTest, ScopesFollowJinja) {
  std::string error;
  // A loop body's set does not outlive its iteration; a namespace's does.
  EXPECT_EQ(render("{% set x = 0 %}{% set ns = namespace(x=0) %}{% for i in [1, 2] %}"
                   "{% set x = i %}{% set ns.x = ns.x + i %}{% endfor %}{{ x }} {{ ns.x }}",
                   error),
            "0 3")
      << error;
  // if blocks share the enclosing scope; a macro sees top-level names only.
  EXPECT_EQ(render("{% if true %}{% set y = 5 %}{% endif %}{{ y }}"
                   "{% macro m() %}{{ y }}{{ i }}{% endmacro %}{% for i in [9] %}{{ m() }}{% endfor %}",
                   error),
            "55")
      << error;
}

} // namespace
