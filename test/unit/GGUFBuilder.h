//===- GGUFBuilder.h - write GGUF images in tests ---------------*- C++ -*-===//
#ifndef LAZYC_TEST_UNIT_GGUFBUILDER_H
#define LAZYC_TEST_UNIT_GGUFBUILDER_H

#include <cstdint>
#include <string>
#include <vector>

namespace lazyc::test {

/// Writes GGUF images field by field.
class ImageBuilder {
public:
  template <typename T> ImageBuilder &put(T v) {
    const char *p = reinterpret_cast<const char *>(&v);
    bytes.insert(bytes.end(), p, p + sizeof(T));
    return *this;
  }
  ImageBuilder &str(const std::string &s) {
    put<uint64_t>(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
    return *this;
  }
  ImageBuilder &header(uint32_t version, uint64_t tensors, uint64_t kvs) {
    bytes.insert(bytes.end(), {'G', 'G', 'U', 'F'});
    return put(version).put(tensors).put(kvs);
  }
  ImageBuilder &tensor(const std::string &name, std::vector<uint64_t> dims,
                       uint32_t type, uint64_t offset) {
    str(name).put<uint32_t>(dims.size());
    for (uint64_t d : dims)
      put(d);
    return put(type).put(offset);
  }
  ImageBuilder &alignData(size_t alignment = 32) {
    while (bytes.size() % alignment)
      bytes.push_back(0);
    return *this;
  }
  std::vector<uint8_t> bytes;
};

} // namespace lazyc::test

#endif // LAZYC_TEST_UNIT_GGUFBUILDER_H
