#include "torchllm/architecture.h"

#include "torchllm/error.h"

namespace torchllm {
namespace {

constexpr Architecture kArchitectures[] = {
    {"Qwen3ForCausalLM", /*qk_norm=*/true, /*qkv_bias=*/false, "qwen3", /*gguf_qk_interleaved=*/false},
    {"Qwen2ForCausalLM", /*qk_norm=*/false, /*qkv_bias=*/true, "qwen2", /*gguf_qk_interleaved=*/false},
    // Llama, Mistral and TinyLlama GGUF files all say "llama".
    {"LlamaForCausalLM", /*qk_norm=*/false, /*qkv_bias=*/false, "llama", /*gguf_qk_interleaved=*/true},
    {"MistralForCausalLM", /*qk_norm=*/false, /*qkv_bias=*/false, nullptr, /*gguf_qk_interleaved=*/false},
    {"GPT2LMHeadModel", /*qk_norm=*/false, /*qkv_bias=*/true, "gpt2", /*gguf_qk_interleaved=*/false,
     /*gpt2_block=*/true},
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

std::string supported_gguf_architectures() {
  std::string out;
  for (const Architecture& a : kArchitectures) {
    if (a.gguf_name) out += std::string(out.empty() ? "" : ", ") + a.gguf_name;
  }
  return out;
}

const Architecture& find_gguf_architecture(const std::string& name) {
  for (const Architecture& a : kArchitectures) {
    if (a.gguf_name && name == a.gguf_name) return a;
  }
  throw Error::unsupported("GGUF architecture '" + name +
                           "' is not supported (supported: " + supported_gguf_architectures() + ")");
}

}  // namespace torchllm
