#include <cstring>
#include <string>

#include "torchllm/architecture.h"
#include "torchllm/error.h"
#include "torchllm/gguf_model.h"
#include "torchllm/model.h"

namespace torchllm {
namespace {

class Keys {
 public:
  Keys(const GgufModelFiles& files, std::string arch)
      : files_(files), meta_(files.metadata()), arch_(std::move(arch)) {}

  bool has(const std::string& key) const { return meta_.find(arch_ + "." + key) != nullptr; }

  int64_t positive_int(const std::string& key) const {
    const std::string full = arch_ + "." + key;
    if (!meta_.find(full)) throw Error::corrupt(files_.path() + ": GGUF metadata has no '" + full + "'");
    const int64_t v = wrap([&] { return meta_.get_int(full); });
    if (v <= 0 || v > (int64_t{1} << 40)) {
      throw Error::corrupt(files_.path() + ": GGUF metadata '" + full + "' must be a positive integer");
    }
    return v;
  }
  int64_t positive_int(const std::string& key, int64_t fallback) const {
    return has(key) ? positive_int(key) : fallback;
  }
  double positive_number(const std::string& key, double fallback) const {
    if (!has(key)) return fallback;
    const std::string full = arch_ + "." + key;
    const double v = wrap([&] { return meta_.get_number(full); });
    if (!(v > 0))
      throw Error::corrupt(files_.path() + ": GGUF metadata '" + full + "' must be a positive number");
    return v;
  }
  std::string string(const std::string& key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    return wrap([&] { return meta_.get_string(arch_ + "." + key); });
  }

 private:
  // Type errors from the metadata get the file's name.
  template <typename F>
  auto wrap(F&& f) const -> decltype(f()) {
    try {
      return f();
    } catch (const Error& e) {
      throw Error(e.kind(), files_.path() + ": " + e.what());
    }
  }

  const GgufModelFiles& files_;
  const GgufMetadata& meta_;
  std::string arch_;
};

// GGUF dims are innermost first: [in, out] for a matrix.
int64_t tensor_dim(const GgufModelFiles& files, const std::string& name, size_t dim) {
  const GgufTensorInfo* t = files.find_tensor(name);
  if (!t) throw Error::corrupt(files.path() + ": GGUF file has no tensor '" + name + "'");
  if (t->dims.size() <= dim)
    throw Error::corrupt(files.path() + ": tensor '" + name + "' has too few dimensions");
  return t->dims[dim];
}

}  // namespace

ModelConfig gguf_model_config(const GgufModelFiles& files) {
  const GgufMetadata& meta = files.metadata();
  if (!meta.find("general.architecture")) {
    throw Error::corrupt(files.path() + ": GGUF metadata has no 'general.architecture'");
  }
  const std::string arch_name = meta.get_string("general.architecture");
  const Architecture& arch = find_gguf_architecture(arch_name);
  if (files.tensors().empty()) {
    throw Error::unsupported(files.path() +
                             " holds no tensors (a vocabulary-only GGUF): it can serve tokenize and "
                             "template, not commands that need the model's weights");
  }
  Keys k(files, arch_name);
  ModelConfig c;
  c.architecture = arch.name;
  c.model_type = arch_name;
  c.hidden_size = k.positive_int("embedding_length");
  c.intermediate_size = k.positive_int("feed_forward_length");
  c.num_layers = k.positive_int("block_count");
  c.num_heads = k.positive_int("attention.head_count");
  c.num_kv_heads = k.positive_int("attention.head_count_kv", c.num_heads);
  if (c.num_heads % c.num_kv_heads != 0) {
    throw Error::corrupt(files.path() +
                         ": attention.head_count must be a multiple of attention.head_count_kv");
  }
  const bool gpt2 = arch.gpt2_block;
  c.head_dim = k.positive_int("attention.key_length", c.hidden_size / c.num_heads);
  if (k.positive_int("attention.value_length", c.head_dim) != c.head_dim) {
    throw Error::unsupported(files.path() +
                             ": attention.value_length differs from key_length (not supported)");
  }
  if (!gpt2 && c.head_dim % 2 != 0)
    throw Error::corrupt(files.path() + ": the head size must be even for rotary embeddings");
  if (!gpt2 && k.positive_int("rope.dimension_count", c.head_dim) != c.head_dim) {
    throw Error::unsupported(files.path() + ": rope.dimension_count " +
                             std::to_string(k.positive_int("rope.dimension_count")) +
                             " differs from the head size (partial rotary embeddings are not supported)");
  }
  c.max_position_embeddings = k.positive_int("context_length", 2048);
  c.rms_norm_eps = gpt2 ? k.positive_number("attention.layer_norm_epsilon", 1e-5)
                        : k.positive_number("attention.layer_norm_rms_epsilon", 1e-6);
  c.rope_theta = k.positive_number("rope.freq_base", 10000.0);

  const std::string scaling = k.string("rope.scaling.type", k.has("rope.scale_linear") ? "linear" : "none");
  if (scaling == "linear") {
    c.rope_scaling.type = RopeScaling::Type::kLinear;
    c.rope_scaling.factor =
        k.positive_number("rope.scaling.factor", k.positive_number("rope.scale_linear", 1.0));
  } else if (scaling != "none") {
    throw Error::unsupported(files.path() + ": rope scaling '" + scaling +
                             "' is not supported (supported: none, linear, and llama3's rope_freqs tensor)");
  }
  if (const GgufTensorInfo* freqs = files.find_tensor("rope_freqs.weight")) {
    if (freqs->dims.size() != 1 || freqs->dims[0] != c.head_dim / 2 || freqs->type->id != 0) {
      throw Error::corrupt(files.path() + ": rope_freqs.weight must be " + std::to_string(c.head_dim / 2) +
                           " float32 values");
    }
    c.rope_freq_factors.resize(c.head_dim / 2);
    std::memcpy(c.rope_freq_factors.data(), files.data(*freqs), c.rope_freq_factors.size() * sizeof(float));
  }

  c.vocab_size = tensor_dim(files, "token_embd.weight", 1);
  c.tie_word_embeddings = files.find_tensor("output.weight") == nullptr;
  c.attention_bias = files.find_tensor("blk.0.attn_q.bias") != nullptr;
  for (const char* unsupported :
       {"blk.0.ffn_gate_inp.weight", "blk.0.attn_qkv.weight", "position_embd.weight"}) {
    if (gpt2 && std::strcmp(unsupported, "blk.0.ffn_gate_inp.weight") != 0) continue;  // GPT-2's own layout
    if (files.find_tensor(unsupported)) {
      throw Error::unsupported(files.path() + ": tensor '" + unsupported +
                               "' belongs to a layout torchllm does " + "not implement for " + arch_name +
                               " (mixture of experts or fused attention)");
    }
  }
  return c;
}

ModelConfig read_model_config(const std::string& model_path) {
  if (names_gguf_model(model_path)) return gguf_model_config(GgufModelFiles(resolve_gguf_path(model_path)));
  return load_model_config(model_path);
}

}  // namespace torchllm
