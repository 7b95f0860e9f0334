//===- safetensors_fuzzer.cpp - libFuzzer target for safetensors + JSON ---===//
//
// Parses arbitrary bytes as a safetensors file (its header is JSON) and
// converts every small tensor to f32; ASan/UBSan catch out-of-bounds reads.
//
//===----------------------------------------------------------------------===//

#include "runtime/model/Safetensors.h"

#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string error;
  auto file = lazyc::rt::SafetensorsFile::parse(data, size, error);
  if (!file)
    return 0;
  std::vector<float> out;
  for (const auto &t : file->tensors()) {
    if (t.numElements > (1u << 20))
      continue;
    out.resize(t.numElements);
    lazyc::rt::dequantize(t.type, t.data, out.data(), out.size());
  }
  return 0;
}
