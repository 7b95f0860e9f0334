//===- Unicode.cpp - UTF-8 and character classes ---------------------------===//

#include "runtime/model/Unicode.h"

#include <algorithm>
#include <cstdint>
#include <utility>

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

bool isPunctuation(uint32_t cp) {
  if (cp < 0x80)
    return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) || (cp >= 0x5B && cp <= 0x60) ||
           (cp >= 0x7B && cp <= 0x7E);
  return inRanges(kPunctuationRanges, kPunctuationRangesCount, cp);
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

//===----------------------------------------------------------------------===//
// NFC
//===----------------------------------------------------------------------===//

uint8_t combiningClass(uint32_t cp) {
  if (cp < 0x300)
    return 0;
  const CombiningClassRange *end = kCombiningClasses + kCombiningClassesCount;
  const CombiningClassRange *it =
      std::upper_bound(kCombiningClasses, end, cp,
                       [](uint32_t v, const CombiningClassRange &r) { return v < r.first; });
  return it != kCombiningClasses && cp <= (it - 1)->last ? (it - 1)->ccc : 0;
}

namespace {
// Hangul syllables (UAX #15 / Unicode 3.12): S = SBase + (L * VCount + V) *
// TCount + T.
constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount,
                   kSCount = kLCount * kNCount;

const Decomposition *findDecomposition(uint32_t cp) {
  const Decomposition *end = kDecompositions + kDecompositionsCount;
  const Decomposition *it = std::lower_bound(
      kDecompositions, end, cp, [](const Decomposition &d, uint32_t v) { return d.cp < v; });
  return it != end && it->cp == cp ? it : nullptr;
}

/// Appends the full canonical decomposition of `cp` to `out`.
void decompose(uint32_t cp, std::vector<uint32_t> &out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const uint32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount)
      out.push_back(kTBase + s % kTCount);
    return;
  }
  const Decomposition *d = cp < 0xC0 ? nullptr : findDecomposition(cp);
  if (!d) {
    out.push_back(cp);
    return;
  }
  decompose(d->first, out);
  if (d->second)
    decompose(d->second, out);
}

/// The primary composite of `a` followed by `b`, or 0.
uint32_t compose(uint32_t a, uint32_t b,
                 const std::vector<std::pair<uint64_t, uint32_t>> &pairs) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
      b < kTBase + kTCount)
    return a + (b - kTBase);
  const uint64_t key = (uint64_t(a) << 32) | b;
  auto it = std::lower_bound(pairs.begin(), pairs.end(), std::make_pair(key, uint32_t(0)));
  return it != pairs.end() && it->first == key ? it->second : 0;
}

/// The composable pairs, (first << 32 | second) -> composite, sorted.
const std::vector<std::pair<uint64_t, uint32_t>> &compositions() {
  static const std::vector<std::pair<uint64_t, uint32_t>> pairs = [] {
    std::vector<std::pair<uint64_t, uint32_t>> out;
    for (size_t i = 0; i < kDecompositionsCount; ++i)
      if (const Decomposition &d = kDecompositions[i]; d.composes)
        out.push_back({(uint64_t(d.first) << 32) | d.second, d.cp});
    std::sort(out.begin(), out.end());
    return out;
  }();
  return pairs;
}
} // namespace

bool toNFC(const uint32_t *begin, const uint32_t *end, std::vector<uint32_t> &out) {
  if (std::all_of(begin, end, [](uint32_t cp) { return cp < 0x300; }))
    return false;
  // Decompose, then order each run of combining marks by class (stably).
  std::vector<uint32_t> d;
  d.reserve(static_cast<size_t>(end - begin) + 8);
  for (const uint32_t *cp = begin; cp != end; ++cp)
    decompose(*cp, d);
  std::vector<uint8_t> ccc(d.size());
  for (size_t i = 0; i < d.size(); ++i)
    ccc[i] = combiningClass(d[i]);
  for (size_t i = 0; i < d.size();) {
    if (ccc[i] == 0) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < d.size() && ccc[end] != 0)
      ++end;
    for (size_t j = i + 1; j < end; ++j) // insertion sort: stable, runs are short
      for (size_t k = j; k > i && ccc[k - 1] > ccc[k]; --k) {
        std::swap(d[k - 1], d[k]);
        std::swap(ccc[k - 1], ccc[k]);
      }
    i = end;
  }
  // Compose: each character with the last starter unless a character between
  // them blocks it (a starter, or a mark of the same or a higher class).
  const auto &pairs = compositions();
  std::vector<uint32_t> result;
  std::vector<uint8_t> classes;
  result.reserve(d.size());
  size_t starter = SIZE_MAX;
  for (size_t i = 0; i < d.size(); ++i) {
    if (starter != SIZE_MAX) {
      const bool adjacent = result.size() == starter + 1;
      const uint8_t last = classes.back();
      if (adjacent || (last != 0 && last < ccc[i]))
        if (uint32_t c = compose(result[starter], d[i], pairs)) {
          result[starter] = c;
          continue;
        }
    }
    if (ccc[i] == 0)
      starter = result.size();
    result.push_back(d[i]);
    classes.push_back(ccc[i]);
  }
  if (std::equal(result.begin(), result.end(), begin, end))
    return false;
  out = std::move(result);
  return true;
}

} // namespace lazyc::rt::unicode
