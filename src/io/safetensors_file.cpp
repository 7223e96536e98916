#include <ATen/ATen.h>

#include "torchllm/error.h"
#include "torchllm/mapped_file.h"
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

SafetensorsFile::SafetensorsFile(const std::string& path)
    : path_(path), file_(std::make_unique<MappedFile>(path)) {
  header_ = parse_safetensors(file_->data(), file_->size(), path);
}

SafetensorsFile::~SafetensorsFile() = default;

const uint8_t* SafetensorsFile::data(const TensorEntry& entry) const {
  return file_->data() + header_.data_offset + entry.begin;
}

at::Tensor SafetensorsFile::view(const TensorEntry& entry) const {
  // from_blob never writes through the pointer here: callers only copy out of the view.
  return at::from_blob(const_cast<uint8_t*>(data(entry)), entry.shape,
                       at::TensorOptions().dtype(to_scalar_type(entry.dtype)));
}

void SafetensorsFile::release(const TensorEntry& entry) const {
  file_->release(data(entry), static_cast<size_t>(entry.end - entry.begin));
}

}  // namespace torchllm
