//===- GGUF.cpp - memory-mapped GGUF reader --------------------------------===//

#include "runtime/model/GGUF.h"

#include <cstring>

using namespace lazyc::rt;

namespace {
// Sanity limits: far above any real model, low enough that a hostile header
// cannot make the reader allocate without bound.
constexpr uint64_t kMaxTensors = 1u << 20;
constexpr uint64_t kMaxMetadata = 1u << 20;
constexpr uint32_t kMaxDims = 4;
constexpr uint32_t kMaxArrayDepth = 4;

/// Bounds-checked little-endian cursor over the file image.
class Cursor {
public:
  Cursor(const uint8_t *data, size_t size) : data_(data), size_(size) {}

  size_t offset() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  template <typename T> bool read(T &out, const char *what) {
    if (remaining() < sizeof(T))
      return fail(std::string("file is truncated while reading ") + what);
    std::memcpy(&out, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }

  bool readString(std::string &out, const char *what) {
    uint64_t length;
    if (!read(length, what))
      return false;
    if (length > remaining())
      return fail(std::string(what) + " has length " + std::to_string(length) +
                  " but only " + std::to_string(remaining()) +
                  " bytes remain in the file");
    out.assign(reinterpret_cast<const char *>(data_ + pos_), length);
    pos_ += length;
    return true;
  }

  bool fail(std::string message) {
    if (error_.empty())
      error_ = "at byte " + std::to_string(pos_) + ": " + std::move(message);
    return false;
  }
  const std::string &error() const { return error_; }

private:
  const uint8_t *data_;
  size_t size_;
  size_t pos_ = 0;
  std::string error_;
};

/// Smallest encoded size of a value of `type`, used to bound array counts.
uint64_t minEncodedSize(GGUFValueType type) {
  switch (type) {
  case GGUFValueType::UInt8: case GGUFValueType::Int8: case GGUFValueType::Bool:
    return 1;
  case GGUFValueType::UInt16: case GGUFValueType::Int16:
    return 2;
  case GGUFValueType::UInt32: case GGUFValueType::Int32: case GGUFValueType::Float32:
    return 4;
  case GGUFValueType::UInt64: case GGUFValueType::Int64: case GGUFValueType::Float64:
  case GGUFValueType::String:
    return 8;
  case GGUFValueType::Array:
    return 12;
  }
  return 1;
}

bool isKnownValueType(uint32_t type) { return type <= 12; }

bool readValue(Cursor &cursor, GGUFValueType type, GGUFValue &value,
               unsigned depth) {
  value.type = type;
  switch (type) {
#define LAZYC_INT_CASE(ENUM, CTYPE, SIGNED)                                    \
  case GGUFValueType::ENUM: {                                                  \
    CTYPE v;                                                                   \
    if (!cursor.read(v, "a " #CTYPE " value"))                                 \
      return false;                                                            \
    if (SIGNED) {                                                              \
      value.i = static_cast<int64_t>(v);                                       \
      value.u = static_cast<uint64_t>(value.i);                                \
    } else {                                                                   \
      value.u = static_cast<uint64_t>(v);                                      \
      value.i = static_cast<int64_t>(value.u);                                 \
    }                                                                          \
    return true;                                                               \
  }
    LAZYC_INT_CASE(UInt8, uint8_t, false)
    LAZYC_INT_CASE(Int8, int8_t, true)
    LAZYC_INT_CASE(UInt16, uint16_t, false)
    LAZYC_INT_CASE(Int16, int16_t, true)
    LAZYC_INT_CASE(UInt32, uint32_t, false)
    LAZYC_INT_CASE(Int32, int32_t, true)
    LAZYC_INT_CASE(UInt64, uint64_t, false)
    LAZYC_INT_CASE(Int64, int64_t, true)
#undef LAZYC_INT_CASE
  case GGUFValueType::Float32: {
    float v;
    if (!cursor.read(v, "a float32 value"))
      return false;
    value.f = v;
    return true;
  }
  case GGUFValueType::Float64:
    return cursor.read(value.f, "a float64 value");
  case GGUFValueType::Bool: {
    uint8_t v;
    if (!cursor.read(v, "a bool value"))
      return false;
    if (v > 1)
      return cursor.fail("bool value is " + std::to_string(v) +
                         ", expected 0 or 1");
    value.b = v != 0;
    return true;
  }
  case GGUFValueType::String:
    return cursor.readString(value.str, "a string value");
  case GGUFValueType::Array: {
    if (depth >= kMaxArrayDepth)
      return cursor.fail("arrays nested deeper than " +
                         std::to_string(kMaxArrayDepth) + " levels");
    uint32_t elementType;
    uint64_t count;
    if (!cursor.read(elementType, "an array element type") ||
        !cursor.read(count, "an array length"))
      return false;
    if (!isKnownValueType(elementType))
      return cursor.fail("array has unknown element type " +
                         std::to_string(elementType));
    value.elementType = static_cast<GGUFValueType>(elementType);
    if (count > cursor.remaining() / minEncodedSize(value.elementType))
      return cursor.fail("array claims " + std::to_string(count) +
                         " elements, more than the " +
                         std::to_string(cursor.remaining()) +
                         " remaining bytes can hold");
    value.array.resize(count);
    for (GGUFValue &element : value.array)
      if (!readValue(cursor, value.elementType, element, depth + 1))
        return false;
    return true;
  }
  }
  return cursor.fail("unknown value type " +
                     std::to_string(static_cast<uint32_t>(type)));
}
} // namespace

const char *lazyc::rt::toString(GGUFValueType type) {
  static const char *names[] = {"uint8",  "int8",   "uint16", "int16", "uint32",
                                "int32",  "float32", "bool",  "string", "array",
                                "uint64", "int64",  "float64"};
  auto index = static_cast<uint32_t>(type);
  return index < 13 ? names[index] : "unknown";
}

bool GGUFValue::isInteger() const {
  switch (type) {
  case GGUFValueType::UInt8: case GGUFValueType::Int8: case GGUFValueType::UInt16:
  case GGUFValueType::Int16: case GGUFValueType::UInt32: case GGUFValueType::Int32:
  case GGUFValueType::UInt64: case GGUFValueType::Int64:
    return true;
  default:
    return false;
  }
}

std::optional<int64_t> GGUFValue::asInt() const {
  if (!isInteger())
    return std::nullopt;
  if (type == GGUFValueType::UInt64 && u > static_cast<uint64_t>(INT64_MAX))
    return std::nullopt;
  return i;
}

std::optional<double> GGUFValue::asFloat() const {
  if (type == GGUFValueType::Float32 || type == GGUFValueType::Float64)
    return f;
  if (auto v = asInt())
    return static_cast<double>(*v);
  return std::nullopt;
}

GGUFFile::~GGUFFile() = default;

std::unique_ptr<GGUFFile> GGUFFile::open(const std::string &path,
                                         std::string &error) {
  std::unique_ptr<GGUFFile> file(new GGUFFile());
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

std::unique_ptr<GGUFFile> GGUFFile::parse(const uint8_t *data, size_t size,
                                          std::string &error) {
  std::unique_ptr<GGUFFile> file(new GGUFFile());
  file->image_ = data;
  file->size_ = size;
  if (!file->parseImage(error))
    return nullptr;
  return file;
}

bool GGUFFile::parseImage(std::string &error) {
  Cursor cursor(image_, size_);
  auto failed = [&] {
    error = "invalid GGUF file " + cursor.error();
    return false;
  };

  uint32_t magic;
  if (!cursor.read(magic, "the magic number"))
    return failed();
  if (std::memcmp(&magic, "GGUF", 4) != 0) {
    error = "not a GGUF file (wrong magic number)";
    return false;
  }
  if (!cursor.read(version_, "the version"))
    return failed();
  if (version_ != 2 && version_ != 3) {
    error = "unsupported GGUF version " + std::to_string(version_) +
            " (lazyc reads versions 2 and 3)";
    return false;
  }
  uint64_t tensorCount, metadataCount;
  if (!cursor.read(tensorCount, "the tensor count") ||
      !cursor.read(metadataCount, "the metadata count"))
    return failed();
  if (tensorCount > kMaxTensors)
    return cursor.fail("tensor count " + std::to_string(tensorCount) +
                       " exceeds the limit of " + std::to_string(kMaxTensors)),
           failed();
  if (metadataCount > kMaxMetadata)
    return cursor.fail("metadata count " + std::to_string(metadataCount) +
                       " exceeds the limit of " + std::to_string(kMaxMetadata)),
           failed();

  for (uint64_t k = 0; k < metadataCount; ++k) {
    std::string key;
    uint32_t type;
    if (!cursor.readString(key, "a metadata key") ||
        !cursor.read(type, "a metadata value type"))
      return failed();
    if (!isKnownValueType(type))
      return cursor.fail("metadata '" + key + "' has unknown value type " +
                         std::to_string(type)),
             failed();
    GGUFValue value;
    if (!readValue(cursor, static_cast<GGUFValueType>(type), value, 0))
      return failed();
    if (!metadata_.emplace(key, std::move(value)).second)
      return cursor.fail("duplicate metadata key '" + key + "'"), failed();
  }

  if (const GGUFValue *align = find("general.alignment")) {
    auto a = align->asInt();
    if (!a || *a <= 0 || (*a & (*a - 1)) != 0 || *a > 65536) {
      error = "invalid GGUF file: general.alignment must be a power of two "
              "in [1, 65536]";
      return false;
    }
    alignment_ = static_cast<uint64_t>(*a);
  }

  tensors_.resize(tensorCount);
  for (GGUFTensorInfo &tensor : tensors_) {
    uint32_t nDims, type;
    if (!cursor.readString(tensor.name, "a tensor name") ||
        !cursor.read(nDims, "a tensor's dimension count"))
      return failed();
    if (nDims == 0 || nDims > kMaxDims)
      return cursor.fail("tensor '" + tensor.name + "' has " +
                         std::to_string(nDims) + " dimensions (1 to " +
                         std::to_string(kMaxDims) + " supported)"),
             failed();
    tensor.dims.resize(nDims);
    uint64_t elements = 1;
    for (uint64_t &dim : tensor.dims) {
      if (!cursor.read(dim, "a tensor dimension"))
        return failed();
      if (dim == 0 || dim > (uint64_t(1) << 40) ||
          elements > (uint64_t(1) << 48) / dim)
        return cursor.fail("tensor '" + tensor.name + "' has an absurd "
                           "dimension " + std::to_string(dim)),
               failed();
      elements *= dim;
    }
    tensor.numElements = elements;
    if (!cursor.read(type, "a tensor type") ||
        !cursor.read(tensor.offset, "a tensor offset"))
      return failed();
    const GGMLTypeTraits *traits = getTypeTraits(type);
    if (!traits)
      return cursor.fail("tensor '" + tensor.name + "' has unknown type " +
                         std::to_string(type)),
             failed();
    tensor.type = static_cast<GGMLType>(type);
    if (tensor.dims[0] % traits->blockElements != 0)
      return cursor.fail("tensor '" + tensor.name + "' of type " +
                         traits->name + " has a row of " +
                         std::to_string(tensor.dims[0]) +
                         " elements, not a multiple of its block size " +
                         std::to_string(traits->blockElements)),
             failed();
    tensor.numBytes = elements / traits->blockElements * traits->blockBytes;
    if (tensor.offset % alignment_ != 0)
      return cursor.fail("tensor '" + tensor.name + "' offset " +
                         std::to_string(tensor.offset) +
                         " is not aligned to " + std::to_string(alignment_)),
             failed();
  }

  // The data section starts at the next multiple of the alignment.
  uint64_t dataStart = (cursor.offset() + alignment_ - 1) / alignment_ * alignment_;
  if (tensorCount > 0 && dataStart > size_)
    return cursor.fail("data section starts past the end of the file"),
           failed();
  for (size_t t = 0; t < tensors_.size(); ++t) {
    GGUFTensorInfo &tensor = tensors_[t];
    uint64_t available = size_ - dataStart;
    if (tensor.offset > available || tensor.numBytes > available - tensor.offset) {
      error = "invalid GGUF file: tensor '" + tensor.name + "' (" +
              std::to_string(tensor.numBytes) + " bytes at data offset " +
              std::to_string(tensor.offset) + ") extends past the end of the "
              "file (" + std::to_string(available) + " data bytes)";
      return false;
    }
    tensor.data = image_ + dataStart + tensor.offset;
    if (!tensorIndex_.emplace(tensor.name, t).second) {
      error = "invalid GGUF file: duplicate tensor name '" + tensor.name + "'";
      return false;
    }
  }
  return true;
}

const GGUFValue *GGUFFile::find(std::string_view key) const {
  auto it = metadata_.find(std::string(key));
  return it == metadata_.end() ? nullptr : &it->second;
}

const GGUFTensorInfo *GGUFFile::findTensor(std::string_view name) const {
  auto it = tensorIndex_.find(name);
  return it == tensorIndex_.end() ? nullptr : &tensors_[it->second];
}

std::optional<int64_t> GGUFFile::getInt(std::string_view key) const {
  const GGUFValue *v = find(key);
  return v ? v->asInt() : std::nullopt;
}

std::optional<double> GGUFFile::getFloat(std::string_view key) const {
  const GGUFValue *v = find(key);
  return v ? v->asFloat() : std::nullopt;
}

std::optional<std::string> GGUFFile::getString(std::string_view key) const {
  const GGUFValue *v = find(key);
  if (!v || v->type != GGUFValueType::String)
    return std::nullopt;
  return v->str;
}
