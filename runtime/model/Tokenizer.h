//===- Tokenizer.h - BPE tokenizers (byte-level, SentencePiece) -*- C++ -*-===//
//
// Two tokenizer families, built from a GGUF file's `tokenizer.ggml.*`
// metadata (llama.cpp's names):
//   * "gpt2": byte-level BPE with merge ranks (SmolLM2, StarCoder-style
//     pre-tokenizers); checked against Hugging Face `tokenizers`.
//   * "llama": SentencePiece BPE with piece scores, "▁" for spaces, a dummy
//     space prefix and <0xXX> byte fallback (Llama 2, Mistral); checked
//     against the `sentencepiece` library.
// from a SentencePiece model file (tokenizer.model): BPE or Unigram, with
// sentencepiece's normalizer (precompiled character maps, whitespace
// folding); checked against the `sentencepiece` library;
// and from a Hugging Face tokenizer.json: byte-level BPE (checked against
// `tokenizers`), or SentencePiece-style BPE with ranked merges (Llama 2,
// Mistral, Gemma checkpoints: "▁" for spaces through a Replace normalizer or a
// Metaspace pre-tokenizer, byte fallback), checked against `tokenizers` in the
// four spellings Hub checkpoints use.
// Fixtures: test/fixtures/make_fixtures.py, make_spm_fixture.py,
// make_hf_spm_fixtures.py, make_spm_model_fixtures.py.
// decode(encode(x)) == x for valid UTF-8 the vocabulary can represent.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_RUNTIME_MODEL_TOKENIZER_H
#define LAZYC_RUNTIME_MODEL_TOKENIZER_H

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace lazyc::rt {

class GGUFFile;
class HFCheckpoint;
class JsonValue;
class SentencePieceNormalizer;
class UnigramSegmenter;

struct ChatMessage {
  std::string role; // "system", "user", "assistant"
  std::string content;
};

class Tokenizer {
public:
  /// How byte-level BPE splits text before merging: GPT-2's regex, the
  /// Llama 3 / Qwen2 regex (case-insensitive contractions, digit groups of up
  /// to 3 / 1, newline handling), Tekken's (Mistral Nemo, Ministral: words
  /// split at case changes, single digits), or tiktoken's o200k_base
  /// (Phi-4-mini: Tekken's words with contractions, digit groups of up to 3).
  /// Falcon's: runs of punctuation apart, then GPT-2's regex, then runs
  /// of digits apart, each cut into groups of 3 ASCII digits from the left
  /// (tokenizer.json's Punctuation, ByteLevel, Digits, Split([0-9]{3})).
  enum class Split { GPT2, Llama3, Qwen2, Tekken, O200K, Falcon };

  /// Builds the tokenizer described by the file's metadata. Null + `error` if
  /// the metadata is missing, inconsistent, or names an unsupported model.
  static std::unique_ptr<Tokenizer> fromGGUF(const GGUFFile &file,
                                             std::string &error);
  /// Builds a BPE tokenizer, byte-level or SentencePiece-style, from a Hugging
  /// Face tokenizer.json (`config` is the checkpoint's config.json, for the
  /// BOS/EOS ids).
  static std::unique_ptr<Tokenizer> fromHFJson(const JsonValue &tokenizer,
                                               const JsonValue &config,
                                               std::string &error);

  /// Builds the tokenizer of a SentencePiece model file (tokenizer.model,
  /// runtime/model/SentencePiece.h), BPE or Unigram, with sentencepiece's
  /// normalization. BOS/EOS ids come from `config` (config.json) when it
  /// names them, else from the model; `tokenizerConfig`
  /// (tokenizer_config.json, may be null) adds its added_tokens_decoder
  /// tokens and says whether to add BOS (add_bos_token, default true).
  static std::unique_ptr<Tokenizer> fromSentencePiece(std::string_view modelFile,
                                                      const JsonValue &config,
                                                      const JsonValue *tokenizerConfig,
                                                      std::string &error);

  /// The tokenizer of a Hugging Face checkpoint that has a tokenizer.json
  /// (fromHFJson with its config.json) or else a tokenizer.model
  /// (fromSentencePiece), and its chat template.
  static std::unique_ptr<Tokenizer> fromHFCheckpoint(const HFCheckpoint &checkpoint,
                                                     std::string &error);
  ~Tokenizer();

  /// Encodes UTF-8 `text`. Special tokens written in the text (e.g.
  /// "<|im_start|>") become their ids when `parseSpecial` is set. Fails with
  /// `error` on invalid UTF-8.
  bool encode(std::string_view text, std::vector<int32_t> &ids,
              std::string &error, bool addBos = false,
              bool parseSpecial = true) const;
  /// Decodes ids to bytes (valid UTF-8 for a whole sequence; a single token may
  /// end inside a multi-byte character). Fails on an out-of-range id.
  bool decode(const std::vector<int32_t> &ids, std::string &text,
              std::string &error) const;
  /// Bytes of one token (for streaming output).
  std::string tokenText(int32_t id) const;

  /// Renders a conversation with the model's chat template (a Jinja program,
  /// run by runtime/model/Jinja.h with the variables transformers gives it:
  /// messages, add_generation_prompt, bos_token, eos_token, no tools), ending
  /// with the assistant prompt when `addGenerationPrompt`; `kwargs` (from
  /// parseChatTemplateKwargs) adds variables. Encode the text without adding
  /// BOS, as transformers' apply_chat_template(tokenize=True) does: the
  /// template writes the BOS tokens the model wants. A template that raises,
  /// or uses Jinja outside the subset, is an error naming the line.
  bool applyChatTemplate(const std::vector<ChatMessage> &messages,
                         bool addGenerationPrompt, std::string &out,
                         std::string &error, const JsonValue *kwargs = nullptr) const;
  /// The Jinja chat template (GGUF tokenizer.chat_template, or a Hugging
  /// Face checkpoint's tokenizer_config.json / chat_template.jinja).
  const std::string &chatTemplate() const { return chatTemplate_; }
  void setChatTemplate(std::string text) { chatTemplate_ = std::move(text); }
  /// Parses more variables for the chat template, a JSON object
  /// (transformers' apply_chat_template keyword arguments, llama.cpp's
  /// --chat-template-kwargs: {"enable_thinking": false} for Qwen3's and
  /// SmolLM3's); they may not replace the variables applyChatTemplate sets.
  /// Null + `error` otherwise.
  static std::unique_ptr<JsonValue> parseChatTemplateKwargs(std::string_view json,
                                                            std::string &error);

  int32_t vocabSize() const { return static_cast<int32_t>(tokens_.size()); }
  int32_t bos() const { return bos_; }
  int32_t eos() const { return eos_; }
  /// Whether generation should stop at `id` (EOS, an end-of-turn token, or
  /// another id of a config.json `eos_token_id` list).
  bool isEndOfGeneration(int32_t id) const;
  bool addBosByDefault() const { return addBos_; }
  /// Whether the vocabulary has a token for `byte` on its own (byte-level
  /// vocabularies may lack some control bytes; those are dropped on encode).
  bool hasByteToken(uint8_t byte) const {
    return sentencePiece_ ? byteTokens_[byte] >= 0
                          : vocab_.count(byteToUnicode_[byte]) != 0;
  }

  /// Where a SentencePiece-style tokenizer writes a "▁" before a text
  /// segment (a run of text between special tokens) that lacks one.
  enum class SpacePrefix {
    None,                  // Gemma
    TextStart,             // sentencepiece (GGUF "llama"): the first segment
    EverySegment,          // tokenizer.json Prepend("▁") normalizer (Llama 2)
    FirstUnlessSpace,      // Metaspace "first": the first, unless it starts with a space
    EveryUnlessSpace,      // Metaspace "always": each, unless it starts with a space
  };

private:
  Tokenizer() = default;
  /// The end-of-turn token of a chat vocabulary (<|im_end|>, <|eot_id|>,
  /// Gemma's <end_of_turn>, Phi-3's <|end|>), or -1.
  int32_t endOfTurnToken() const;
  /// eot_ as the file says (-1: none), else endOfTurnToken(); in gpt-oss's
  /// harmony vocabulary (<|return|> and <|call|>) <|end|> closes every
  /// message, the reasoning before an answer too: a turn ends at <|return|>
  /// or <|call|> (as llama.cpp treats o200k_harmony).
  void settleEndOfTurn(int32_t fromFile);
  void bpe(std::string_view piece, std::vector<int32_t> &ids) const;
  void spm(std::string_view text, bool atStart, bool atEnd, std::vector<int32_t> &ids) const;
  void spmWord(std::string_view word, std::vector<int32_t> &ids) const;
  void unigramWord(std::string_view text, std::vector<int32_t> &ids) const;
  /// Writes an unknown piece: its bytes' <0xXX> tokens, else <unk> (once for
  /// a run of unknown pieces where `mergeUnknown_`).
  void unknownPiece(std::string_view piece, bool &previousUnknown,
                    std::vector<int32_t> &ids) const;
  void readHFSpecialIds(const JsonValue &config);
  void encodeText(const std::vector<uint32_t> &cps, size_t begin, size_t end,
                  std::vector<int32_t> &ids) const;
  void encodeFragment(std::string_view text, const std::vector<uint32_t> &cps,
                      const std::vector<size_t> &offsets, size_t begin,
                      size_t end, std::vector<int32_t> &ids) const;
  bool initVocabulary(const GGUFFile &file, std::string &error);
  void addToken(std::string text, int32_t type);
  void finishVocabulary();
  static std::unique_ptr<Tokenizer>
  initSentencePiece(std::unique_ptr<Tokenizer> tok, const GGUFFile &file,
                    std::string &error);
  bool readHFVocabulary(const JsonValue &json, const JsonValue &model, std::string &error);
  void findByteTokens();

  std::vector<std::string> tokens_;
  std::vector<int32_t> tokenTypes_;
  std::unordered_map<std::string, int32_t> vocab_;
  std::unordered_map<std::string, int32_t> mergeRanks_;
  /// Special tokens matched literally in text, longest first.
  std::vector<std::pair<std::string, int32_t>> specials_;
  bool specialFirstByte_[256] = {};
  std::string byteToUnicode_[256];
  std::unordered_map<uint32_t, uint8_t> unicodeToByte_;
  std::string chatTemplate_;
  int32_t bos_ = -1, eos_ = -1, eot_ = -1;
  /// A Hugging Face config's `eos_token_id` list (Llama 3.1's <|eom_id|>,
  /// GLM-4's <|user|> and <|observation|>); eos_ is its first id.
  std::vector<int32_t> stops_;
  bool addBos_ = false;
  bool sentencePiece_ = false;  // SentencePiece-style BPE over characters
  SpacePrefix spacePrefix_ = SpacePrefix::TextStart;
  bool splitAtSpaces_ = false;  // Metaspace split: each "▁word" on its own
  bool rankedMerges_ = false;   // merge by mergeRanks_ (tokenizer.json), not scores_
  std::vector<float> scores_;   // SentencePiece piece scores
  int32_t byteTokens_[256];     // SentencePiece <0xXX> ids (-1 if absent)
  int32_t unk_ = -1;            // for a character with no token and no byte tokens
  bool digitsIndividually_ = false;
  bool nfc_ = false;            // byte-level: tokenizer.json's NFC normalizer
  Split split_ = Split::GPT2;
  // A tokenizer.model's: sentencepiece's normalizer, the Unigram segmenter
  // (null for BPE), runs of unknown characters as one <unk>, how it decodes.
  std::unique_ptr<SentencePieceNormalizer> spmNormalizer_;
  std::unique_ptr<UnigramSegmenter> unigram_;
  bool mergeUnknown_ = false;
  std::string unkSurface_;
};

} // namespace lazyc::rt

#endif // LAZYC_RUNTIME_MODEL_TOKENIZER_H
