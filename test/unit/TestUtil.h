//===- TestUtil.h - shared helpers of the unit tests ------------*- C++ -*-===//
#ifndef LAZYC_TEST_UNIT_TESTUTIL_H
#define LAZYC_TEST_UNIT_TESTUTIL_H

#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace lazyc::test {

/// sum_i bits(values[i]) * (2i + 1) mod 2^64: mirrors checksum() in
/// test/fixtures/make_fixtures.py; any change to one value changes it.
inline uint64_t checksum(const std::vector<float> &values) {
  uint64_t sum = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &values[i], sizeof(bits));
    sum += static_cast<uint64_t>(bits) * (2 * static_cast<uint64_t>(i) + 1);
  }
  return sum;
}

/// One tokenizer fixture case: a text and the reference token ids.
struct TokenizerCase {
  std::string text;
  std::vector<int32_t> ids;
};

/// Reads a tokenizer fixture ("<byte length>\n<text>\n<ids>\n" per case).
inline std::vector<TokenizerCase> readTokenizerCases(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<TokenizerCase> cases;
  std::string line;
  while (std::getline(in, line)) {
    TokenizerCase c;
    c.text.resize(std::stoul(line));
    in.read(c.text.data(), static_cast<std::streamsize>(c.text.size()));
    in.get(); // the newline after the text
    std::getline(in, line);
    std::istringstream ids(line);
    int32_t id;
    while (ids >> id)
      c.ids.push_back(id);
    cases.push_back(std::move(c));
  }
  return cases;
}

} // namespace lazyc::test

#endif // LAZYC_TEST_UNIT_TESTUTIL_H
