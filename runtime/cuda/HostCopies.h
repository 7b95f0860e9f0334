//===- HostCopies.h - host copies of device buffers nothing rewrites -------===//
//
// The CUDA runtime does its index work (positions, token sets) on the host,
// so its entry points copy those lists back from the GPU, which waits for all
// queued work. Buffers whose contents cannot change until they are freed get
// a host copy that later calls read instead:
//   * a step's inputs, which the runtime uploads itself (mirror);
//   * index lists the compiler proved final after their last writer
//     (lazyc-gpu-host-index-copies: lazyc_gpu_keep_host_copy marks them, and
//     the next fetch's copy is kept);
//   * those whose last writer was the runtime's own upload of a host result
//     (the missing rows' positions, a host selection): the compiler marks
//     them right after that call (lazyc_gpu_keep_uploaded_copy), so the
//     uploaded bytes are the copy and no fetch is needed at all.
// Freeing a buffer forgets it. Plain C++ (no CUDA), so it is unit-tested on
// machines without a GPU.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_RUNTIME_CUDA_HOSTCOPIES_H
#define LAZYC_RUNTIME_CUDA_HOSTCOPIES_H

#include <cstddef>
#include <cstring>
#include <map>
#include <vector>

namespace lazyc::rt {

class HostCopies {
public:
  /// `device` holds `bytes` of `host` until it is freed (a step's inputs).
  void mirror(const void *device, const void *host, size_t bytes) {
    const char *p = static_cast<const char *>(host);
    copies_[device].assign(p, p + bytes);
  }

  /// Nothing writes `device`'s first `bytes` bytes until it is freed: keep
  /// the next fetch of them.
  void markFinal(const void *device, size_t bytes) { final_[device] = bytes; }

  /// Copies `bytes` of `device` into `out` from a host copy; false if there
  /// is none that long (fetch from the GPU, then call fetched()).
  bool lookup(const void *device, void *out, size_t bytes) const {
    auto it = copies_.find(device);
    if (it == copies_.end() || it->second.size() < bytes)
      return false;
    std::memcpy(out, it->second.data(), bytes);
    return true;
  }

  /// `bytes` of `device` were just copied to `host` from the GPU: kept if
  /// the buffer is final and they lie within what was marked.
  void fetched(const void *device, const void *host, size_t bytes) {
    auto it = final_.find(device);
    if (it != final_.end() && bytes <= it->second)
      mirror(device, host, bytes);
  }

  /// The runtime just uploaded `bytes` of `host` to `device` (its result of
  /// host-side work); only the latest upload is remembered.
  void uploaded(const void *device, const void *host, size_t bytes) {
    const char *p = static_cast<const char *>(host);
    lastUpload_ = device;
    lastUploadBytes_.assign(p, p + bytes);
  }

  /// `device`'s last writer was the runtime call that just uploaded it, and
  /// nothing writes it until it is freed: the upload is its host copy. If the
  /// latest upload was not to `device` (or shorter), the next fetch is kept
  /// instead (markFinal).
  void keepUploaded(const void *device, size_t bytes) {
    if (lastUpload_ == device && lastUploadBytes_.size() >= bytes)
      mirror(device, lastUploadBytes_.data(), bytes);
    else
      markFinal(device, bytes);
    lastUpload_ = nullptr;
    lastUploadBytes_.clear();
  }

  /// `device` was freed (its address may come back for another buffer).
  void forget(const void *device) {
    copies_.erase(device);
    final_.erase(device);
    if (lastUpload_ == device) {
      lastUpload_ = nullptr;
      lastUploadBytes_.clear();
    }
  }

  size_t size() const { return copies_.size(); }

private:
  std::map<const void *, std::vector<char>> copies_;
  std::map<const void *, size_t> final_;
  const void *lastUpload_ = nullptr;
  std::vector<char> lastUploadBytes_;
};

} // namespace lazyc::rt

#endif // LAZYC_RUNTIME_CUDA_HOSTCOPIES_H
