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
extern const CodepointRange kPunctuationRanges[];
extern const size_t kPunctuationRangesCount;

/// Canonical combining classes: each code point in [first, last] has class
/// `ccc` (every other code point 0).
struct CombiningClassRange {
  uint32_t first, last;
  uint8_t ccc;
};
extern const CombiningClassRange kCombiningClasses[];
extern const size_t kCombiningClassesCount;
/// A canonical decomposition, one level: `cp` to `first` (and `second`; 0 for a
/// singleton), `composes` when NFC composes the pair back into `cp`. Sorted by
/// `cp`; Hangul syllables are not listed (algorithmic).
struct Decomposition {
  uint32_t cp, first, second;
  bool composes;
};
extern const Decomposition kDecompositions[];
extern const size_t kDecompositionsCount;

bool isLetter(uint32_t cp);   // \p{L}
bool isNumber(uint32_t cp);   // \p{N}
bool isWhitespace(uint32_t cp); // \s (Unicode White_Space)
/// The Tekken / o200k pattern's letter classes: [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]
/// (upper case, or no case) and [\p{Ll}\p{Lm}\p{Lo}\p{M}] (lower, or none).
bool isUpperClass(uint32_t cp);
bool isLowerClass(uint32_t cp);
/// Hugging Face tokenizers' Punctuation pre-tokenizer's class: ASCII
/// punctuation (its 32 characters, `$+<=>^`|~` among them) or \p{P}.
bool isPunctuation(uint32_t cp);

/// Decodes UTF-8 into code points with the byte offset of each. Fails on
/// invalid UTF-8 (overlong forms, surrogates, truncated sequences), setting
/// `error` with the byte offset.
bool decodeUtf8(std::string_view text, std::vector<uint32_t> &codepoints,
                std::vector<size_t> &offsets, std::string &error);
void appendUtf8(uint32_t cp, std::string &out);

/// The canonical combining class of `cp` (0: a starter).
uint8_t combiningClass(uint32_t cp);
/// Unicode Normalization Form C (UAX #15: canonical decomposition, canonical
/// ordering of combining marks, canonical composition) of `codepoints`, as
/// Hugging Face tokenizers' NFC normalizer computes it. Returns false, leaving
/// `out` untouched, when the text is NFC already (every code point below
/// U+0300, the common case, is decided without the tables).
bool toNFC(const uint32_t *begin, const uint32_t *end, std::vector<uint32_t> &out);
inline bool toNFC(const std::vector<uint32_t> &codepoints, std::vector<uint32_t> &out) {
  return toNFC(codepoints.data(), codepoints.data() + codepoints.size(), out);
}

} // namespace lazyc::rt::unicode

#endif // LAZYC_RUNTIME_MODEL_UNICODE_H
