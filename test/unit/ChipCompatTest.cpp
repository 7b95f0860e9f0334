// Which GPUs run a model's embedded kernels (runtime/cuda/ChipCompat.h): the
// CUDA runtime's check before the driver's "no kernel image" error, run
// without a GPU.
#include "runtime/cuda/ChipCompat.h"

#include <gtest/gtest.h>

#include <initializer_list>

using lazyc::rt::KernelFit;
using lazyc::rt::kernelFit;

TEST(ChipCompat, ParsesChipNames) {
  int version = 0;
  char suffix = 0;
  EXPECT_TRUE(lazyc::rt::parseChip("sm_90", version, suffix));
  EXPECT_EQ(version, 90);
  EXPECT_EQ(suffix, 0);
  EXPECT_TRUE(lazyc::rt::parseChip("sm_100f", version, suffix));
  EXPECT_EQ(version, 100);
  EXPECT_EQ(suffix, 'f');
  EXPECT_TRUE(lazyc::rt::parseChip("sm_90a", version, suffix));
  EXPECT_EQ(suffix, 'a');
  for (const char *bad : {"", "sm_", "90", "sm_9", "sm_90x", "sm_90aa", "compute_90", "sm_1000"})
    EXPECT_FALSE(lazyc::rt::parseChip(bad, version, suffix)) << bad;
}

namespace {
/// One model (chip, format) on one GPU (major.minor) and how it runs there.
struct FitCase {
  const char *chip, *format;
  int major, minor;
  KernelFit want;
};

void expectFits(std::initializer_list<FitCase> cases) {
  for (const FitCase &c : cases)
    EXPECT_EQ(kernelFit(c.chip, c.format, c.major, c.minor), c.want)
        << c.chip << " " << c.format << " on " << c.major << "." << c.minor;
}
} // namespace

TEST(ChipCompat, ACubinRunsOnItsMajorVersionFromItsMinorOne) {
  expectFits({
      // sm_80: A100 (8.0), A10 / RTX 3090 (8.6), L4 / RTX 4090 (8.9); not H100.
      {"sm_80", "bin", 8, 0, KernelFit::Cubin},
      {"sm_80", "bin", 8, 6, KernelFit::Cubin},
      {"sm_80", "bin", 8, 9, KernelFit::Cubin},
      {"sm_80", "bin", 9, 0, KernelFit::None},
      {"sm_86", "bin", 8, 0, KernelFit::None},
      {"sm_90", "bin", 9, 0, KernelFit::Cubin},
      {"sm_90", "bin", 10, 0, KernelFit::None},
      // Arch-specific: that GPU only; family: the sm_10x GPUs from 10.0.
      {"sm_90a", "bin", 9, 0, KernelFit::Cubin},
      {"sm_100a", "bin", 10, 3, KernelFit::None},
      {"sm_100f", "bin", 10, 3, KernelFit::Cubin},
      {"sm_100f", "bin", 12, 0, KernelFit::None},
  });
}

TEST(ChipCompat, PtxRunsOnEveryNewerGPU) {
  expectFits({
      // The default fatbin (cubin + PTX) of sm_90: the cubin on an H100, the
      // PTX (compiled at load) on Blackwell, nothing on an A100.
      {"sm_90", "fatbin", 9, 0, KernelFit::Cubin},
      {"sm_90", "fatbin", 10, 0, KernelFit::Ptx},
      {"sm_90", "fatbin", 12, 0, KernelFit::Ptx},
      {"sm_90", "fatbin", 8, 0, KernelFit::None},
      {"sm_80", "isa", 9, 0, KernelFit::Ptx},
      {"sm_80", "isa", 8, 0, KernelFit::Ptx},
      {"sm_89", "isa", 8, 6, KernelFit::None},
      // Arch-specific PTX is not forward compatible; family PTX within its family.
      {"sm_90a", "fatbin", 10, 0, KernelFit::None},
      {"sm_100f", "isa", 10, 3, KernelFit::Ptx},
      {"sm_100f", "isa", 12, 0, KernelFit::None},
  });
}

TEST(ChipCompat, AModelWithoutAChipIsNotJudged) {
  expectFits({{"", "fatbin", 8, 0, KernelFit::Unknown},
              {"gfx90a", "fatbin", 8, 0, KernelFit::Unknown}});
  EXPECT_EQ(lazyc::rt::chipOf(8, 6), "sm_86");
  EXPECT_EQ(lazyc::rt::chipOf(12, 0), "sm_120");
}

TEST(ChipCompat, TheRuntimeNamesTheChipTheGPUNeeds) {
  std::string note;
  EXPECT_EQ(lazyc::rt::kernelFitError("l7.so", "sm_90", "fatbin", 80,
                                      "NVIDIA A100-SXM4-80GB (sm_80, 79.2 GiB)", note),
            "'l7.so' holds a cubin and PTX for sm_90 (lazy-compile --chip=sm_90 "
            "--gpu-format=fatbin); this GPU, NVIDIA A100-SXM4-80GB (sm_80, 79.2 GiB), cannot "
            "run them: recompile it with --chip=sm_80");
  EXPECT_EQ(note, "");
  // Blackwell runs an H100 model's PTX: no error, a note.
  EXPECT_EQ(lazyc::rt::kernelFitError("l7.so", "sm_90", "fatbin", 100, "B200", note), "");
  EXPECT_EQ(note, "'l7.so' holds sm_90 kernels; this GPU (sm_100) runs their PTX, compiled by "
                  "the driver at load (a slower start: --chip=sm_100 avoids it)");
  // PTX asked for (--gpu-format=isa), a cubin that fits, an older model: silent.
  EXPECT_EQ(lazyc::rt::kernelFitError("m.so", "sm_80", "isa", 90, "H100", note), "");
  EXPECT_EQ(note, "");
  EXPECT_EQ(lazyc::rt::kernelFitError("m.so", "sm_90", "fatbin", 90, "H100", note), "");
  EXPECT_EQ(note, "");
  EXPECT_EQ(lazyc::rt::kernelFitError("m.so", "", "fatbin", 75, "T4", note), "");
  EXPECT_NE(lazyc::rt::kernelFitError("m.so", "sm_80", "bin", 90, "H100", note), "");
}
