//===- MappedFile.h - read-only memory-mapped files -------------*- C++ -*-===//
#ifndef LAZYC_RUNTIME_MODEL_MAPPEDFILE_H
#define LAZYC_RUNTIME_MODEL_MAPPEDFILE_H

#include <cstddef>
#include <cstdint>
#include <string>

namespace lazyc::rt {

/// A regular file mapped read-only for the object's lifetime (model files:
/// GGUF, safetensors). An empty file maps to no data and size 0.
class MappedFile {
public:
  MappedFile() = default;
  ~MappedFile();
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;

  /// Maps `path`; false + `error` naming the file and the reason.
  bool open(const std::string &path, std::string &error);
  const uint8_t *data() const { return static_cast<const uint8_t *>(mapping_); }
  size_t size() const { return size_; }

  /// Drops this process's pages of [begin, begin + bytes) (the whole pages
  /// inside it) from the mapping: its resident set shrinks, the page cache
  /// keeps them, and a later read faults them in again (the mapping is
  /// read-only and private: it holds nothing of its own). For data read
  /// once, as the weight loader's copies.
  static void releasePages(const void *begin, size_t bytes);

private:
  void *mapping_ = nullptr;
  size_t size_ = 0;
};

} // namespace lazyc::rt

#endif // LAZYC_RUNTIME_MODEL_MAPPEDFILE_H
