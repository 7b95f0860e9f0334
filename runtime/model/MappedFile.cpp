//===- MappedFile.cpp - read-only memory-mapped files ----------------------===//

#include "runtime/model/MappedFile.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace lazyc::rt;

MappedFile::~MappedFile() {
  if (mapping_)
    munmap(mapping_, size_);
}

bool MappedFile::open(const std::string &path, std::string &error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot open '" + path + "': " + std::strerror(errno);
    return false;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    error = "'" + path + "' is not a regular file";
    ::close(fd);
    return false;
  }
  size_t size = static_cast<size_t>(st.st_size);
  if (size > 0) {
    void *map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
      error = "cannot map '" + path + "': " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    mapping_ = map;
  }
  ::close(fd);
  size_ = size;
  return true;
}

void MappedFile::releasePages(const void *begin, size_t bytes) {
  static const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto from = (reinterpret_cast<uintptr_t>(begin) + page - 1) / page * page;
  const auto to = (reinterpret_cast<uintptr_t>(begin) + bytes) / page * page;
  if (to > from)
    madvise(reinterpret_cast<void *>(from), to - from, MADV_DONTNEED);
}
