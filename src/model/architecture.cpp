#include "torchllm/architecture.h"

#include "torchllm/error.h"

namespace torchllm {
namespace {

constexpr Architecture kArchitectures[] = {
    {"Qwen3ForCausalLM", /*qk_norm=*/true, /*qkv_bias=*/false},
    {"Qwen2ForCausalLM", /*qk_norm=*/false, /*qkv_bias=*/true},
    {"LlamaForCausalLM", /*qk_norm=*/false, /*qkv_bias=*/false},
    {"MistralForCausalLM", /*qk_norm=*/false, /*qkv_bias=*/false},
};

}  // namespace

std::string supported_architectures() {
  std::string out;
  for (const Architecture& a : kArchitectures) out += std::string(out.empty() ? "" : ", ") + a.name;
  return out;
}

const Architecture& find_architecture(const std::string& name) {
  for (const Architecture& a : kArchitectures) {
    if (name == a.name) return a;
  }
  throw Error::unsupported("architecture '" + name +
                           "' is not supported (supported: " + supported_architectures() + ")");
}

}  // namespace torchllm
