//===- Tokenizer.cpp - byte-level BPE tokenizer ----------------------------===//

#include "runtime/model/Tokenizer.h"

#include "runtime/model/GGUF.h"
#include "runtime/model/Unicode.h"

#include <algorithm>
#include <climits>

using namespace lazyc::rt;
namespace uc = lazyc::rt::unicode;

namespace {
// llama.cpp token types.
constexpr int32_t kTypeNormal = 1, kTypeControl = 3, kTypeUserDefined = 4;

/// Pre-tokenizers (`tokenizer.ggml.pre`) whose split is the GPT-2 regex,
/// optionally preceded by splitting every digit into its own piece.
struct PreTokenizer {
  const char *name;
  bool digitsIndividually;
};
const PreTokenizer kPreTokenizers[] = {
    {"default", false}, {"gpt2", false},      {"gpt-2", false},
    {"smollm", true},   {"starcoder", true},  {"refact", true},
    {"codeshell", true},
};

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

std::unique_ptr<Tokenizer> Tokenizer::fromGGUF(const GGUFFile &file,
                                               std::string &error) {
  std::optional<std::string> model = file.getString("tokenizer.ggml.model");
  if (!model) {
    error = "the model file has no tokenizer (tokenizer.ggml.model missing)";
    return nullptr;
  }
  if (*model != "gpt2") {
    error = "unsupported tokenizer model '" + *model +
            "' (lazyc supports byte-level BPE, 'gpt2')";
    return nullptr;
  }
  std::unique_ptr<Tokenizer> tok(new Tokenizer());
  std::string pre = file.getString("tokenizer.ggml.pre").value_or("default");
  const PreTokenizer *preTok = nullptr;
  for (const PreTokenizer &p : kPreTokenizers)
    if (pre == p.name)
      preTok = &p;
  if (!preTok) {
    error = "unsupported pre-tokenizer '" + pre +
            "' (supported: default, gpt2, smollm, starcoder, refact, codeshell)";
    return nullptr;
  }
  tok->digitsIndividually_ = preTok->digitsIndividually;

  const GGUFValue *tokens = stringArray(file, "tokenizer.ggml.tokens", error);
  const GGUFValue *merges = tokens ? stringArray(file, "tokenizer.ggml.merges", error) : nullptr;
  if (!tokens || !merges)
    return nullptr;
  if (tokens->array.empty() || tokens->array.size() > INT32_MAX) {
    error = "tokenizer vocabulary size " + std::to_string(tokens->array.size()) +
            " is out of range";
    return nullptr;
  }
  size_t n = tokens->array.size();
  tok->tokens_.reserve(n);
  tok->tokenTypes_.assign(n, kTypeNormal);
  if (const GGUFValue *types = file.find("tokenizer.ggml.token_type")) {
    if (types->type != GGUFValueType::Array || types->array.size() != n) {
      error = "tokenizer.ggml.token_type must be an array with one entry per token";
      return nullptr;
    }
    for (size_t i = 0; i < n; ++i)
      tok->tokenTypes_[i] = static_cast<int32_t>(types->array[i].asInt().value_or(kTypeNormal));
  }
  for (size_t i = 0; i < n; ++i) {
    const std::string &text = tokens->array[i].str;
    tok->tokens_.push_back(text);
    tok->vocab_.emplace(text, static_cast<int32_t>(i));
    int32_t type = tok->tokenTypes_[i];
    if ((type == kTypeControl || type == kTypeUserDefined) && !text.empty()) {
      tok->specials_.emplace_back(text, static_cast<int32_t>(i));
      tok->specialFirstByte_[static_cast<unsigned char>(text[0])] = true;
    }
  }
  std::stable_sort(tok->specials_.begin(), tok->specials_.end(),
                   [](const auto &a, const auto &b) { return a.first.size() > b.first.size(); });
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

  auto tokenId = [&](const char *key) -> int32_t {
    std::optional<int64_t> id = file.getInt(key);
    return id && *id >= 0 && *id < static_cast<int64_t>(n) ? static_cast<int32_t>(*id) : -1;
  };
  tok->bos_ = tokenId("tokenizer.ggml.bos_token_id");
  tok->eos_ = tokenId("tokenizer.ggml.eos_token_id");
  tok->eot_ = tokenId("tokenizer.ggml.eot_token_id");
  if (tok->eot_ < 0) {
    auto it = tok->vocab_.find("<|im_end|>");
    if (it != tok->vocab_.end())
      tok->eot_ = it->second;
  }
  if (const GGUFValue *v = file.find("tokenizer.ggml.add_bos_token"))
    tok->addBos_ = v->type == GGUFValueType::Bool && v->b;
  tok->chatTemplate_ = file.getString("tokenizer.chat_template").value_or("");
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
  auto regexSplit = [&](size_t from, size_t to) {
    for (size_t i = from; i < to;) {
      size_t len = gpt2Match(cps, i, to);
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
      encodeText(cps, segment, i, ids);
      ids.push_back(id);
      // Continue after the code points the special token covers.
      size_t endByte = byte + special.size();
      while (i + 1 < cps.size() && offsets[i + 1] < endByte)
        ++i;
      segment = i + 1;
      break;
    }
  }
  encodeText(cps, segment, cps.size(), ids);
  return true;
}

std::string Tokenizer::tokenText(int32_t id) const {
  if (id < 0 || id >= vocabSize())
    return {};
  const std::string &token = tokens_[id];
  int32_t type = tokenTypes_[id];
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
  for (int32_t id : ids) {
    if (id < 0 || id >= vocabSize()) {
      error = "token id " + std::to_string(id) + " is outside the vocabulary [0, " +
              std::to_string(vocabSize()) + ")";
      return false;
    }
    text += tokenText(id);
  }
  return true;
}

bool Tokenizer::isEndOfGeneration(int32_t id) const {
  return id >= 0 && (id == eos_ || id == eot_);
}

bool Tokenizer::applyChatTemplate(const std::vector<ChatMessage> &messages,
                                  bool addGenerationPrompt, std::string &out,
                                  std::string &error) const {
  if (chatTemplate_.find("<|im_start|>") == std::string::npos) {
    error = chatTemplate_.empty()
                ? "the model has no chat template"
                : "unsupported chat template (lazyc renders the ChatML family)";
    return false;
  }
  out.clear();
  // SmolLM2's template adds its default system prompt when none is given.
  const std::string kDefaultSystem =
      "You are a helpful AI assistant named SmolLM, trained by Hugging Face";
  bool smolDefault = chatTemplate_.find(kDefaultSystem) != std::string::npos;
  if (smolDefault && (messages.empty() || messages.front().role != "system"))
    out += "<|im_start|>system\n" + kDefaultSystem + "<|im_end|>\n";
  for (const ChatMessage &m : messages) {
    if (m.role != "system" && m.role != "user" && m.role != "assistant") {
      error = "unknown chat role '" + m.role + "'";
      return false;
    }
    out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
  }
  if (addGenerationPrompt)
    out += "<|im_start|>assistant\n";
  return true;
}
