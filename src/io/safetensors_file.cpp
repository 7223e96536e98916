#include <ATen/ATen.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "torchllm/error.h"
#include "torchllm/safetensors.h"

namespace torchllm {
namespace {

at::ScalarType to_scalar_type(StorageDtype dtype) {
  switch (dtype) {
    case StorageDtype::kF32:
      return at::kFloat;
    case StorageDtype::kF16:
      return at::kHalf;
    case StorageDtype::kBF16:
      return at::kBFloat16;
  }
  return at::kFloat;
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) throw Error::not_found(path + ": no such file");
    throw Error::invalid_argument(path + ": cannot open (" + std::strerror(err) + ")");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error::invalid_argument(path + ": not a regular file");
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ > 0) {
    void* map = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      throw Error::exhausted(path + ": cannot memory-map (" + std::strerror(err) + ")");
    }
    map_ = static_cast<const uint8_t*>(map);
  }
  ::close(fd);
  try {
    header_ = parse_safetensors(map_, size_, path);
  } catch (...) {
    if (map_) ::munmap(const_cast<uint8_t*>(map_), size_);
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) ::munmap(const_cast<uint8_t*>(map_), size_);
}

const uint8_t* SafetensorsFile::data(const TensorEntry& entry) const {
  return map_ + header_.data_offset + entry.begin;
}

at::Tensor SafetensorsFile::view(const TensorEntry& entry) const {
  // from_blob never writes through the pointer here: callers only copy out of the view.
  return at::from_blob(const_cast<uint8_t*>(data(entry)), entry.shape,
                       at::TensorOptions().dtype(to_scalar_type(entry.dtype)));
}

void SafetensorsFile::release(const TensorEntry& entry) const {
  const long page = ::sysconf(_SC_PAGESIZE);
  uintptr_t first = reinterpret_cast<uintptr_t>(data(entry));
  uintptr_t last = first + (entry.end - entry.begin);
  first = (first + page - 1) / page * page;  // only whole pages that no neighbour shares
  last = last / page * page;
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

}  // namespace torchllm
