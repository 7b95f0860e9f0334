//===- Safetensors.cpp - Hugging Face checkpoints --------------------------===//

#include "runtime/model/Safetensors.h"

#include <cstring>
#include <set>
#include <sys/stat.h>

using namespace lazyc::rt;

namespace {
constexpr uint64_t kMaxHeader = 100u << 20; // the format's own limit is 100 MB

} // namespace

SafetensorsFile::~SafetensorsFile() = default;

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string &path,
                                                       std::string &error) {
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  if (!file->mapping_.open(path, error))
    return nullptr;
  file->image_ = file->mapping_.data();
  file->size_ = file->mapping_.size();
  if (!file->parseImage(error)) {
    error = "'" + path + "': " + error;
    return nullptr;
  }
  return file;
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::parse(const uint8_t *data, size_t size,
                                                        std::string &error) {
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->image_ = data;
  file->size_ = size;
  if (!file->parseImage(error))
    return nullptr;
  return file;
}

bool SafetensorsFile::parseImage(std::string &error) {
  if (size_ < 8) {
    error = "not a safetensors file (shorter than its 8-byte header length)";
    return false;
  }
  uint64_t headerSize;
  std::memcpy(&headerSize, image_, 8);
  if (headerSize > kMaxHeader || headerSize > size_ - 8) {
    error = "invalid safetensors file: header length " + std::to_string(headerSize) +
            " exceeds the file (" + std::to_string(size_) + " bytes)";
    return false;
  }
  std::string jsonError;
  auto header = JsonValue::parse(
      std::string_view(reinterpret_cast<const char *>(image_ + 8), headerSize), jsonError);
  if (!header) {
    error = "invalid safetensors header: " + jsonError;
    return false;
  }
  if (!header->isObject()) {
    error = "invalid safetensors header: not a JSON object";
    return false;
  }
  const uint8_t *data = image_ + 8 + headerSize;
  uint64_t dataSize = size_ - 8 - headerSize;
  for (const auto &[name, entry] : header->members()) {
    if (name == "__metadata__")
      continue;
    auto bad = [&](const std::string &what) {
      error = "invalid safetensors header: tensor '" + name + "' " + what;
      return false;
    };
    if (!entry.isObject())
      return bad("is not an object");
    std::optional<std::string> dtype = entry.getString("dtype");
    const JsonValue *shape = entry.get("shape");
    const JsonValue *offsets = entry.get("data_offsets");
    if (!dtype || !shape || !shape->isArray() || !offsets || !offsets->isArray() ||
        offsets->array().size() != 2)
      return bad("needs dtype, shape and data_offsets [begin, end]");
    SafetensorsTensor t;
    t.name = name;
    uint64_t elementSize;
    if (*dtype == "F32") {
      t.type = GGMLType::F32;
      elementSize = 4;
    } else if (*dtype == "F16") {
      t.type = GGMLType::F16;
      elementSize = 2;
    } else if (*dtype == "BF16") {
      t.type = GGMLType::BF16;
      elementSize = 2;
    } else if (*dtype == "U8") { // (gpt-oss's MXFP4 blocks and scales)
      t.type = GGMLType::U8;
      elementSize = 1;
    } else {
      return bad("has unsupported dtype " + *dtype + " (F32, F16, BF16 and U8 are supported)");
    }
    if (shape->array().size() > 8)
      return bad("has more than 8 dimensions");
    uint64_t elements = 1;
    for (const JsonValue &d : shape->array()) {
      std::optional<int64_t> dim = d.integer();
      if (!dim || *dim < 0 || (*dim > 0 && elements > (uint64_t(1) << 48) / *dim))
        return bad("has an invalid or absurd shape");
      t.shape.push_back(static_cast<uint64_t>(*dim));
      elements *= static_cast<uint64_t>(*dim);
    }
    std::optional<int64_t> begin = offsets->array()[0].integer(),
                           end = offsets->array()[1].integer();
    if (!begin || !end || *begin < 0 || *end < *begin ||
        static_cast<uint64_t>(*end) > dataSize)
      return bad("has data_offsets outside the file's data");
    t.numElements = elements;
    t.numBytes = elements * elementSize;
    if (static_cast<uint64_t>(*end - *begin) != t.numBytes)
      return bad("has " + std::to_string(*end - *begin) + " data bytes but its shape needs " +
                 std::to_string(t.numBytes));
    t.data = data + *begin;
    if (!index_.emplace(name, tensors_.size()).second)
      return bad("is listed twice");
    tensors_.push_back(std::move(t));
  }
  return true;
}

const SafetensorsTensor *SafetensorsFile::findTensor(const std::string &name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

bool lazyc::rt::isHFCheckpoint(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode) &&
         stat((path + "/config.json").c_str(), &st) == 0;
}

std::unique_ptr<HFCheckpoint> HFCheckpoint::open(const std::string &dir, std::string &error) {
  std::unique_ptr<HFCheckpoint> ckpt(new HFCheckpoint());
  std::string text;
  if (!readFile(dir + "/config.json", text, error))
    return nullptr;
  ckpt->config_ = JsonValue::parse(text, error);
  if (!ckpt->config_ || !ckpt->config_->isObject()) {
    error = "'" + dir + "/config.json': " + (error.empty() ? "not a JSON object" : error);
    return nullptr;
  }
  std::vector<std::string> shardNames;
  struct stat st;
  if (stat((dir + "/model.safetensors.index.json").c_str(), &st) == 0) {
    if (!readFile(dir + "/model.safetensors.index.json", text, error))
      return nullptr;
    auto index = JsonValue::parse(text, error);
    const JsonValue *map = index ? index->get("weight_map") : nullptr;
    if (!map || !map->isObject()) {
      error = "'" + dir + "/model.safetensors.index.json' has no weight_map" +
              (error.empty() ? "" : ": " + error);
      return nullptr;
    }
    std::set<std::string> seen;
    for (const auto &[tensor, file] : map->members()) {
      if (!file.isString() || file.string().find('/') != std::string::npos) {
        error = "weight_map entry for '" + tensor + "' is not a file name in the folder";
        return nullptr;
      }
      if (seen.insert(file.string()).second)
        shardNames.push_back(file.string());
    }
  } else {
    shardNames.push_back("model.safetensors");
  }
  for (const std::string &name : shardNames) {
    auto shard = SafetensorsFile::open(dir + "/" + name, error);
    if (!shard)
      return nullptr;
    ckpt->shards_.push_back(std::move(shard));
  }
  if (stat((dir + "/tokenizer.json").c_str(), &st) == 0) {
    if (!readFile(dir + "/tokenizer.json", text, error))
      return nullptr;
    ckpt->tokenizer_ = JsonValue::parse(text, error);
    if (!ckpt->tokenizer_) {
      error = "'" + dir + "/tokenizer.json': " + error;
      return nullptr;
    }
  } else if (stat((dir + "/tokenizer.model").c_str(), &st) == 0) {
    if (!readFile(dir + "/tokenizer.model", ckpt->sentencePieceModel_, error))
      return nullptr;
    if (ckpt->sentencePieceModel_.empty()) {
      error = "'" + dir + "/tokenizer.model' is empty";
      return nullptr;
    }
  }
  // tokenizer_config.json: the chat template without chat_template.jinja,
  // the added tokens and add_bos_token of a tokenizer.model.
  const bool hasJinja = stat((dir + "/chat_template.jinja").c_str(), &st) == 0;
  if ((!hasJinja || !ckpt->tokenizer_) &&
      stat((dir + "/tokenizer_config.json").c_str(), &st) == 0) {
    if (!readFile(dir + "/tokenizer_config.json", text, error))
      return nullptr;
    ckpt->tokenizerConfig_ = JsonValue::parse(text, error);
    if (!ckpt->tokenizerConfig_) {
      error = "'" + dir + "/tokenizer_config.json': " + error;
      return nullptr;
    }
  }
  // The chat template: chat_template.jinja (transformers 5), else
  // tokenizer_config.json's chat_template (a string, or named templates of
  // which "default" is the chat one).
  if (hasJinja) {
    if (!readFile(dir + "/chat_template.jinja", ckpt->chatTemplate_, error))
      return nullptr;
  } else if (const JsonValue *config = ckpt->tokenizerConfig_.get()) {
    if (const JsonValue *t = config->get("chat_template"); t && t->isString()) {
      ckpt->chatTemplate_ = t->string();
    } else if (t && t->isArray()) {
      for (const JsonValue &named : t->array())
        if (named.getString("name").value_or("") == "default")
          ckpt->chatTemplate_ = named.getString("template").value_or("");
    }
  }
  return ckpt;
}

const SafetensorsTensor *HFCheckpoint::findTensor(const std::string &name) const {
  for (const auto &shard : shards_)
    if (const SafetensorsTensor *t = shard->findTensor(name))
      return t;
  return nullptr;
}

size_t HFCheckpoint::numTensors() const {
  size_t n = 0;
  for (const auto &shard : shards_)
    n += shard->tensors().size();
  return n;
}
