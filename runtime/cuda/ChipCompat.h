//===- ChipCompat.h - can a GPU run a model's embedded kernels? -*- C++ -*-===//
//
// `lazy-compile --target=cuda --chip=sm_XY --gpu-format=F` embeds the
// model's kernels as a cubin for sm_XY (bin), PTX for compute_XY (isa), or
// both (fatbin). A cubin runs on GPUs of the same major version and at least
// its minor one (sm_80: A100, A10, RTX 4090; sm_90a: H100 only; sm_100f: the
// sm_10x family); PTX is compiled by the driver at load for any GPU at least
// as new (arch-specific "a" PTX for that GPU only, family "f" PTX for its
// family). So the runtime can say, before the driver's "no kernel image"
// error, which --chip the GPU needs. Plain C++ (no CUDA): unit-tested on
// machines without a GPU.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_RUNTIME_CUDA_CHIPCOMPAT_H
#define LAZYC_RUNTIME_CUDA_CHIPCOMPAT_H

#include <cctype>
#include <string>

namespace lazyc::rt {

/// How a device runs a model's kernels.
enum class KernelFit {
  Cubin,   // the embedded cubin
  Ptx,     // the embedded PTX, compiled by the driver at load
  None,    // neither: the model must be recompiled for this GPU
  Unknown, // the model names no chip it was compiled for (an older model)
};

/// `chip` ("sm_90", "sm_90a", "sm_100f") as its version number (90, 100)
/// and suffix ('a', 'f' or 0); false when it is no such name.
inline bool parseChip(const std::string &chip, int &version, char &suffix) {
  if (chip.rfind("sm_", 0) != 0)
    return false;
  size_t i = 3;
  version = 0;
  while (i < chip.size() && std::isdigit(static_cast<unsigned char>(chip[i])) && i < 6)
    version = version * 10 + (chip[i++] - '0');
  suffix = 0;
  if (i < chip.size() && (chip[i] == 'a' || chip[i] == 'f'))
    suffix = chip[i++];
  return i == chip.size() && i > 3 && version >= 10;
}

/// Whether a device of compute capability `major`.`minor` runs kernels
/// compiled for `chip` in `format` (isa, bin or fatbin).
inline KernelFit kernelFit(const std::string &chip, const std::string &format, int major,
                           int minor) {
  int version = 0;
  char suffix = 0;
  if (chip.empty() || !parseChip(chip, version, suffix))
    return KernelFit::Unknown;
  const int device = major * 10 + minor;
  const bool sameMajor = device / 10 == version / 10;
  const bool cubinRuns = suffix == 'a' ? device == version : sameMajor && device >= version;
  const bool ptxRuns = suffix == 'a'   ? device == version
                       : suffix == 'f' ? sameMajor && device >= version
                                       : device >= version;
  const bool hasCubin = format == "bin" || format == "fatbin";
  const bool hasPtx = format == "isa" || format == "fatbin";
  if (hasCubin && cubinRuns)
    return KernelFit::Cubin;
  if (hasPtx && ptxRuns)
    return KernelFit::Ptx;
  return KernelFit::None;
}

/// The GPU's own chip name: "sm_86" for 8.6.
inline std::string chipOf(int major, int minor) {
  return "sm_" + std::to_string(major) + std::to_string(minor);
}

/// What --gpu-format F holds, in words.
inline std::string describeFormat(const std::string &format) {
  if (format == "bin")
    return "a cubin";
  if (format == "isa")
    return "PTX";
  return "a cubin and PTX";
}

/// What the runtime says before running a model whose kernels were compiled
/// for `chip` in `format` (its description) on a GPU of compute capability
/// `capability` (major * 10 + minor) named `device`: an error when the GPU
/// cannot run them (empty when it can), and in `note` a remark when it runs
/// them only through their PTX although the model has a cubin (a slower
/// start: the driver compiles the PTX at load).
inline std::string kernelFitError(const std::string &library, const std::string &chip,
                                  const std::string &format, int capability,
                                  const std::string &device, std::string &note) {
  const int major = capability / 10, minor = capability % 10;
  const std::string own = chipOf(major, minor);
  note.clear();
  switch (kernelFit(chip, format, major, minor)) {
  case KernelFit::None:
    return "'" + library + "' holds " + describeFormat(format) + " for " + chip +
           " (lazy-compile --chip=" + chip + " --gpu-format=" + format + "); this GPU, " +
           device + ", cannot run them: recompile it with --chip=" + own;
  case KernelFit::Ptx:
    if (format != "isa")
      note = "'" + library + "' holds " + chip + " kernels; this GPU (" + own +
             ") runs their PTX, compiled by the driver at load (a slower start: --chip=" + own +
             " avoids it)";
    return "";
  case KernelFit::Cubin:
  case KernelFit::Unknown:
    return "";
  }
  return "";
}

} // namespace lazyc::rt

#endif // LAZYC_RUNTIME_CUDA_CHIPCOMPAT_H
