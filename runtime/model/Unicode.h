//===- Unicode.h - UTF-8 and character classes for tokenizers ---*- C++ -*-===//
#ifndef LAZYC_RUNTIME_MODEL_UNICODE_H
#define LAZYC_RUNTIME_MODEL_UNICODE_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lazyc::rt::unicode {

struct CodepointRange {
  uint32_t first, last;
};
extern const CodepointRange kLetterRanges[];
extern const size_t kLetterRangesCount;
extern const CodepointRange kNumberRanges[];
extern const size_t kNumberRangesCount;
extern const CodepointRange kUpperClassRanges[];
extern const size_t kUpperClassRangesCount;
extern const CodepointRange kLowerClassRanges[];
extern const size_t kLowerClassRangesCount;

bool isLetter(uint32_t cp);   // \p{L}
bool isNumber(uint32_t cp);   // \p{N}
bool isWhitespace(uint32_t cp); // \s (Unicode White_Space)
/// The Tekken / o200k pattern's letter classes: [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]
/// (upper case, or no case) and [\p{Ll}\p{Lm}\p{Lo}\p{M}] (lower, or none).
bool isUpperClass(uint32_t cp);
bool isLowerClass(uint32_t cp);

/// Decodes UTF-8 into code points with the byte offset of each. Fails on
/// invalid UTF-8 (overlong forms, surrogates, truncated sequences), setting
/// `error` with the byte offset.
bool decodeUtf8(std::string_view text, std::vector<uint32_t> &codepoints,
                std::vector<size_t> &offsets, std::string &error);
void appendUtf8(uint32_t cp, std::string &out);

} // namespace lazyc::rt::unicode

#endif // LAZYC_RUNTIME_MODEL_UNICODE_H
