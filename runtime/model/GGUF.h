//===- GGUF.h - memory-mapped GGUF (v2/v3) reader ---------------*- C++ -*-===//
//
// Reads llama.cpp's GGUF container: metadata of every value type, tensor
// infos and the aligned tensor data, memory-mapped. The file is untrusted:
// every count, length, dimension and offset is checked against the file size
// before use, and any violation becomes an error message naming the problem
// (never a crash or an out-of-bounds read). Fuzzed by test/fuzz/gguf_fuzzer.
//
// Part of the runtime: plain C++17, no LLVM/MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_RUNTIME_MODEL_GGUF_H
#define LAZYC_RUNTIME_MODEL_GGUF_H

#include "runtime/model/MappedFile.h"
#include "runtime/model/Quant.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lazyc::rt {

enum class GGUFValueType : uint32_t {
  UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5,
  Float32 = 6, Bool = 7, String = 8, Array = 9, UInt64 = 10, Int64 = 11,
  Float64 = 12,
};
const char *toString(GGUFValueType type);

/// One metadata value. Integers of every width are held in `i` (signed) or
/// `u` (unsigned), floats in `f`; arrays hold their elements in `array`.
struct GGUFValue {
  GGUFValueType type = GGUFValueType::UInt8;
  uint64_t u = 0;
  int64_t i = 0;
  double f = 0;
  bool b = false;
  std::string str;
  GGUFValueType elementType = GGUFValueType::UInt8; // arrays only
  std::vector<GGUFValue> array;

  bool isInteger() const;
  /// The value as an integer if it is one (any width, signed or not).
  std::optional<int64_t> asInt() const;
  /// The value as a float if it is a number.
  std::optional<double> asFloat() const;
};

struct GGUFTensorInfo {
  std::string name;
  /// GGUF order: dims[0] is the innermost (contiguous) dimension.
  std::vector<uint64_t> dims;
  GGMLType type = GGMLType::F32;
  uint64_t offset = 0;  // relative to the data section
  uint64_t numElements = 0;
  uint64_t numBytes = 0;
  const uint8_t *data = nullptr; // points into the mapping
};

class GGUFFile {
public:
  /// Maps and parses `path`. On failure returns null and sets `error`.
  static std::unique_ptr<GGUFFile> open(const std::string &path,
                                        std::string &error);
  /// Parses an in-memory image (not copied: it must outlive the result).
  static std::unique_ptr<GGUFFile> parse(const uint8_t *data, size_t size,
                                         std::string &error);
  ~GGUFFile();
  GGUFFile(const GGUFFile &) = delete;
  GGUFFile &operator=(const GGUFFile &) = delete;

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  const std::map<std::string, GGUFValue> &metadata() const { return metadata_; }
  const std::vector<GGUFTensorInfo> &tensors() const { return tensors_; }

  const GGUFValue *find(std::string_view key) const;
  const GGUFTensorInfo *findTensor(std::string_view name) const;
  /// Typed lookups: nullopt if the key is absent or of another kind.
  std::optional<int64_t> getInt(std::string_view key) const;
  std::optional<double> getFloat(std::string_view key) const;
  std::optional<std::string> getString(std::string_view key) const;

private:
  GGUFFile() = default;
  bool parseImage(std::string &error);

  const uint8_t *image_ = nullptr;
  size_t size_ = 0;
  MappedFile mapping_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  std::map<std::string, GGUFValue> metadata_;
  std::vector<GGUFTensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensorIndex_;
};

} // namespace lazyc::rt

#endif // LAZYC_RUNTIME_MODEL_GGUF_H
