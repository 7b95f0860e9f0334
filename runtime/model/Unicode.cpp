//===- Unicode.cpp - UTF-8 and character classes ---------------------------===//

#include "runtime/model/Unicode.h"

#include <algorithm>

namespace lazyc::rt::unicode {

static bool inRanges(const CodepointRange *ranges, size_t count, uint32_t cp) {
  const CodepointRange *end = ranges + count;
  const CodepointRange *it = std::upper_bound(
      ranges, end, cp, [](uint32_t v, const CodepointRange &r) { return v < r.first; });
  return it != ranges && cp <= (it - 1)->last;
}

bool isLetter(uint32_t cp) {
  if (cp < 0x80)
    return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
  return inRanges(kLetterRanges, kLetterRangesCount, cp);
}

bool isNumber(uint32_t cp) {
  if (cp < 0x80)
    return cp >= '0' && cp <= '9';
  return inRanges(kNumberRanges, kNumberRangesCount, cp);
}

bool isUpperClass(uint32_t cp) {
  if (cp < 0x80)
    return cp >= 'A' && cp <= 'Z';
  return inRanges(kUpperClassRanges, kUpperClassRangesCount, cp);
}

bool isLowerClass(uint32_t cp) {
  if (cp < 0x80)
    return cp >= 'a' && cp <= 'z';
  return inRanges(kLowerClassRanges, kLowerClassRangesCount, cp);
}

bool isWhitespace(uint32_t cp) {
  switch (cp) {
  case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20:
  case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
  case 0x202F: case 0x205F: case 0x3000:
    return true;
  default:
    return cp >= 0x2000 && cp <= 0x200A;
  }
}

bool decodeUtf8(std::string_view text, std::vector<uint32_t> &codepoints,
                std::vector<size_t> &offsets, std::string &error) {
  codepoints.clear();
  offsets.clear();
  const auto *s = reinterpret_cast<const unsigned char *>(text.data());
  size_t n = text.size();
  for (size_t i = 0; i < n;) {
    unsigned char c = s[i];
    uint32_t cp;
    size_t len;
    if (c < 0x80) {
      cp = c;
      len = 1;
    } else if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1F;
      len = 2;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0F;
      len = 3;
    } else if ((c & 0xF8) == 0xF0) {
      cp = c & 0x07;
      len = 4;
    } else {
      error = "invalid UTF-8 at byte " + std::to_string(i);
      return false;
    }
    if (i + len > n) {
      error = "truncated UTF-8 sequence at byte " + std::to_string(i);
      return false;
    }
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) {
        error = "invalid UTF-8 at byte " + std::to_string(i + k);
        return false;
      }
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    static const uint32_t minimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < minimum[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      error = "invalid UTF-8 (overlong, surrogate or out of range) at byte " +
              std::to_string(i);
      return false;
    }
    codepoints.push_back(cp);
    offsets.push_back(i);
    i += len;
  }
  offsets.push_back(n);
  return true;
}

void appendUtf8(uint32_t cp, std::string &out) {
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

} // namespace lazyc::rt::unicode
