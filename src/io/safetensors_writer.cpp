#include <ATen/ATen.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "torchllm/error.h"
#include "torchllm/safetensors.h"

namespace torchllm {

void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> contiguous;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    std::string dtype;
    switch (tensor.scalar_type()) {
      case at::kFloat:
        dtype = "F32";
        break;
      case at::kHalf:
        dtype = "F16";
        break;
      case at::kBFloat16:
        dtype = "BF16";
        break;
      default:
        throw Error::unsupported("write_safetensors: tensor '" + name + "' is not F32/F16/BF16");
    }
    at::Tensor cpu = tensor.to(at::kCPU).contiguous();
    const uint64_t bytes = static_cast<uint64_t>(cpu.numel()) * cpu.element_size();
    header[name] = {
        {"dtype", dtype}, {"shape", cpu.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    contiguous.push_back(cpu);
  }
  std::string text = header.dump();
  while ((text.size() + 8) % 8 != 0) text.push_back(' ');  // keep the data section 8-byte aligned
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error::invalid_argument(path + ": cannot open for writing");
  uint64_t len = text.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((len >> (8 * i)) & 0xff));
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const at::Tensor& t : contiguous) {
    out.write(static_cast<const char*>(t.data_ptr()),
              static_cast<std::streamsize>(t.numel() * t.element_size()));
  }
  if (!out) throw Error::invalid_argument(path + ": write failed");
}

}  // namespace torchllm
