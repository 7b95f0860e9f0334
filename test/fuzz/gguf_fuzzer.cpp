//===- gguf_fuzzer.cpp - libFuzzer target for the GGUF reader -------------===//
//
// Parses arbitrary bytes as a GGUF image, then reads every metadata value and
// dequantizes every (small enough) tensor: ASan/UBSan catch any out-of-bounds
// read the reader's checks let through. scripts/fuzz.sh builds and runs it.
//
//===----------------------------------------------------------------------===//

#include "runtime/model/GGUF.h"
#include "runtime/model/Quant.h"

#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string error;
  auto file = lazyc::rt::GGUFFile::parse(data, size, error);
  if (!file)
    return 0;
  size_t touched = 0;
  for (const auto &[key, value] : file->metadata()) {
    touched += key.size() + value.str.size() + value.array.size();
    for (const auto &element : value.array)
      touched += element.str.size();
  }
  std::vector<float> out;
  for (const auto &tensor : file->tensors()) {
    const auto *traits = lazyc::rt::getTypeTraits(static_cast<uint32_t>(tensor.type));
    if (!traits || !traits->canDequantize || tensor.numElements > (1u << 20))
      continue;
    out.resize(tensor.numElements);
    lazyc::rt::dequantize(tensor.type, tensor.data, out.data(), out.size());
  }
  return touched == SIZE_MAX ? 1 : 0;
}
