#include <algorithm>

#include "torchllm/error.h"
#include "torchllm/gguf.h"
#include "torchllm/mapped_file.h"

namespace torchllm {

// ggml.c's type_traits: block sizes and sizeof(block_*) from ggml-common.h (printed by a compiled program,
// not retyped); ids 4, 5, 31-33 and 36-38 are types ggml has removed.
const std::vector<GgmlTypeTraits>& ggml_types() {
  static const std::vector<GgmlTypeTraits> kTypes = {
      {0, "f32", 1, 4},         {1, "f16", 1, 2},         {2, "q4_0", 32, 18},      {3, "q4_1", 32, 20},
      {6, "q5_0", 32, 22},      {7, "q5_1", 32, 24},      {8, "q8_0", 32, 34},      {9, "q8_1", 32, 36},
      {10, "q2_K", 256, 84},    {11, "q3_K", 256, 110},   {12, "q4_K", 256, 144},   {13, "q5_K", 256, 176},
      {14, "q6_K", 256, 210},   {15, "q8_K", 256, 292},   {16, "iq2_xxs", 256, 66}, {17, "iq2_xs", 256, 74},
      {18, "iq3_xxs", 256, 98}, {19, "iq1_s", 256, 50},   {20, "iq4_nl", 32, 18},   {21, "iq3_s", 256, 110},
      {22, "iq2_s", 256, 82},   {23, "iq4_xs", 256, 136}, {24, "i8", 1, 1},         {25, "i16", 1, 2},
      {26, "i32", 1, 4},        {27, "i64", 1, 8},        {28, "f64", 1, 8},        {29, "iq1_m", 256, 56},
      {30, "bf16", 1, 2},       {34, "tq1_0", 256, 54},   {35, "tq2_0", 256, 66},   {39, "mxfp4", 32, 17},
      {40, "nvfp4", 64, 36},    {41, "q1_0", 128, 18},    {42, "q2_0", 64, 18},
  };
  return kTypes;
}

const GgmlTypeTraits* find_ggml_type(uint32_t id) {
  const auto& types = ggml_types();
  auto it = std::find_if(types.begin(), types.end(), [id](const GgmlTypeTraits& t) { return t.id == id; });
  return it == types.end() ? nullptr : &*it;
}

int64_t GgufTensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

GgufFile::GgufFile(const std::string& path) : file_(std::make_unique<MappedFile>(path)) {
  header_ = parse_gguf(file_->data(), file_->size(), path);
}

GgufFile::~GgufFile() = default;

const std::string& GgufFile::path() const { return file_->path(); }

size_t GgufFile::file_size() const { return file_->size(); }

const GgufTensorInfo* GgufFile::find_tensor(const std::string& name) const {
  for (const GgufTensorInfo& t : header_.tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

const uint8_t* GgufFile::data(const GgufTensorInfo& tensor) const {
  return file_->data() + header_.data_offset + tensor.offset;
}

void GgufFile::release(const GgufTensorInfo& tensor) const {
  file_->release(data(tensor), static_cast<size_t>(tensor.size));
}

}  // namespace torchllm
