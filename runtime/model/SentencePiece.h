//===- SentencePiece.h - SentencePiece model files --------------*- C++ -*-===//
//
// SentencePiece's own model file (tokenizer.model, a serialized
// sentencepiece.ModelProto), which some Hugging Face checkpoints ship instead
// of a tokenizer.json (ERNIE 4.5, Llama 2 as first published):
//   * SentencePieceModel: the pieces (text, score, type), the trainer settings
//     encoding depends on (model type, byte fallback, special ids) and the
//     normalizer settings, read with a small protobuf wire-format reader;
//   * SentencePieceNormalizer: sentencepiece's Normalizer::Normalize — the
//     precompiled character map (a Darts-clone double-array trie of UTF-8 keys
//     and a pool of replacement strings: nmt_nfkc, nfkc, custom rules),
//     whitespace folding, the dummy "▁" prefix, spaces as U+2581;
//   * UnigramSegmenter: the Viterbi segmentation of Unigram models.
// BPE models merge by piece score in Tokenizer (as GGUF "llama" vocabularies).
// Untrusted input: every length, index and offset is checked; a malformed
// file is an error naming the field. Checked against the `sentencepiece`
// library: test/fixtures/make_spm_model_fixtures.py.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_RUNTIME_MODEL_SENTENCEPIECE_H
#define LAZYC_RUNTIME_MODEL_SENTENCEPIECE_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace lazyc::rt {

struct SentencePieceModel {
  enum class Type : int32_t { Unigram = 1, BPE = 2, Word = 3, Char = 4 };
  /// sentencepiece.ModelProto.SentencePiece.Type (also GGUF token types).
  enum PieceType : int32_t {
    Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6
  };
  struct Piece {
    std::string text;
    float score = 0;
    int32_t type = Normal;
  };

  std::vector<Piece> pieces;
  // TrainerSpec (proto2 defaults).
  Type type = Type::Unigram;
  bool byteFallback = false;
  bool treatWhitespaceAsSuffix = false;
  int32_t unkId = 0, bosId = 1, eosId = 2, padId = -1;
  std::string unkSurface = " \xE2\x81\x87 "; // " ⁇ ": how <unk> decodes
  // NormalizerSpec.
  std::string normalizerName;
  std::string charsmap; // precompiled_charsmap; empty: identity
  bool addDummyPrefix = true, removeExtraWhitespaces = true, escapeWhitespaces = true;

  /// Parses a serialized ModelProto. std::nullopt + `error` if the bytes are
  /// not one, or a piece is empty, duplicated, of an unknown type or has a
  /// non-finite score.
  static std::optional<SentencePieceModel> parse(std::string_view bytes, std::string &error);
};

class SentencePieceNormalizer {
public:
  /// Checks the model's precompiled character map. False + `error` if it is
  /// malformed.
  bool init(const SentencePieceModel &model, std::string &error);
  /// sentencepiece's normalization of `text` (valid UTF-8). `textStart` /
  /// `textEnd`: whether `text` begins / ends the whole input (lazyc
  /// normalizes the text between special tokens piece by piece): the dummy
  /// "▁" prefix (when the model has one) and whitespace folding's dropping
  /// of leading spaces apply only at the start, of trailing ones only at the
  /// end.
  std::string normalize(std::string_view text, bool textStart, bool textEnd) const;

private:
  /// The longest rule matching a prefix of `text`: its replacement and the
  /// bytes it consumes; without one, the first character unchanged.
  std::pair<std::string_view, size_t> normalizePrefix(std::string_view text) const;

  std::vector<uint32_t> trie_; // Darts-clone double-array units
  std::string pool_;           // NUL-terminated replacements
  bool addDummyPrefix_ = true, removeExtraWhitespaces_ = true, escapeWhitespaces_ = true;
};

/// Unigram segmentation: the sequence of pieces with the highest total score
/// (sentencepiece's optimized Viterbi), user-defined pieces preferred, each
/// run of characters no piece covers one unknown segment.
class UnigramSegmenter {
public:
  struct Segment {
    size_t begin, length;
    int32_t id; // -1: unknown
  };
  explicit UnigramSegmenter(const SentencePieceModel &model);
  UnigramSegmenter(const UnigramSegmenter &) = delete; // pieces_ views pieceText_
  UnigramSegmenter &operator=(const UnigramSegmenter &) = delete;
  void segment(std::string_view text, std::vector<Segment> &out) const;

private:
  std::unordered_map<std::string_view, int32_t> pieces_; // views into pieceText_
  std::vector<std::string> pieceText_;
  std::vector<float> scores_;
  std::vector<bool> userDefined_;
  size_t maxPieceBytes_ = 0;
  float unkScore_ = 0, maxScore_ = 0;
};

} // namespace lazyc::rt

#endif // LAZYC_RUNTIME_MODEL_SENTENCEPIECE_H
