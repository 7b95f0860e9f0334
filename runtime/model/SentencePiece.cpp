//===- SentencePiece.cpp - SentencePiece model files ----------------------===//

#include "runtime/model/SentencePiece.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <unordered_set>

using namespace lazyc::rt;

namespace {

constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81"; // U+2581 "▁"
constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD"; // U+FFFD
constexpr size_t kMaxPieces = size_t(1) << 24;

/// The protobuf wire format, as much of it as ModelProto needs: varints,
/// 32/64-bit fixed values and length-delimited fields (groups are refused).
class WireReader {
public:
  explicit WireReader(std::string_view data) : data_(data) {}
  bool done() const { return pos_ >= data_.size(); }

  bool varint(uint64_t &value) {
    value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size())
        return false;
      auto byte = static_cast<uint8_t>(data_[pos_++]);
      value |= static_cast<uint64_t>(byte & 0x7F) << shift;
      if (!(byte & 0x80))
        return true;
    }
    return false; // more than 10 bytes
  }
  bool tag(uint32_t &field, uint32_t &wire) {
    uint64_t v;
    if (!varint(v) || (v >> 3) == 0 || (v >> 3) > 0x1FFFFFFF)
      return false;
    field = static_cast<uint32_t>(v >> 3);
    wire = static_cast<uint32_t>(v & 7);
    return true;
  }
  bool bytes(std::string_view &out) {
    uint64_t length;
    if (!varint(length) || length > data_.size() - pos_)
      return false;
    out = data_.substr(pos_, length);
    pos_ += length;
    return true;
  }
  bool fixed32(uint32_t &value) {
    if (data_.size() - pos_ < 4)
      return false;
    const auto *p = reinterpret_cast<const uint8_t *>(data_.data() + pos_);
    value = uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
    pos_ += 4;
    return true;
  }
  bool skip(uint32_t wire) {
    uint64_t ignored;
    std::string_view view;
    switch (wire) {
    case 0:
      return varint(ignored);
    case 1:
      if (data_.size() - pos_ < 8)
        return false;
      pos_ += 8;
      return true;
    case 2:
      return bytes(view);
    case 5:
      return data_.size() - pos_ >= 4 && (pos_ += 4, true);
    default:
      return false; // groups (3, 4) and invalid wire types
    }
  }

private:
  std::string_view data_;
  size_t pos_ = 0;
};

/// Reads one message's fields: `onField(field, wire, reader)` returns false
/// (with `error` set) to stop, or reads/skips the field's value.
template <typename OnField>
bool readMessage(std::string_view bytes, const char *what, std::string &error, OnField onField) {
  WireReader reader(bytes);
  while (!reader.done()) {
    uint32_t field, wire;
    if (!reader.tag(field, wire)) {
      error = std::string("malformed ") + what + " (a field tag is truncated or invalid)";
      return false;
    }
    if (!onField(field, wire, reader)) {
      if (error.empty())
        error = std::string("malformed ") + what + " (field " + std::to_string(field) +
                " is truncated or has the wrong wire type)";
      return false;
    }
  }
  return true;
}

bool readInt32(WireReader &r, uint32_t wire, int32_t &out) {
  uint64_t v;
  if (wire != 0 || !r.varint(v))
    return false;
  out = static_cast<int32_t>(static_cast<uint32_t>(v)); // int32 and enums: low 32 bits
  return true;
}

bool readBool(WireReader &r, uint32_t wire, bool &out) {
  uint64_t v;
  if (wire != 0 || !r.varint(v))
    return false;
  out = v != 0;
  return true;
}

bool readString(WireReader &r, uint32_t wire, std::string &out) {
  std::string_view view;
  if (wire != 2 || !r.bytes(view))
    return false;
  out.assign(view);
  return true;
}

/// Bytes in the UTF-8 character starting at `text[0]`, or 0 if it is not a
/// valid one.
size_t utf8Length(std::string_view text) {
  auto c = static_cast<uint8_t>(text[0]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || n > text.size())
    return 0;
  for (size_t i = 1; i < n; ++i)
    if ((static_cast<uint8_t>(text[i]) & 0xC0) != 0x80)
      return 0;
  return n;
}

} // namespace

std::optional<SentencePieceModel> SentencePieceModel::parse(std::string_view bytes,
                                                            std::string &error) {
  error.clear(); // readMessage keeps the innermost message's error
  SentencePieceModel model;
  auto piece = [&](std::string_view message) {
    Piece p;
    bool ok = readMessage(message, "piece", error, [&](uint32_t field, uint32_t wire,
                                                       WireReader &r) {
      if (field == 1)
        return readString(r, wire, p.text);
      if (field == 2) {
        uint32_t bits;
        if (wire != 5 || !r.fixed32(bits))
          return false;
        std::memcpy(&p.score, &bits, sizeof(bits));
        return true;
      }
      if (field == 3)
        return readInt32(r, wire, p.type);
      return r.skip(wire);
    });
    if (!ok)
      return false;
    std::string which = "piece #" + std::to_string(model.pieces.size());
    if (p.text.empty()) {
      error = which + " is empty";
      return false;
    }
    if (p.type < Normal || p.type > Byte) {
      error = which + " ('" + p.text + "') has an unknown type " + std::to_string(p.type);
      return false;
    }
    if (!std::isfinite(p.score)) {
      error = which + " ('" + p.text + "') has a score that is not a finite number";
      return false;
    }
    if (model.pieces.size() >= kMaxPieces) {
      error = "more than " + std::to_string(kMaxPieces) + " pieces";
      return false;
    }
    model.pieces.push_back(std::move(p));
    return true;
  };
  auto trainer = [&](std::string_view message) {
    return readMessage(message, "trainer_spec", error, [&](uint32_t field, uint32_t wire,
                                                           WireReader &r) {
      int32_t type;
      switch (field) {
      case 3:
        if (!readInt32(r, wire, type))
          return false;
        model.type = static_cast<Type>(type);
        return true;
      case 24:
        return readBool(r, wire, model.treatWhitespaceAsSuffix);
      case 35:
        return readBool(r, wire, model.byteFallback);
      case 40:
        return readInt32(r, wire, model.unkId);
      case 41:
        return readInt32(r, wire, model.bosId);
      case 42:
        return readInt32(r, wire, model.eosId);
      case 43:
        return readInt32(r, wire, model.padId);
      case 44:
        return readString(r, wire, model.unkSurface);
      default:
        return r.skip(wire);
      }
    });
  };
  auto normalizer = [&](std::string_view message) {
    return readMessage(message, "normalizer_spec", error, [&](uint32_t field, uint32_t wire,
                                                              WireReader &r) {
      switch (field) {
      case 1:
        return readString(r, wire, model.normalizerName);
      case 2:
        return readString(r, wire, model.charsmap);
      case 3:
        return readBool(r, wire, model.addDummyPrefix);
      case 4:
        return readBool(r, wire, model.removeExtraWhitespaces);
      case 5:
        return readBool(r, wire, model.escapeWhitespaces);
      default:
        return r.skip(wire);
      }
    });
  };
  bool ok = readMessage(bytes, "SentencePiece model", error, [&](uint32_t field, uint32_t wire,
                                                                 WireReader &r) {
    std::string_view message;
    if (field < 1 || field > 3)
      return r.skip(wire);
    if (wire != 2 || !r.bytes(message))
      return false;
    return field == 1 ? piece(message) : field == 2 ? trainer(message) : normalizer(message);
  });
  if (!ok)
    return std::nullopt;
  if (model.pieces.empty()) {
    error = "not a SentencePiece model: it has no pieces";
    return std::nullopt;
  }
  // As sentencepiece: pieces are unique, and exactly one is <unk>.
  std::unordered_set<std::string_view> seen;
  int32_t unk = -1;
  for (size_t i = 0; i < model.pieces.size(); ++i) {
    const Piece &p = model.pieces[i];
    if (!seen.insert(p.text).second) {
      error = "piece '" + p.text + "' is defined twice";
      return std::nullopt;
    }
    if (p.type == Unknown) {
      if (unk >= 0) {
        error = "two pieces have the unknown type: #" + std::to_string(unk) + " and #" +
                std::to_string(i);
        return std::nullopt;
      }
      unk = static_cast<int32_t>(i);
    }
  }
  if (unk < 0) {
    error = "no piece has the unknown type (<unk>)";
    return std::nullopt;
  }
  model.unkId = unk;
  return model;
}

//===----------------------------------------------------------------------===//
// Normalizer
//===----------------------------------------------------------------------===//

bool SentencePieceNormalizer::init(const SentencePieceModel &model, std::string &error) {
  addDummyPrefix_ = model.addDummyPrefix;
  removeExtraWhitespaces_ = model.removeExtraWhitespaces;
  escapeWhitespaces_ = model.escapeWhitespaces;
  trie_.clear();
  pool_.clear();
  const std::string &blob = model.charsmap;
  if (blob.empty())
    return true;
  // uint32 trie size (little-endian), the trie's units, the replacements.
  auto bad = [&](const std::string &why) {
    error = "normalizer '" + model.normalizerName + "': precompiled_charsmap " + why;
    return false;
  };
  if (blob.size() <= 4)
    return bad("is truncated");
  const auto *p = reinterpret_cast<const uint8_t *>(blob.data());
  uint32_t trieBytes = uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 |
                       uint32_t(p[3]) << 24;
  if (trieBytes == 0 || trieBytes % 4 != 0 || trieBytes > blob.size() - 4)
    return bad("has a trie of " + std::to_string(trieBytes) + " bytes in a blob of " +
               std::to_string(blob.size()));
  trie_.resize(trieBytes / 4);
  for (size_t i = 0; i < trie_.size(); ++i) {
    const uint8_t *u = p + 4 + 4 * i;
    trie_[i] = uint32_t(u[0]) | uint32_t(u[1]) << 8 | uint32_t(u[2]) << 16 | uint32_t(u[3]) << 24;
  }
  pool_.assign(blob, 4 + trieBytes, std::string::npos);
  pool_.push_back('\0'); // every replacement ends, even in a malformed pool
  return true;
}

std::pair<std::string_view, size_t>
SentencePieceNormalizer::normalizePrefix(std::string_view text) const {
  // Darts-clone commonPrefixSearch: the rules whose keys are prefixes of
  // `text`, shortest first; sentencepiece keeps the longest of the first 32.
  constexpr size_t kMaxResults = 32;
  size_t longest = 0, value = 0, results = 0;
  if (!trie_.empty()) {
    auto offset = [](uint32_t unit) -> size_t {
      return static_cast<size_t>(unit >> 10) << ((unit & (1U << 9)) >> 6);
    };
    auto label = [](uint32_t unit) { return unit & ((1U << 31) | 0xFF); };
    auto hasLeaf = [](uint32_t unit) { return ((unit >> 8) & 1) == 1; };
    size_t node = offset(trie_[0]);
    for (size_t i = 0; i < text.size(); ++i) {
      auto byte = static_cast<uint8_t>(text[i]);
      node ^= byte;
      if (node >= trie_.size() || label(trie_[node]) != byte)
        break;
      uint32_t unit = trie_[node];
      node ^= offset(unit);
      if (node >= trie_.size())
        break;
      if (hasLeaf(unit)) {
        size_t at = trie_[node] & ((1U << 31) - 1);
        if (results < kMaxResults && at < pool_.size()) {
          longest = i + 1;
          value = at;
        }
        ++results;
      }
    }
  }
  if (longest > 0)
    return {std::string_view(pool_.c_str() + value), longest};
  size_t length = utf8Length(text);
  if (length == 0)
    return {kReplacementChar, 1};
  return {text.substr(0, length), length};
}

std::string SentencePieceNormalizer::normalize(std::string_view text, bool textStart,
                                               bool textEnd) const {
  std::string out;
  if (textStart && removeExtraWhitespaces_)
    while (!text.empty()) {
      auto [normalized, consumed] = normalizePrefix(text);
      if (normalized != " ")
        break;
      text.remove_prefix(consumed);
    }
  if (text.empty())
    return out;
  if (textStart && addDummyPrefix_)
    out += escapeWhitespaces_ ? kSpaceSymbol : " ";
  // A rule's leading spaces are dropped after a space (whitespace folding).
  bool prevSpace = removeExtraWhitespaces_ && textStart;
  while (!text.empty()) {
    auto [normalized, consumed] = normalizePrefix(text);
    while (prevSpace && !normalized.empty() && normalized.front() == ' ')
      normalized.remove_prefix(1);
    if (!normalized.empty()) {
      for (char c : normalized) {
        if (escapeWhitespaces_ && c == ' ')
          out += kSpaceSymbol;
        else
          out += c;
      }
      prevSpace = normalized.back() == ' ';
    }
    text.remove_prefix(consumed);
    prevSpace = prevSpace && removeExtraWhitespaces_;
  }
  if (textEnd && removeExtraWhitespaces_) {
    std::string_view space = escapeWhitespaces_ ? kSpaceSymbol : " ";
    while (out.size() >= space.size() &&
           std::string_view(out).substr(out.size() - space.size()) == space)
      out.resize(out.size() - space.size());
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Unigram
//===----------------------------------------------------------------------===//

UnigramSegmenter::UnigramSegmenter(const SentencePieceModel &model) {
  // sentencepiece's bounds: over normal pieces, from FLT_MAX / FLT_MIN (so a
  // model whose scores are all negative has a maximum of FLT_MIN).
  float minScore = FLT_MAX, maxScore = FLT_MIN;
  pieceText_.reserve(model.pieces.size());
  for (const SentencePieceModel::Piece &p : model.pieces) {
    pieceText_.push_back(p.text);
    scores_.push_back(p.score);
    userDefined_.push_back(p.type == SentencePieceModel::UserDefined);
    if (p.type == SentencePieceModel::Normal) {
      minScore = std::min(minScore, p.score);
      maxScore = std::max(maxScore, p.score);
    }
  }
  if (minScore == FLT_MAX)
    minScore = 0;
  if (maxScore == FLT_MIN)
    maxScore = 0;
  maxScore_ = maxScore;
  unkScore_ = minScore - 10.0f; // kUnkPenalty
  for (size_t i = 0; i < model.pieces.size(); ++i) {
    int32_t type = model.pieces[i].type;
    if (type != SentencePieceModel::Normal && type != SentencePieceModel::UserDefined)
      continue;
    pieces_.emplace(pieceText_[i], static_cast<int32_t>(i));
    maxPieceBytes_ = std::max(maxPieceBytes_, pieceText_[i].size());
  }
}

void UnigramSegmenter::segment(std::string_view text, std::vector<Segment> &out) const {
  struct Node {
    double score = 0;
    int32_t id = -1;
    size_t start = 0;
    bool set = false;
  };
  const size_t n = text.size();
  std::vector<Node> best(n + 1);
  best[0].set = true;
  auto charLength = [&](size_t at) { return std::max<size_t>(utf8Length(text.substr(at)), 1); };
  // Path scores in double, as sentencepiece's (0.2): a long text's totals
  // reach magnitudes where float rounding would pick other paths (checked on
  // 300 KB of license texts: float totals differ from it at 82 ids).
  auto offer = [&](size_t end, size_t start, int32_t id, double score) {
    Node &node = best[end];
    if (!node.set || score > node.score)
      node = {score, id, start, true};
  };
  for (size_t start = 0; start < n;) {
    size_t single = charLength(start);
    double base = best[start].score;
    bool covered = false;
    for (size_t end = start; end < n && end - start < maxPieceBytes_;) {
      end += charLength(end);
      auto it = pieces_.find(text.substr(start, end - start));
      if (it == pieces_.end())
        continue;
      size_t length = end - start;
      double score = userDefined_[it->second]
                         ? static_cast<double>(static_cast<float>(length) * maxScore_) - 0.1
                         : static_cast<double>(scores_[it->second]);
      offer(end, start, it->second, score + base);
      covered |= length == single;
    }
    if (!covered)
      offer(start + single, start, -1, base + static_cast<double>(unkScore_));
    start += single;
  }
  size_t first = out.size();
  for (size_t end = n; end > 0; end = best[end].start)
    out.push_back({best[end].start, end - best[end].start, best[end].id});
  std::reverse(out.begin() + first, out.end());
  // Each run of unknown characters is one unknown segment.
  size_t kept = first;
  for (size_t i = first; i < out.size(); ++i) {
    if (kept > first && out[i].id < 0 && out[kept - 1].id < 0)
      out[kept - 1].length += out[i].length;
    else
      out[kept++] = out[i];
  }
  out.resize(kept);
}
