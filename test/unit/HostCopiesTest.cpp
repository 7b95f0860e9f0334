// The CUDA runtime's host copies of device buffers (runtime/cuda/HostCopies.h):
// what a fetch may take from the host instead of waiting for the GPU.
#include "runtime/cuda/HostCopies.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

using lazyc::rt::HostCopies;

namespace {
// Stand-ins for device addresses (never dereferenced).
const void *device(uintptr_t a) { return reinterpret_cast<const void *>(a); }
} // namespace

TEST(HostCopies, MirroredStepInputsAreReadBack) {
  HostCopies copies;
  std::vector<int32_t> positions = {0, 1, 2, 3}, out(4, -1);
  EXPECT_FALSE(copies.lookup(device(0x1000), out.data(), 16));
  copies.mirror(device(0x1000), positions.data(), 16);
  ASSERT_TRUE(copies.lookup(device(0x1000), out.data(), 16));
  EXPECT_EQ(out, positions);
  // A prefix, but not more than was copied.
  std::vector<int32_t> two(2);
  EXPECT_TRUE(copies.lookup(device(0x1000), two.data(), 8));
  EXPECT_EQ(two, (std::vector<int32_t>{0, 1}));
  std::vector<int32_t> five(5);
  EXPECT_FALSE(copies.lookup(device(0x1000), five.data(), 20));
}

TEST(HostCopies, OnlyFinalBuffersKeepTheirFetch) {
  HostCopies copies;
  std::vector<int32_t> kept = {3, 5, 8}, out(3);
  // Not marked: a fetch is not kept (a kernel may rewrite the buffer).
  copies.fetched(device(0x2000), kept.data(), 12);
  EXPECT_FALSE(copies.lookup(device(0x2000), out.data(), 12));
  // Marked final: the next fetch is kept for the calls after it.
  copies.markFinal(device(0x2000), 12);
  EXPECT_FALSE(copies.lookup(device(0x2000), out.data(), 12)); // nothing fetched yet
  copies.fetched(device(0x2000), kept.data(), 12);
  ASSERT_TRUE(copies.lookup(device(0x2000), out.data(), 12));
  EXPECT_EQ(out, kept);
  // Another buffer is unaffected.
  EXPECT_FALSE(copies.lookup(device(0x3000), out.data(), 12));
}

TEST(HostCopies, ABytesRangeBeyondTheMarkIsNotKept) {
  HostCopies copies;
  std::vector<int32_t> list = {1, 2, 3, 4};
  copies.markFinal(device(0x4000), 8); // the first two elements only
  copies.fetched(device(0x4000), list.data(), 16);
  std::vector<int32_t> out(4);
  EXPECT_FALSE(copies.lookup(device(0x4000), out.data(), 16));
}

TEST(HostCopies, FreeingForgetsTheCopyAndTheMark) {
  HostCopies copies;
  std::vector<int32_t> list = {7, 9}, out(2);
  copies.markFinal(device(0x5000), 8);
  copies.fetched(device(0x5000), list.data(), 8);
  ASSERT_TRUE(copies.lookup(device(0x5000), out.data(), 8));
  copies.forget(device(0x5000));
  EXPECT_FALSE(copies.lookup(device(0x5000), out.data(), 8));
  EXPECT_EQ(copies.size(), 0u);
  // The allocator hands the address out again for a buffer a kernel writes:
  // its fetches are not kept.
  std::vector<int32_t> other = {1, 1};
  copies.fetched(device(0x5000), other.data(), 8);
  EXPECT_FALSE(copies.lookup(device(0x5000), out.data(), 8));
}

// lazyc_gpu_keep_uploaded_copy: the runtime's own upload of a host result
// (the missing rows' positions) is the copy; no fetch at all.
TEST(HostCopies, TheUploadRightBeforeTheMarkIsTheCopy) {
  HostCopies copies;
  std::vector<int32_t> missing = {4, 6, 11}, out(3);
  copies.uploaded(device(0x6000), missing.data(), 12);
  copies.keepUploaded(device(0x6000), 12);
  ASSERT_TRUE(copies.lookup(device(0x6000), out.data(), 12));
  EXPECT_EQ(out, missing);
  // The record is consumed: a second mark of the address finds no upload
  // and falls back to keeping the next fetch.
  copies.forget(device(0x6000));
  copies.keepUploaded(device(0x6000), 12);
  EXPECT_FALSE(copies.lookup(device(0x6000), out.data(), 12));
  copies.fetched(device(0x6000), missing.data(), 12);
  EXPECT_TRUE(copies.lookup(device(0x6000), out.data(), 12));
}

TEST(HostCopies, AnUploadToAnotherOrAFreedBufferIsNotTheCopy) {
  HostCopies copies;
  std::vector<int32_t> a = {1, 2}, out(2);
  // The latest upload went elsewhere: the mark keeps the next fetch instead.
  copies.uploaded(device(0x7000), a.data(), 8);
  copies.uploaded(device(0x8000), a.data(), 8);
  copies.keepUploaded(device(0x7000), 8);
  EXPECT_FALSE(copies.lookup(device(0x7000), out.data(), 8));
  // Freed after the upload (its address reused): forgotten.
  copies.uploaded(device(0x9000), a.data(), 8);
  copies.forget(device(0x9000));
  copies.keepUploaded(device(0x9000), 8);
  EXPECT_FALSE(copies.lookup(device(0x9000), out.data(), 8));
  // Shorter than the mark: not the copy.
  copies.uploaded(device(0xa000), a.data(), 4);
  copies.keepUploaded(device(0xa000), 8);
  EXPECT_FALSE(copies.lookup(device(0xa000), out.data(), 8));
}
