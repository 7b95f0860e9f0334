//===- Tokenizer.cpp - BPE tokenizers (byte-level, SentencePiece) ---------===//

#include "runtime/model/Tokenizer.h"

#include "runtime/model/GGUF.h"
#include "runtime/model/Jinja.h"
#include "runtime/model/Json.h"
#include "runtime/model/Safetensors.h"
#include "runtime/model/SentencePiece.h"
#include "runtime/model/Unicode.h"

#include <algorithm>
#include <cmath>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <queue>

using namespace lazyc::rt;
namespace uc = lazyc::rt::unicode;

namespace {
// llama.cpp token types.
constexpr int32_t kTypeNormal = 1, kTypeUnknown = 2, kTypeControl = 3, kTypeUserDefined = 4,
                  kTypeByte = 6;

/// Pre-tokenizers (`tokenizer.ggml.pre`, llama.cpp's names) lazyc knows.
struct PreTokenizer {
  const char *name;
  Tokenizer::Split split;
  bool digitsIndividually; // split every digit into its own piece first
};
const PreTokenizer kPreTokenizers[] = {
    {"default", Tokenizer::Split::GPT2, false},
    {"gpt2", Tokenizer::Split::GPT2, false},
    {"gpt-2", Tokenizer::Split::GPT2, false},
    {"phi-2", Tokenizer::Split::GPT2, false}, // (llama.cpp's group of gpt-2's split)
    {"smollm", Tokenizer::Split::GPT2, true},
    {"starcoder", Tokenizer::Split::GPT2, true},
    {"refact", Tokenizer::Split::GPT2, true},
    {"codeshell", Tokenizer::Split::GPT2, true},
    {"command-r", Tokenizer::Split::GPT2, true}, // Cohere's (llama.cpp groups it so)
    {"olmo", Tokenizer::Split::GPT2, false},
    {"llama-bpe", Tokenizer::Split::Llama3, false},
    {"llama3", Tokenizer::Split::Llama3, false},
    {"llama-v3", Tokenizer::Split::Llama3, false},
    // llama.cpp splits these with Llama 3's patterns (cl100k-style vocabularies).
    {"dbrx", Tokenizer::Split::Llama3, false},
    {"smaug-bpe", Tokenizer::Split::Llama3, false},
    {"qwen2", Tokenizer::Split::Qwen2, false},
    {"deepseek-r1-qwen", Tokenizer::Split::Qwen2, false},
    {"tekken", Tokenizer::Split::Tekken, false},
    // tiktoken's o200k_base (Phi-4-mini; llama.cpp's name).
    {"gpt-4o", Tokenizer::Split::O200K, false},
    // GLM-4: Llama 3's split (llama.cpp's CHATGLM4 regex), no BOS.
    {"chatglm-bpe", Tokenizer::Split::Llama3, false},
    {"glm4", Tokenizer::Split::Llama3, false},
    // Falcon's (llama.cpp's name): punctuation, GPT-2's split, digit groups.
    {"falcon", Tokenizer::Split::Falcon, false},
};

/// The Llama 3 split patterns as Hugging Face tokenizer.json spells them.
const char *const kLlama3Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char *const kQwen2Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/// Tekken's (Mistral Nemo, Ministral; tiktoken's o200k style).
const char *const kTekkenPattern =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}"
    "\\p{M}]+|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}"
    "\\p{Lo}\\p{M}]*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
/// tiktoken's o200k_base (Phi-4-mini): Tekken's words with an optional
/// contraction after them, digit groups of up to 3.
const char *const kO200KPattern =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}"
    "\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}"
    "\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

bool isSpace(uint32_t cp) { return uc::isWhitespace(cp); }
bool isOther(uint32_t cp) {
  return !isSpace(cp) && !uc::isLetter(cp) && !uc::isNumber(cp);
}

/// Length (in code points) of the GPT-2 pre-tokenizer match at `i`:
///   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
size_t gpt2Match(const std::vector<uint32_t> &cp, size_t i, size_t end) {
  if (cp[i] == '\'' && i + 1 < end) {
    uint32_t a = cp[i + 1];
    if (a == 's' || a == 't' || a == 'm' || a == 'd')
      return 2;
    if (i + 2 < end) {
      uint32_t b = cp[i + 2];
      if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
        return 3;
    }
  }
  size_t j = i + (cp[i] == ' ' ? 1 : 0);
  if (j < end) {
    for (bool (*cls)(uint32_t) : {+[](uint32_t c) { return uc::isLetter(c); },
                                  +[](uint32_t c) { return uc::isNumber(c); },
                                  +[](uint32_t c) { return isOther(c); }}) {
      if (cls(cp[j])) {
        size_t k = j;
        while (k < end && cls(cp[k]))
          ++k;
        return k - i;
      }
    }
  }
  // Whitespace run: \s+(?!\S) leaves the last space to prefix the next word.
  size_t k = i;
  while (k < end && isSpace(cp[k]))
    ++k;
  if (k == end || k - i == 1)
    return k - i;
  return k - i - 1;
}

uint32_t lower(uint32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }
bool isNewline(uint32_t c) { return c == '\r' || c == '\n'; }

/// Length of the match of the patterns' last alternatives at i (Llama 3,
/// Qwen2, Tekken): \s*[\r\n]+|\s+(?!\S)|\s+ (and 1 for a character none of
/// the alternatives takes: not reached, each pattern covers every class).
size_t newlineOrSpaceMatch(const std::vector<uint32_t> &cp, size_t i, size_t end) {
  size_t k = i;
  while (k < end && isSpace(cp[k]))
    ++k;
  if (k == i)
    return 1;
  // \s*[\r\n]+ : up to the last newline of the whitespace run.
  for (size_t j = k; j > i; --j)
    if (isNewline(cp[j - 1]))
      return j - i;
  if (k == end || k - i == 1)
    return k - i;
  return k - i - 1;
}

/// Length of (?i:'s|'t|'re|'ve|'m|'ll|'d) at i, 0 if none.
size_t contractionMatch(const std::vector<uint32_t> &cp, size_t i, size_t end) {
  if (i + 1 >= end || cp[i] != '\'')
    return 0;
  uint32_t a = lower(cp[i + 1]);
  if (a == 's' || a == 't' || a == 'm' || a == 'd')
    return 2;
  if (i + 2 < end) {
    uint32_t b = lower(cp[i + 2]);
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
      return 3;
  }
  return 0;
}

/// Length of the Llama 3 (maxDigits = 3) / Qwen2 (maxDigits = 1) match at i:
///   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,N}|
///    ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
size_t llama3Match(const std::vector<uint32_t> &cp, size_t i, size_t end, size_t maxDigits) {
  if (size_t n = contractionMatch(cp, i, end))
    return n;
  // [^\r\n\p{L}\p{N}]?\p{L}+
  {
    size_t j = i;
    if (!isNewline(cp[j]) && !uc::isLetter(cp[j]) && !uc::isNumber(cp[j]) && j + 1 < end &&
        uc::isLetter(cp[j + 1]))
      ++j;
    if (uc::isLetter(cp[j])) {
      while (j < end && uc::isLetter(cp[j]))
        ++j;
      return j - i;
    }
  }
  if (uc::isNumber(cp[i])) {
    size_t j = i;
    while (j < end && j - i < maxDigits && uc::isNumber(cp[j]))
      ++j;
    return j - i;
  }
  // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
  {
    size_t j = i + (cp[i] == ' ' && i + 1 < end && isOther(cp[i + 1]) ? 1 : 0);
    if (isOther(cp[j])) {
      while (j < end && isOther(cp[j]))
        ++j;
      while (j < end && isNewline(cp[j]))
        ++j;
      return j - i;
    }
  }
  return newlineOrSpaceMatch(cp, i, end);
}

/// Length of the Tekken match at i (Mistral Nemo, Ministral; the
/// tokenizer.json pattern, with Unicode's case classes, as Hugging Face
/// `tokenizers` runs it):
///   [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|
///   [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|
///   \p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
/// or, with `o200k` (tiktoken's o200k_base: Phi-4-mini), each word followed
/// by an optional (?i:'s|'t|'re|'ve|'m|'ll|'d) and \p{N}{1,3} for \p{N}.
size_t tekkenMatch(const std::vector<uint32_t> &cp, size_t i, size_t end, bool o200k = false) {
  // (The optional contraction is greedy and cannot make a word fail.)
  auto word = [&](size_t j) { return j - i + (o200k ? contractionMatch(cp, j, end) : 0); };
  auto upperRun = [&](size_t j) {
    while (j < end && uc::isUpperClass(cp[j]))
      ++j;
    return j;
  };
  auto lowerRun = [&](size_t j) {
    while (j < end && uc::isLowerClass(cp[j]))
      ++j;
    return j;
  };
  // The optional prefix [^\r\n\p{L}\p{N}] (a mark is one: not \p{L}), tried
  // with it first, then without (the regex's backtracking).
  const bool prefix = !isNewline(cp[i]) && !uc::isLetter(cp[i]) && !uc::isNumber(cp[i]);
  for (size_t j : {prefix ? i + 1 : end, i}) {
    if (j >= end)
      continue;
    // Upper* Lower+: the upper run as long as the lower run after it can
    // start (greedy, giving back one character at a time).
    size_t k = upperRun(j);
    for (size_t m = k + 1; m-- > j;)
      if (m < end && uc::isLowerClass(cp[m]))
        return word(lowerRun(m));
  }
  for (size_t j : {prefix ? i + 1 : end, i}) {
    if (j >= end)
      continue;
    if (size_t k = upperRun(j); k > j) // Upper+ Lower*
      return word(lowerRun(k));
  }
  if (uc::isNumber(cp[i])) {
    size_t j = i + 1;
    while (o200k && j < end && j - i < 3 && uc::isNumber(cp[j]))
      ++j;
    return j - i;
  }
  // ' ?[^\s\p{L}\p{N}]+[\r\n/]*'
  {
    size_t j = i + (cp[i] == ' ' && i + 1 < end && isOther(cp[i + 1]) ? 1 : 0);
    if (isOther(cp[j])) {
      while (j < end && isOther(cp[j]))
        ++j;
      while (j < end && (isNewline(cp[j]) || cp[j] == '/'))
        ++j;
      return j - i;
    }
  }
  return newlineOrSpaceMatch(cp, i, end);
}

/// GPT-2's reversible map from bytes to printable code points.
void buildByteMap(std::string byteToUnicode[256],
                  std::unordered_map<uint32_t, uint8_t> &unicodeToByte) {
  uint32_t next = 256;
  for (uint32_t b = 0; b < 256; ++b) {
    bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) ||
                     (b >= 0xAE && b <= 0xFF);
    uint32_t cp = printable ? b : next++;
    byteToUnicode[b].clear();
    uc::appendUtf8(cp, byteToUnicode[b]);
    unicodeToByte[cp] = static_cast<uint8_t>(b);
  }
}

const GGUFValue *stringArray(const GGUFFile &file, const char *key,
                             std::string &error) {
  const GGUFValue *v = file.find(key);
  if (!v || v->type != GGUFValueType::Array ||
      v->elementType != GGUFValueType::String) {
    error = std::string("tokenizer metadata '") + key +
            "' is missing or not an array of strings";
    return nullptr;
  }
  return v;
}
} // namespace

void Tokenizer::addToken(std::string text, int32_t type) {
  auto id = static_cast<int32_t>(tokens_.size());
  vocab_.emplace(text, id);
  if ((type == kTypeControl || type == kTypeUserDefined) && !text.empty()) {
    specials_.emplace_back(text, id);
    specialFirstByte_[static_cast<unsigned char>(text[0])] = true;
  }
  tokens_.push_back(std::move(text));
  tokenTypes_.push_back(type);
}

void Tokenizer::finishVocabulary() {
  std::stable_sort(specials_.begin(), specials_.end(),
                   [](const auto &a, const auto &b) { return a.first.size() > b.first.size(); });
}

namespace {
/// Whether tokenizer.json's post-processor puts `bos` before a single
/// sequence (a TemplateProcessing step, alone or in a Sequence: how Llama 3
/// checkpoints add <|begin_of_text|>).
bool postProcessorAddsBos(const JsonValue &tokenizer, const std::string &bos) {
  auto addsBos = [&](const JsonValue &step) {
    if (step.getString("type").value_or("") != "TemplateProcessing")
      return false;
    const JsonValue *single = step.get("single");
    if (!single || !single->isArray() || single->array().empty())
      return false;
    const JsonValue *special = single->array().front().get("SpecialToken");
    return special && special->getString("id").value_or("") == bos;
  };
  const JsonValue *post = tokenizer.get("post_processor");
  if (!post || !post->isObject())
    return false;
  if (addsBos(*post))
    return true;
  if (const JsonValue *steps = post->get("processors"); steps && steps->isArray())
    for (const JsonValue &step : steps->array())
      if (addsBos(step))
        return true;
  return false;
}
} // namespace

namespace {
const char *const kMetaspace = "\xE2\x96\x81"; // U+2581, SentencePiece's space

/// A tokenizer.json component as a list of steps: the members of a
/// Sequence (under `listKey`), the object itself, or none for null.
std::vector<const JsonValue *> stepsOf(const JsonValue *component, const char *listKey) {
  std::vector<const JsonValue *> steps;
  if (component && component->getString("type") == std::optional<std::string>("Sequence")) {
    if (const JsonValue *list = component->get(listKey); list && list->isArray())
      for (const JsonValue &step : list->array())
        steps.push_back(&step);
  } else if (component && component->isObject()) {
    steps.push_back(component);
  }
  return steps;
}

/// The split of an isolating Split step whose regex lazyc implements.
std::optional<Tokenizer::Split> knownSplit(const JsonValue &step) {
  const JsonValue *pattern = step.get("pattern");
  if (!pattern || step.getString("behavior") != std::optional<std::string>("Isolated"))
    return std::nullopt;
  std::optional<std::string> regex = pattern->getString("Regex");
  if (regex == std::optional<std::string>(kLlama3Pattern))
    return Tokenizer::Split::Llama3;
  if (regex == std::optional<std::string>(kQwen2Pattern))
    return Tokenizer::Split::Qwen2;
  if (regex == std::optional<std::string>(kTekkenPattern))
    return Tokenizer::Split::Tekken;
  if (regex == std::optional<std::string>(kO200KPattern))
    return Tokenizer::Split::O200K;
  return std::nullopt;
}

bool isStringPattern(const JsonValue &step, const char *text) {
  const JsonValue *pattern = step.get("pattern");
  return pattern && pattern->getString("String") == std::optional<std::string>(text);
}

/// How a SentencePiece-style tokenizer.json (BPE over characters, "▁" for
/// spaces) turns text into "▁" words, as transformers' converters write it:
///   Llama 2 / Mistral v0.1: normalizer Prepend("▁") + Replace(" ", "▁");
///   Gemma: normalizer Replace(" ", "▁"), pre-tokenizer Split(" ") (a no-op
///     once spaces are replaced), no prefix;
///   newer Llama / Mistral: Metaspace("▁", prepend_scheme, split).
/// Sets `isSentencePiece` when the file is of this kind; false with `error`
/// when it is but spells it in a way lazyc does not read.
struct SentencePieceSpelling {
  Tokenizer::SpacePrefix prefix = Tokenizer::SpacePrefix::None;
  bool splitAtSpaces = false;
};
bool readSentencePieceSpelling(const JsonValue &json, const JsonValue &model,
                               bool &isSentencePiece, SentencePieceSpelling &spelling,
                               std::string &error) {
  std::vector<const JsonValue *> normalizers = stepsOf(json.get("normalizer"), "normalizers");
  std::vector<const JsonValue *> pre = stepsOf(json.get("pre_tokenizer"), "pretokenizers");
  auto isType = [](const JsonValue *step, const char *type) {
    return step->getString("type") == std::optional<std::string>(type);
  };
  bool replacesSpaces = false, prepends = false, metaspace = false;
  for (const JsonValue *step : normalizers)
    replacesSpaces |= isType(step, "Replace") && isStringPattern(*step, " ");
  for (const JsonValue *step : pre)
    metaspace |= isType(step, "Metaspace");
  isSentencePiece = replacesSpaces || metaspace || model.getBool("byte_fallback").value_or(false);
  if (!isSentencePiece)
    return true;
  const char *kRead = " (lazyc reads Prepend(\"\xE2\x96\x81\") + Replace(\" \", \"\xE2\x96\x81\"), "
                      "Replace + Split(\" \"), or Metaspace(\"\xE2\x96\x81\"))";
  for (const JsonValue *step : normalizers) {
    std::string kind = step->getString("type").value_or("?");
    if (kind == "Replace" && isStringPattern(*step, " ") &&
        step->getString("content") == std::optional<std::string>(kMetaspace))
      continue;
    if (kind == "Prepend" && step->getString("prepend") == std::optional<std::string>(kMetaspace)) {
      prepends = true;
      continue;
    }
    error = "tokenizer.json: unsupported normalizer step '" + kind +
            "' in a SentencePiece-style tokenizer" + kRead;
    return false;
  }
  if (prepends && !replacesSpaces) {
    error = "tokenizer.json: a Prepend(\"\xE2\x96\x81\") normalizer without Replace(\" \", "
            "\"\xE2\x96\x81\")" + std::string(kRead);
    return false;
  }
  spelling.prefix = prepends ? Tokenizer::SpacePrefix::EverySegment : Tokenizer::SpacePrefix::None;
  for (const JsonValue *step : pre) {
    std::string kind = step->getString("type").value_or("?");
    if (kind == "Split" && replacesSpaces && isStringPattern(*step, " "))
      continue; // no space is left to split at
    if (kind == "Metaspace" && !replacesSpaces && pre.size() == 1 &&
        step->getString("replacement").value_or(kMetaspace) == kMetaspace) {
      // tokenizers >= 0.19 writes prepend_scheme; older files add_prefix_space.
      std::string scheme = step->getString("prepend_scheme")
                               .value_or(step->getBool("add_prefix_space").value_or(true)
                                             ? "always"
                                             : "never");
      if (scheme == "first")
        spelling.prefix = Tokenizer::SpacePrefix::FirstUnlessSpace;
      else if (scheme == "always")
        spelling.prefix = Tokenizer::SpacePrefix::EveryUnlessSpace;
      else if (scheme != "never") {
        error = "tokenizer.json: unknown Metaspace prepend_scheme '" + scheme + "'";
        return false;
      }
      spelling.splitAtSpaces = step->getBool("split").value_or(true);
      continue;
    }
    error = "tokenizer.json: unsupported pre-tokenizer step '" + kind +
            "' in a SentencePiece-style tokenizer" + kRead;
    return false;
  }
  return true;
}
} // namespace

bool Tokenizer::readHFVocabulary(const JsonValue &json, const JsonValue &model,
                                 std::string &error) {
  const JsonValue *vocab = model.get("vocab");
  const JsonValue *merges = model.get("merges");
  if (!vocab || !vocab->isObject() || !merges || !merges->isArray()) {
    error = "tokenizer.json: model.vocab (object) and model.merges (array) are required";
    return false;
  }
  // Ids may come in any order: place each token at its id.
  std::vector<std::pair<std::string, int32_t>> entries; // text, type
  auto place = [&](const std::string &text, std::optional<int64_t> id, int32_t kind) {
    if (!id || *id < 0 || *id >= (int64_t(1) << 24)) {
      error = "tokenizer.json: token '" + text + "' has an invalid id";
      return false;
    }
    if (static_cast<size_t>(*id) >= entries.size())
      entries.resize(*id + 1, {std::string(), -1});
    entries[*id] = {text, kind};
    return true;
  };
  for (const auto &[text, id] : vocab->members())
    if (!place(text, id.integer(), kTypeNormal))
      return false;
  if (const JsonValue *added = json.get("added_tokens"); added && added->isArray())
    for (const JsonValue &t : added->array()) {
      std::optional<std::string> content = t.getString("content");
      if (!content) {
        error = "tokenizer.json: an added token has no content";
        return false;
      }
      bool special = t.getBool("special").value_or(false);
      if (!place(*content, t.getInt("id"), special ? kTypeControl : kTypeUserDefined))
        return false;
    }
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].second < 0) {
      error = "tokenizer.json: no token has id " + std::to_string(i);
      return false;
    }
    addToken(std::move(entries[i].first), entries[i].second);
  }
  finishVocabulary();
  for (size_t r = 0; r < merges->array().size(); ++r) {
    const JsonValue &m = merges->array()[r];
    std::string merge;
    if (m.isString())
      merge = m.string();
    else if (m.isArray() && m.array().size() == 2 && m.array()[0].isString() &&
             m.array()[1].isString())
      merge = m.array()[0].string() + " " + m.array()[1].string();
    if (merge.find(' ') == std::string::npos) {
      error = "tokenizer.json: malformed merge #" + std::to_string(r);
      return false;
    }
    mergeRanks_.emplace(merge, static_cast<int32_t>(r));
  }
  return true;
}

/// The <0xXX> byte-fallback tokens of a SentencePiece vocabulary.
void Tokenizer::findByteTokens() {
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    auto it = vocab_.find(name);
    byteTokens_[b] = it == vocab_.end() ? -1 : it->second;
    if (byteTokens_[b] >= 0 && tokenTypes_[byteTokens_[b]] == kTypeNormal)
      tokenTypes_[byteTokens_[b]] = kTypeByte;
  }
}

std::unique_ptr<Tokenizer> Tokenizer::fromHFJson(const JsonValue &json,
                                                 const JsonValue &config,
                                                 std::string &error) {
  const JsonValue *model = json.get("model");
  std::optional<std::string> type = model ? model->getString("type") : std::nullopt;
  if (!type || *type != "BPE") {
    error = "tokenizer.json: unsupported model type '" + type.value_or("?") +
            "' (lazyc reads BPE: byte-level, or SentencePiece-style with byte fallback)";
    return nullptr;
  }
  std::unique_ptr<Tokenizer> tok(new Tokenizer());
  bool sentencePiece = false;
  SentencePieceSpelling spelling;
  if (!readSentencePieceSpelling(json, *model, sentencePiece, spelling, error))
    return nullptr;
  // Byte-level: ByteLevel, optionally after Digits(individual_digits) or the
  // Llama 3 / Qwen2 Split.
  bool byteLevel = false;
  // Falcon's: Punctuation(contiguous), ByteLevel, Digits, Split([0-9]{3}):
  // the steps seen of it, in order.
  int falconSteps = 0;
  for (const JsonValue *step : sentencePiece ? std::vector<const JsonValue *>()
                                             : stepsOf(json.get("pre_tokenizer"), "pretokenizers")) {
    std::string kind = step->getString("type").value_or("");
    if (kind == "Punctuation" && !byteLevel && falconSteps == 0 &&
        (step->getString("behavior") == std::optional<std::string>("Contiguous") ||
         step->getString("behavior") == std::optional<std::string>("contiguous"))) {
      falconSteps = 1;
    } else if (falconSteps == 2 && kind == "Digits" &&
               !step->getBool("individual_digits").value_or(false)) {
      falconSteps = 3;
    } else if (falconSteps == 3 && kind == "Split" &&
               step->get("pattern") &&
               step->get("pattern")->getString("Regex") ==
                   std::optional<std::string>("[0-9][0-9][0-9]") &&
               step->getString("behavior") == std::optional<std::string>("Isolated")) {
      falconSteps = 4;
      tok->split_ = Split::Falcon;
    } else if (kind == "ByteLevel" && step->getBool("use_regex").value_or(true) &&
               !step->getBool("add_prefix_space").value_or(false) &&
               (falconSteps == 0 || falconSteps == 1)) {
      byteLevel = true;
      falconSteps = falconSteps == 1 ? 2 : 0;
    } else if (kind == "ByteLevel" && !step->getBool("use_regex").value_or(true) &&
               tok->split_ != Split::GPT2) {
      byteLevel = true; // the Split step before it did the regex split
    } else if (kind == "Digits" && step->getBool("individual_digits").value_or(false) &&
               !byteLevel) {
      tok->digitsIndividually_ = true;
    } else if (std::optional<Split> split = kind == "Split" && !byteLevel
                                                ? knownSplit(*step)
                                                : std::nullopt) {
      tok->split_ = *split;
    } else {
      error = "tokenizer.json: unsupported pre-tokenizer step '" + kind +
              "' (lazyc reads [Digits(individual_digits)] + ByteLevel(use_regex, "
              "no prefix space), the Llama 3 / Qwen2 / Tekken / o200k Split + ByteLevel, "
              "Falcon's Punctuation + ByteLevel + Digits + Split, and SentencePiece-style BPE)";
      return nullptr;
    }
  }
  if (falconSteps != 0 && falconSteps != 4) {
    error = "tokenizer.json: a Punctuation pre-tokenizer is read only as Falcon's sequence "
            "(Punctuation(contiguous), ByteLevel, Digits, Split([0-9][0-9][0-9]))";
    return nullptr;
  }
  // A byte-level tokenizer's normalizer: none, or NFC (Qwen2, GPT-NeoX);
  // another would change the text in ways lazyc does not repeat.
  for (const JsonValue *step : sentencePiece ? std::vector<const JsonValue *>()
                                             : stepsOf(json.get("normalizer"), "normalizers")) {
    std::string kind = step->getString("type").value_or("?");
    if (kind != "NFC") {
      error = "tokenizer.json: unsupported normalizer step '" + kind +
              "' in a byte-level tokenizer (lazyc applies NFC)";
      return nullptr;
    }
    tok->nfc_ = true;
  }
  if (!sentencePiece && !byteLevel) {
    error = "tokenizer.json: neither byte-level BPE (no ByteLevel pre-tokenizer) nor "
            "SentencePiece-style BPE (no \"\xE2\x96\x81\" for spaces, no byte fallback)";
    return nullptr;
  }
  if (!tok->readHFVocabulary(json, *model, error))
    return nullptr;
  if (sentencePiece) {
    tok->sentencePiece_ = true;
    tok->rankedMerges_ = true;
    tok->spacePrefix_ = spelling.prefix;
    tok->splitAtSpaces_ = spelling.splitAtSpaces;
    tok->findByteTokens();
    if (std::optional<std::string> unk = model->getString("unk_token"))
      if (auto it = tok->vocab_.find(*unk); it != tok->vocab_.end())
        tok->unk_ = it->second;
    // Without byte_fallback, <0xXX> tokens only decode: an unknown character
    // is <unk>, and with fuse_unk (Llama 2's tokenizer.json) a run of them is
    // one.
    if (!model->getBool("byte_fallback").value_or(false))
      std::fill(std::begin(tok->byteTokens_), std::end(tok->byteTokens_), -1);
    tok->mergeUnknown_ = model->getBool("fuse_unk").value_or(false);
  } else {
    buildByteMap(tok->byteToUnicode_, tok->unicodeToByte_);
  }
  tok->readHFSpecialIds(config);
  tok->settleEndOfTurn(-1);
  tok->addBos_ = tok->bos_ >= 0 && postProcessorAddsBos(json, tok->tokens_[tok->bos_]);
  return tok;
}

/// config.json's BOS and EOS ids (-1 where absent or out of range); an
/// `eos_token_id` list stops generation at each of its ids.
void Tokenizer::readHFSpecialIds(const JsonValue &config) {
  auto id = [&](const char *key) -> int32_t {
    std::optional<int64_t> v = config.getInt(key);
    return v && *v >= 0 && *v < vocabSize() ? static_cast<int32_t>(*v) : -1;
  };
  bos_ = id("bos_token_id");
  eos_ = id("eos_token_id");
  // A list of end-of-generation ids (transformers stops at any of them).
  if (const JsonValue *list = config.get("eos_token_id"); list && list->isArray()) {
    for (const JsonValue &v : list->array())
      if (v.isNumber() && v.number() >= 0 && v.number() < vocabSize() &&
          v.number() == std::floor(v.number()))
        stops_.push_back(static_cast<int32_t>(v.number()));
    if (!stops_.empty())
      eos_ = stops_.front();
  }
}

Tokenizer::~Tokenizer() = default;

std::unique_ptr<Tokenizer> Tokenizer::fromSentencePiece(std::string_view modelFile,
                                                        const JsonValue &config,
                                                        const JsonValue *tokenizerConfig,
                                                        std::string &error) {
  std::optional<SentencePieceModel> model = SentencePieceModel::parse(modelFile, error);
  if (!model) {
    error = "tokenizer.model: " + error;
    return nullptr;
  }
  using Type = SentencePieceModel::Type;
  if (model->type != Type::BPE && model->type != Type::Unigram) {
    error = "tokenizer.model: a SentencePiece " +
            std::string(model->type == Type::Word ? "word" : model->type == Type::Char ? "character"
                                                                                      : "unknown") +
            " model (model_type " + std::to_string(static_cast<int32_t>(model->type)) +
            "): lazyc reads BPE and Unigram models";
    return nullptr;
  }
  if (model->treatWhitespaceAsSuffix) {
    error = "tokenizer.model: treat_whitespace_as_suffix is not supported";
    return nullptr;
  }
  std::unique_ptr<Tokenizer> tok(new Tokenizer());
  tok->sentencePiece_ = true;
  tok->mergeUnknown_ = true;
  tok->unkSurface_ = model->unkSurface;
  auto normalizer = std::make_unique<SentencePieceNormalizer>();
  if (!normalizer->init(*model, error)) {
    error = "tokenizer.model: " + error;
    return nullptr;
  }
  tok->spmNormalizer_ = std::move(normalizer);
  if (model->type == Type::Unigram)
    tok->unigram_ = std::make_unique<UnigramSegmenter>(*model);
  tok->spacePrefix_ = model->addDummyPrefix ? SpacePrefix::TextStart : SpacePrefix::None;

  // The pieces, then tokenizer_config.json's added tokens: at a piece's id
  // they make it special; past the pieces they extend the vocabulary.
  std::vector<std::pair<std::string, int32_t>> entries; // text, type
  for (SentencePieceModel::Piece &p : model->pieces) {
    entries.emplace_back(std::move(p.text), p.type);
    tok->scores_.push_back(p.score);
  }
  const JsonValue *added = tokenizerConfig ? tokenizerConfig->get("added_tokens_decoder") : nullptr;
  if (added && added->isObject()) {
    for (const auto &[key, token] : added->members()) {
      std::optional<std::string> content = token.getString("content");
      char *end = nullptr;
      long long id = std::strtoll(key.c_str(), &end, 10);
      if (!content || content->empty() || key.empty() || *end || id < 0 || id >= (1 << 24)) {
        error = "tokenizer_config.json: added_tokens_decoder entry '" + key +
                "' needs a token id and a content";
        return nullptr;
      }
      if (static_cast<size_t>(id) >= entries.size())
        entries.resize(id + 1, {std::string(), -1});
      int32_t type = token.getBool("special").value_or(false) ? kTypeControl : kTypeUserDefined;
      // <unk> and byte tokens keep their type: they are special already.
      if (entries[id].second != kTypeUnknown && entries[id].second != kTypeByte)
        entries[id] = {*content, type};
    }
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].second < 0) {
      error = "tokenizer_config.json: added tokens leave id " + std::to_string(i) +
              " without a token (the model has " + std::to_string(model->pieces.size()) +
              " pieces)";
      return nullptr;
    }
    tok->addToken(std::move(entries[i].first), entries[i].second);
  }
  tok->finishVocabulary();
  tok->scores_.resize(tok->tokens_.size(), 0.0f);
  tok->findByteTokens();
  if (!model->byteFallback)
    std::fill(std::begin(tok->byteTokens_), std::end(tok->byteTokens_), -1);
  tok->unk_ = model->unkId;

  tok->readHFSpecialIds(config);
  auto modelId = [&](int32_t id) { return id >= 0 && id < tok->vocabSize() ? id : -1; };
  if (tok->bos_ < 0 && !config.get("bos_token_id"))
    tok->bos_ = modelId(model->bosId);
  if (tok->eos_ < 0 && !config.get("eos_token_id"))
    tok->eos_ = modelId(model->eosId);
  tok->settleEndOfTurn(-1);
  std::optional<bool> addBos =
      tokenizerConfig ? tokenizerConfig->getBool("add_bos_token") : std::nullopt;
  tok->addBos_ = tok->bos_ >= 0 && addBos.value_or(true);
  return tok;
}

std::unique_ptr<Tokenizer> Tokenizer::fromHFCheckpoint(const HFCheckpoint &checkpoint,
                                                       std::string &error) {
  std::unique_ptr<Tokenizer> tok =
      checkpoint.tokenizer()
          ? fromHFJson(*checkpoint.tokenizer(), checkpoint.config(), error)
          : fromSentencePiece(checkpoint.sentencePieceModel(), checkpoint.config(),
                              checkpoint.tokenizerConfig(), error);
  if (tok)
    tok->setChatTemplate(checkpoint.chatTemplate());
  return tok;
}

/// The shared part of both families: tokens, types, special tokens, ids.
bool Tokenizer::initVocabulary(const GGUFFile &file, std::string &error) {
  const GGUFValue *tokens = stringArray(file, "tokenizer.ggml.tokens", error);
  if (!tokens)
    return false;
  if (tokens->array.empty() || tokens->array.size() > INT32_MAX) {
    error = "tokenizer vocabulary size " + std::to_string(tokens->array.size()) +
            " is out of range";
    return false;
  }
  size_t n = tokens->array.size();
  tokens_.reserve(n);
  tokenTypes_.assign(n, kTypeNormal);
  if (const GGUFValue *types = file.find("tokenizer.ggml.token_type")) {
    if (types->type != GGUFValueType::Array || types->array.size() != n) {
      error = "tokenizer.ggml.token_type must be an array with one entry per token";
      return false;
    }
    for (size_t i = 0; i < n; ++i)
      tokenTypes_[i] = static_cast<int32_t>(types->array[i].asInt().value_or(kTypeNormal));
  }
  std::vector<int32_t> types = std::move(tokenTypes_);
  tokenTypes_.clear();
  for (size_t i = 0; i < n; ++i)
    addToken(tokens->array[i].str, types[i]);
  finishVocabulary();
  auto tokenId = [&](const char *key) -> int32_t {
    std::optional<int64_t> id = file.getInt(key);
    return id && *id >= 0 && *id < static_cast<int64_t>(n) ? static_cast<int32_t>(*id) : -1;
  };
  bos_ = tokenId("tokenizer.ggml.bos_token_id");
  eos_ = tokenId("tokenizer.ggml.eos_token_id");
  settleEndOfTurn(tokenId("tokenizer.ggml.eot_token_id"));
  if (const GGUFValue *v = file.find("tokenizer.ggml.add_bos_token"))
    addBos_ = v->type == GGUFValueType::Bool && v->b;
  chatTemplate_ = file.getString("tokenizer.chat_template").value_or("");
  return true;
}

std::unique_ptr<Tokenizer>
Tokenizer::initSentencePiece(std::unique_ptr<Tokenizer> tok, const GGUFFile &file,
                             std::string &error) {
  tok->sentencePiece_ = true;
  tok->addBos_ = true; // Llama's default unless the file says otherwise
  if (!tok->initVocabulary(file, error))
    return nullptr;
  const GGUFValue *scores = file.find("tokenizer.ggml.scores");
  if (!scores || scores->type != GGUFValueType::Array ||
      scores->array.size() != tok->tokens_.size()) {
    error = "SentencePiece tokenizer needs tokenizer.ggml.scores with one score per token";
    return nullptr;
  }
  tok->scores_.reserve(scores->array.size());
  for (const GGUFValue &v : scores->array)
    tok->scores_.push_back(static_cast<float>(v.asFloat().value_or(0.0)));
  if (const GGUFValue *v = file.find("tokenizer.ggml.add_space_prefix"))
    tok->spacePrefix_ = v->type == GGUFValueType::Bool && v->b ? SpacePrefix::TextStart
                                                                : SpacePrefix::None;
  tok->findByteTokens();
  if (std::optional<int64_t> unk = file.getInt("tokenizer.ggml.unknown_token_id");
      unk && *unk >= 0 && *unk < tok->vocabSize())
    tok->unk_ = static_cast<int32_t>(*unk);
  return tok;
}

std::unique_ptr<Tokenizer> Tokenizer::fromGGUF(const GGUFFile &file,
                                               std::string &error) {
  std::optional<std::string> model = file.getString("tokenizer.ggml.model");
  if (!model) {
    error = "the model file has no tokenizer (tokenizer.ggml.model missing)";
    return nullptr;
  }
  if (*model != "gpt2" && *model != "llama") {
    error = "unsupported tokenizer model '" + *model +
            "' (lazyc supports 'gpt2' byte-level BPE and 'llama' SentencePiece BPE)";
    return nullptr;
  }
  std::unique_ptr<Tokenizer> tok(new Tokenizer());
  if (*model == "llama")
    return initSentencePiece(std::move(tok), file, error);
  std::string pre = file.getString("tokenizer.ggml.pre").value_or("default");
  const PreTokenizer *preTok = nullptr;
  for (const PreTokenizer &p : kPreTokenizers)
    if (pre == p.name)
      preTok = &p;
  if (!preTok) {
    std::string known;
    for (const PreTokenizer &p : kPreTokenizers)
      known += std::string(known.empty() ? "" : ", ") + p.name;
    error = "unsupported pre-tokenizer '" + pre + "' (supported: " + known + ")";
    return nullptr;
  }
  tok->digitsIndividually_ = preTok->digitsIndividually;
  tok->split_ = preTok->split;

  const GGUFValue *merges = stringArray(file, "tokenizer.ggml.merges", error);
  if (!merges || !tok->initVocabulary(file, error))
    return nullptr;
  for (size_t r = 0; r < merges->array.size(); ++r) {
    const std::string &merge = merges->array[r].str;
    size_t space = merge.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == merge.size()) {
      error = "malformed BPE merge #" + std::to_string(r) + ": '" + merge + "'";
      return nullptr;
    }
    tok->mergeRanks_.emplace(merge, static_cast<int32_t>(r));
  }
  buildByteMap(tok->byteToUnicode_, tok->unicodeToByte_);
  // GLM-4: llama.cpp never adds a BOS (its chat template writes [gMASK]<sop>).
  if (pre == "glm4" || pre == "chatglm-bpe")
    tok->addBos_ = false;
  return tok;
}

void Tokenizer::bpe(std::string_view piece, std::vector<int32_t> &ids) const {
  // Symbols start as the byte-mapped characters of the piece.
  std::vector<std::string> symbols;
  symbols.reserve(piece.size());
  for (unsigned char b : piece)
    symbols.push_back(byteToUnicode_[b]);
  std::string key;
  while (symbols.size() > 1) {
    int32_t bestRank = INT32_MAX;
    size_t best = 0;
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
      key.assign(symbols[i]).append(" ").append(symbols[i + 1]);
      auto it = mergeRanks_.find(key);
      if (it != mergeRanks_.end() && it->second < bestRank) {
        bestRank = it->second;
        best = i;
      }
    }
    if (bestRank == INT32_MAX)
      break;
    symbols[best] += symbols[best + 1];
    symbols.erase(symbols.begin() + best + 1);
  }
  for (const std::string &s : symbols) {
    auto it = vocab_.find(s);
    if (it != vocab_.end()) {
      ids.push_back(it->second);
      continue;
    }
    // Not in the vocabulary (a byte some vocabularies lack, e.g. SmolLM2's
    // control characters, or an inconsistent merge): use the per-byte tokens
    // that exist and drop the others, as Hugging Face's BPE without an
    // unknown token does.
    std::vector<uint32_t> cps;
    std::vector<size_t> offsets;
    std::string ignored;
    uc::decodeUtf8(s, cps, offsets, ignored);
    for (uint32_t cp : cps) {
      auto byte = unicodeToByte_.find(cp);
      if (byte == unicodeToByte_.end())
        continue;
      auto single = vocab_.find(byteToUnicode_[byte->second]);
      if (single != vocab_.end())
        ids.push_back(single->second);
    }
  }
}

void Tokenizer::encodeText(const std::vector<uint32_t> &cps, size_t begin,
                           size_t end, std::vector<int32_t> &ids) const {
  std::string piece;
  auto emit = [&](size_t from, size_t to) {
    piece.clear();
    for (size_t k = from; k < to; ++k)
      uc::appendUtf8(cps[k], piece);
    bpe(piece, ids);
  };
  // Falcon's: each GPT-2 piece's digit runs apart, in groups of 3 ASCII
  // digits from the left ([0-9]{3}, isolated). As tokenizers runs them after
  // ByteLevel, on the byte-mapped characters: a byte is a digit when its
  // character is numeric, 0-9 and the bytes 0xB2, 0xB3, 0xB9, 0xBC-0xBE
  // (mapped to ², ³, ¹, ¼, ½, ¾: UTF-8 continuation bytes too, so a character
  // like "ü", C3 BC, comes apart as tokenizers takes it apart).
  auto falconDigits = [&](size_t from, size_t to) {
    std::string bytes;
    for (size_t k = from; k < to; ++k)
      uc::appendUtf8(cps[k], bytes);
    auto ascii = [&](size_t k) { return bytes[k] >= '0' && bytes[k] <= '9'; };
    auto numeric = [&](size_t k) {
      const auto b = static_cast<unsigned char>(bytes[k]);
      return (b >= '0' && b <= '9') || b == 0xB2 || b == 0xB3 || b == 0xB9 ||
             (b >= 0xBC && b <= 0xBE);
    };
    auto part = [&](size_t a, size_t b) { bpe(std::string_view(bytes).substr(a, b - a), ids); };
    for (size_t i = 0; i < bytes.size();) {
      size_t j = i;
      const bool digits = numeric(i);
      while (j < bytes.size() && numeric(j) == digits)
        ++j;
      size_t start = i;
      for (size_t k = i; digits && k + 3 <= j;) {
        if (ascii(k) && ascii(k + 1) && ascii(k + 2)) {
          if (k > start)
            part(start, k);
          part(k, k + 3);
          start = k += 3;
        } else {
          ++k;
        }
      }
      if (j > start)
        part(start, j);
      i = j;
    }
  };
  if (split_ == Split::Falcon) {
    // Runs of punctuation and of the rest apart, then GPT-2's split of each.
    for (size_t i = begin; i < end;) {
      size_t j = i;
      const bool punctuation = uc::isPunctuation(cps[i]);
      while (j < end && uc::isPunctuation(cps[j]) == punctuation)
        ++j;
      for (size_t k = i; k < j;) {
        size_t len = punctuation ? j - k : gpt2Match(cps, k, j);
        falconDigits(k, k + len);
        k += len;
      }
      i = j;
    }
    return;
  }
  auto regexSplit = [&](size_t from, size_t to) {
    for (size_t i = from; i < to;) {
      size_t len = split_ == Split::GPT2     ? gpt2Match(cps, i, to)
                   : split_ == Split::Llama3 ? llama3Match(cps, i, to, 3)
                   : split_ == Split::Qwen2  ? llama3Match(cps, i, to, 1)
                                             : tekkenMatch(cps, i, to, split_ == Split::O200K);
      emit(i, i + len);
      i += len;
    }
  };
  if (!digitsIndividually_) {
    regexSplit(begin, end);
    return;
  }
  size_t start = begin;
  for (size_t i = begin; i < end; ++i) {
    if (uc::isNumber(cps[i])) {
      regexSplit(start, i);
      emit(i, i + 1);
      start = i + 1;
    }
  }
  regexSplit(start, end);
}

bool Tokenizer::encode(std::string_view text, std::vector<int32_t> &ids,
                       std::string &error, bool addBos,
                       bool parseSpecial) const {
  ids.clear();
  std::vector<uint32_t> cps;
  std::vector<size_t> offsets;
  if (!uc::decodeUtf8(text, cps, offsets, error)) {
    error = "cannot tokenize: " + error;
    return false;
  }
  if (addBos && bos_ >= 0)
    ids.push_back(bos_);
  size_t segment = 0;
  for (size_t i = 0; parseSpecial && i < cps.size(); ++i) {
    size_t byte = offsets[i];
    if (!specialFirstByte_[static_cast<unsigned char>(text[byte])])
      continue;
    std::string_view rest = text.substr(byte);
    for (const auto &[special, id] : specials_) {
      if (rest.compare(0, special.size(), special) != 0)
        continue;
      encodeFragment(text, cps, offsets, segment, i, ids);
      ids.push_back(id);
      // Continue after the code points the special token covers.
      size_t endByte = byte + special.size();
      while (i + 1 < cps.size() && offsets[i + 1] < endByte)
        ++i;
      segment = i + 1;
      break;
    }
  }
  encodeFragment(text, cps, offsets, segment, cps.size(), ids);
  return true;
}

void Tokenizer::encodeFragment(std::string_view text, const std::vector<uint32_t> &cps,
                               const std::vector<size_t> &offsets, size_t begin,
                               size_t end, std::vector<int32_t> &ids) const {
  if (begin >= end)
    return;
  if (!sentencePiece_ && nfc_) {
    // NFC of the text between special tokens, before it is split.
    std::vector<uint32_t> normalized;
    if (uc::toNFC(cps.data() + begin, cps.data() + end, normalized))
      return encodeText(normalized, 0, normalized.size(), ids);
  }
  if (!sentencePiece_)
    return encodeText(cps, begin, end, ids);
  spm(text.substr(offsets[begin], offsets[end] - offsets[begin]), begin == 0,
      end == cps.size(), ids);
}

void Tokenizer::spm(std::string_view fragment, bool atStart, bool atEnd,
                    std::vector<int32_t> &ids) const {
  if (spmNormalizer_) {
    std::string text = spmNormalizer_->normalize(fragment, atStart, atEnd);
    return unigram_ ? unigramWord(text, ids) : spmWord(text, ids);
  }
  // Normalize: spaces become U+2581, after a "▁" prefix where the spelling
  // puts one (`atStart`: the fragment starts the text).
  bool startsWithSpace = fragment.front() == ' ' || fragment.substr(0, 3) == kMetaspace;
  bool prefix = false;
  switch (spacePrefix_) {
  case SpacePrefix::None:
    break;
  case SpacePrefix::TextStart:
    prefix = atStart;
    break;
  case SpacePrefix::EverySegment:
    prefix = true;
    break;
  case SpacePrefix::FirstUnlessSpace:
    prefix = atStart && !startsWithSpace;
    break;
  case SpacePrefix::EveryUnlessSpace:
    prefix = !startsWithSpace;
    break;
  }
  std::string text = prefix ? kMetaspace : "";
  for (char c : fragment) {
    if (c == ' ')
      text += kMetaspace;
    else
      text += c;
  }
  if (!splitAtSpaces_)
    return spmWord(text, ids);
  // Metaspace split: a word starts at each "▁" (which it keeps).
  size_t begin = 0;
  for (size_t at = text.find(kMetaspace, 1); at != std::string::npos;
       at = text.find(kMetaspace, at + 3)) {
    if (at > begin)
      spmWord(std::string_view(text).substr(begin, at - begin), ids);
    begin = at;
  }
  spmWord(std::string_view(text).substr(begin), ids);
}

void Tokenizer::spmWord(std::string_view text, std::vector<int32_t> &ids) const {
  // Symbols: one per UTF-8 character, linked so merges are O(1).
  struct Symbol {
    size_t begin, length;
    int prev, next;
  };
  std::vector<Symbol> symbols;
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    len = std::min(len, text.size() - i);
    symbols.push_back({i, len, static_cast<int>(symbols.size()) - 1,
                       static_cast<int>(symbols.size()) + 1});
    i += len;
  }
  if (symbols.empty())
    return;
  symbols.back().next = -1;
  // Highest-scoring merge first; ties go to the leftmost (sentencepiece).
  // Ranked merges (tokenizer.json) score -rank: the lowest rank first, as
  // Hugging Face's BPE merges.
  struct Bigram {
    int left, right;
    float score;
    size_t length;
  };
  auto worse = [](const Bigram &a, const Bigram &b) {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  };
  std::priority_queue<Bigram, std::vector<Bigram>, decltype(worse)> queue(worse);
  auto tryAdd = [&](int left, int right) {
    if (left < 0 || right < 0)
      return;
    size_t length = symbols[left].length + symbols[right].length;
    if (rankedMerges_) {
      std::string pair(text.substr(symbols[left].begin, symbols[left].length));
      pair += ' ';
      pair += text.substr(symbols[right].begin, symbols[right].length);
      auto it = mergeRanks_.find(pair);
      if (it != mergeRanks_.end())
        queue.push({left, right, -static_cast<float>(it->second), length});
      return;
    }
    auto it = vocab_.find(std::string(text.substr(symbols[left].begin, length)));
    if (it == vocab_.end())
      return;
    queue.push({left, right, scores_[it->second], length});
  };
  for (size_t i = 1; i < symbols.size(); ++i)
    tryAdd(static_cast<int>(i) - 1, static_cast<int>(i));
  while (!queue.empty()) {
    Bigram top = queue.top();
    queue.pop();
    Symbol &left = symbols[top.left], &right = symbols[top.right];
    // Stale entry: one side was merged away since it was queued.
    if (left.length == 0 || right.length == 0 ||
        left.length + right.length != top.length)
      continue;
    left.length += right.length;
    right.length = 0;
    left.next = right.next;
    if (right.next >= 0)
      symbols[right.next].prev = top.left;
    tryAdd(left.prev, top.left);
    tryAdd(top.left, left.next);
  }
  bool previousUnknown = false;
  for (int i = 0; i >= 0; i = symbols[i].next) {
    std::string piece(text.substr(symbols[i].begin, symbols[i].length));
    auto it = vocab_.find(piece);
    if (it != vocab_.end()) {
      ids.push_back(it->second);
      previousUnknown = false;
      continue;
    }
    unknownPiece(piece, previousUnknown, ids);
  }
}

void Tokenizer::unknownPiece(std::string_view piece, bool &previousUnknown,
                             std::vector<int32_t> &ids) const {
  // Byte fallback; a character without byte tokens is unknown.
  bool bytes = std::all_of(piece.begin(), piece.end(),
                           [&](char c) { return byteTokens_[static_cast<uint8_t>(c)] >= 0; });
  if (bytes) {
    for (unsigned char byte : piece)
      ids.push_back(byteTokens_[byte]);
  } else if (unk_ >= 0 && !(mergeUnknown_ && previousUnknown)) {
    ids.push_back(unk_);
  }
  previousUnknown = !bytes;
}

void Tokenizer::unigramWord(std::string_view text, std::vector<int32_t> &ids) const {
  std::vector<UnigramSegmenter::Segment> segments;
  unigram_->segment(text, segments);
  bool previousUnknown = false;
  for (const UnigramSegmenter::Segment &s : segments) {
    if (s.id >= 0) {
      ids.push_back(s.id);
      previousUnknown = false;
    } else {
      unknownPiece(text.substr(s.begin, s.length), previousUnknown, ids);
    }
  }
}

std::string Tokenizer::tokenText(int32_t id) const {
  if (id < 0 || id >= vocabSize())
    return {};
  const std::string &token = tokens_[id];
  int32_t type = tokenTypes_[id];
  if (sentencePiece_) {
    if (type == kTypeControl)
      return {};
    if (type == kTypeUnknown && !unkSurface_.empty())
      return unkSurface_;
    if (type == kTypeByte && token.size() == 6 && token.compare(0, 3, "<0x") == 0)
      return std::string(1, static_cast<char>(std::stoi(token.substr(3, 2), nullptr, 16)));
    std::string out;
    for (size_t i = 0; i < token.size(); ++i) {
      if (token.compare(i, 3, "\xE2\x96\x81") == 0) {
        out += ' ';
        i += 2;
      } else {
        out += token[i];
      }
    }
    return out;
  }
  if (type == kTypeControl || type == kTypeUserDefined)
    return token;
  std::vector<uint32_t> cps;
  std::vector<size_t> offsets;
  std::string ignored, bytes;
  if (!uc::decodeUtf8(token, cps, offsets, ignored))
    return token;
  for (uint32_t cp : cps) {
    auto it = unicodeToByte_.find(cp);
    if (it != unicodeToByte_.end())
      bytes += static_cast<char>(it->second);
    else
      uc::appendUtf8(cp, bytes);
  }
  return bytes;
}

bool Tokenizer::decode(const std::vector<int32_t> &ids, std::string &text,
                       std::string &error) const {
  text.clear();
  bool sawText = false;
  for (int32_t id : ids) {
    if (id < 0 || id >= vocabSize()) {
      error = "token id " + std::to_string(id) + " is outside the vocabulary [0, " +
              std::to_string(vocabSize()) + ")";
      return false;
    }
    std::string piece = tokenText(id);
    // SentencePiece: the dummy prefix space of the first piece is not text.
    if (sentencePiece_ && spacePrefix_ != SpacePrefix::None && !sawText && !piece.empty()) {
      if (piece[0] == ' ')
        piece.erase(0, 1);
      sawText = true;
    }
    text += piece;
  }
  return true;
}

bool Tokenizer::isEndOfGeneration(int32_t id) const {
  return id >= 0 && (id == eos_ || id == eot_ ||
                     std::find(stops_.begin(), stops_.end(), id) != stops_.end());
}

void Tokenizer::settleEndOfTurn(int32_t fromFile) {
  eot_ = fromFile >= 0 ? fromFile : endOfTurnToken();
  auto ret = vocab_.find("<|return|>"), call = vocab_.find("<|call|>"),
       end = vocab_.find("<|end|>");
  if (ret == vocab_.end() || call == vocab_.end())
    return;
  if (end != vocab_.end() && eot_ == end->second)
    eot_ = ret->second;
  if (eos_ == -1 || (end != vocab_.end() && eos_ == end->second))
    eos_ = ret->second;
  if (std::find(stops_.begin(), stops_.end(), call->second) == stops_.end())
    stops_.push_back(call->second);
}

int32_t Tokenizer::endOfTurnToken() const {
  for (const char *text : {"<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>"})
    if (auto it = vocab_.find(text); it != vocab_.end())
      return it->second;
  return -1;
}

namespace {
/// A JSON value as a Jinja one (an integral number as an integer).
jinja::Value jinjaValue(const JsonValue &v) {
  switch (v.kind()) {
  case JsonValue::Kind::Null: return jinja::Value::none();
  case JsonValue::Kind::Bool: return jinja::Value::boolean(v.boolean());
  case JsonValue::Kind::Number:
    if (std::optional<int64_t> i = v.integer())
      return jinja::Value::integer(*i);
    return jinja::Value::number(v.number());
  case JsonValue::Kind::String: return jinja::Value::string(v.string());
  case JsonValue::Kind::Array: {
    jinja::List items;
    for (const JsonValue &x : v.array())
      items.push_back(jinjaValue(x));
    return jinja::Value::makeList(std::move(items));
  }
  case JsonValue::Kind::Object: {
    jinja::Dict members;
    for (const auto &[k, x] : v.members())
      members.emplace_back(k, jinjaValue(x));
    return jinja::Value::makeDict(std::move(members));
  }
  }
  return jinja::Value();
}

const char *const kTemplateVariables[] = {"messages",  "add_generation_prompt", "bos_token",
                                          "eos_token", "tools",                 "documents"};
} // namespace

std::unique_ptr<JsonValue> Tokenizer::parseChatTemplateKwargs(std::string_view json,
                                                             std::string &error) {
  std::unique_ptr<JsonValue> kwargs = JsonValue::parse(json, error);
  if (!kwargs) {
    error = "chat template arguments: " + error;
    return nullptr;
  }
  if (!kwargs->isObject()) {
    error = "chat template arguments must be a JSON object ({\"name\": value, ...})";
    return nullptr;
  }
  for (const auto &[key, value] : kwargs->members())
    for (const char *reserved : kTemplateVariables)
      if (key == reserved) {
        error = "chat template argument '" + key + "' is set by lazyc (the conversation and "
                "the model's tokens)";
        return nullptr;
      }
  return kwargs;
}

bool Tokenizer::applyChatTemplate(const std::vector<ChatMessage> &messages,
                                  bool addGenerationPrompt, std::string &out,
                                  std::string &error, const JsonValue *kwargs) const {
  out.clear();
  if (chatTemplate_.empty()) {
    error = "the model has no chat template";
    return false;
  }
  for (const ChatMessage &m : messages)
    if (m.role != "system" && m.role != "user" && m.role != "assistant") {
      error = "unknown chat role '" + m.role + "'";
      return false;
    }
  std::unique_ptr<jinja::Template> compiled = jinja::Template::parse(chatTemplate_, error);
  if (!compiled)
    return false;
  // The variables transformers' apply_chat_template gives a template.
  jinja::List list;
  for (const ChatMessage &m : messages)
    list.push_back(jinja::Value::makeDict(
        {{"role", jinja::Value::string(m.role)}, {"content", jinja::Value::string(m.content)}}));
  auto tokenString = [&](int32_t id) {
    return jinja::Value::string(id >= 0 ? tokens_[static_cast<size_t>(id)] : "");
  };
  std::map<std::string, jinja::Value> globals = {
      {"messages", jinja::Value::makeList(std::move(list))},
      {"add_generation_prompt", jinja::Value::boolean(addGenerationPrompt)},
      {"bos_token", tokenString(bos_)},
      {"eos_token", tokenString(eos_)},
      {"tools", jinja::Value::none()},
      {"documents", jinja::Value::none()},
  };
  if (kwargs)
    for (const auto &[key, value] : kwargs->members())
      globals[key] = jinjaValue(value);
  return compiled->render(globals, out, error);
}
