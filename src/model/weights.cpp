#include "model/weights.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <functional>
#include <set>

#include "torchllm/error.h"
#include "torchllm/model.h"

namespace torchllm {
namespace {

std::string layer_name(int64_t layer, const char* suffix) {
  return "model.layers." + std::to_string(layer) + "." + suffix;
}

// Tensors that checkpoints sometimes carry and the math never needs.
bool is_ignorable(const std::string& name, const ModelConfig& config) {
  const std::string inv_freq = "rotary_emb.inv_freq";
  if (name.size() > inv_freq.size() &&
      name.compare(name.size() - inv_freq.size(), inv_freq.size(), inv_freq) == 0) {
    return true;
  }
  return config.tie_word_embeddings && name == "lm_head.weight";
}

}  // namespace

ModelWeightSet build_weight_set(const ModelConfig& c, const Architecture& arch,
                                const at::TensorOptions& options,
                                const std::function<void(const std::string&, at::Tensor)>& fill) {
  const int64_t q_rows = c.num_heads * c.head_dim;
  const int64_t kv_rows = c.num_kv_heads * c.head_dim;
  const bool bias = has_qkv_bias(c, arch);
  ModelWeightSet w;
  w.embed = at::empty({c.vocab_size, c.hidden_size}, options);
  fill("model.embed_tokens.weight", w.embed);
  for (int64_t l = 0; l < c.num_layers; ++l) {
    LayerWeights lw;
    lw.input_norm = at::empty({c.hidden_size}, options);
    fill(layer_name(l, "input_layernorm.weight"), lw.input_norm);
    lw.qkv_weight = at::empty({q_rows + 2 * kv_rows, c.hidden_size}, options);
    fill(layer_name(l, "self_attn.q_proj.weight"), lw.qkv_weight.narrow(0, 0, q_rows));
    fill(layer_name(l, "self_attn.k_proj.weight"), lw.qkv_weight.narrow(0, q_rows, kv_rows));
    fill(layer_name(l, "self_attn.v_proj.weight"), lw.qkv_weight.narrow(0, q_rows + kv_rows, kv_rows));
    if (bias) {
      lw.qkv_bias = at::empty({q_rows + 2 * kv_rows}, options);
      fill(layer_name(l, "self_attn.q_proj.bias"), lw.qkv_bias.narrow(0, 0, q_rows));
      fill(layer_name(l, "self_attn.k_proj.bias"), lw.qkv_bias.narrow(0, q_rows, kv_rows));
      fill(layer_name(l, "self_attn.v_proj.bias"), lw.qkv_bias.narrow(0, q_rows + kv_rows, kv_rows));
    }
    if (arch.qk_norm) {
      lw.q_norm = at::empty({c.head_dim}, options);
      lw.k_norm = at::empty({c.head_dim}, options);
      fill(layer_name(l, "self_attn.q_norm.weight"), lw.q_norm);
      fill(layer_name(l, "self_attn.k_norm.weight"), lw.k_norm);
    }
    lw.o_weight = at::empty({c.hidden_size, q_rows}, options);
    fill(layer_name(l, "self_attn.o_proj.weight"), lw.o_weight);
    lw.post_norm = at::empty({c.hidden_size}, options);
    fill(layer_name(l, "post_attention_layernorm.weight"), lw.post_norm);
    lw.gate_up_weight = at::empty({2 * c.intermediate_size, c.hidden_size}, options);
    fill(layer_name(l, "mlp.gate_proj.weight"), lw.gate_up_weight.narrow(0, 0, c.intermediate_size));
    fill(layer_name(l, "mlp.up_proj.weight"),
         lw.gate_up_weight.narrow(0, c.intermediate_size, c.intermediate_size));
    lw.down_weight = at::empty({c.hidden_size, c.intermediate_size}, options);
    fill(layer_name(l, "mlp.down_proj.weight"), lw.down_weight);
    w.layers.push_back(std::move(lw));
  }
  w.final_norm = at::empty({c.hidden_size}, options);
  fill("model.norm.weight", w.final_norm);
  if (c.tie_word_embeddings) {
    w.lm_head = w.embed;
  } else {
    w.lm_head = at::empty({c.vocab_size, c.hidden_size}, options);
    fill("lm_head.weight", w.lm_head);
  }
  return w;
}

bool has_qkv_bias(const ModelConfig& config, const Architecture& arch) {
  return arch.qkv_bias || config.attention_bias;
}

std::vector<TensorSpec> checkpoint_tensor_specs(const ModelConfig& config) {
  // A dry run of the loader on meta tensors: the names and shapes it asks for are the checkpoint's.
  std::vector<TensorSpec> specs;
  build_weight_set(config, find_architecture(config.architecture), at::TensorOptions().device(at::kMeta),
                   [&](const std::string& name, at::Tensor dst) {
                     specs.push_back({name, dst.sizes().vec()});
                   });
  return specs;
}

int64_t checkpoint_parameter_count(const ModelConfig& config) {
  int64_t parameters = 0;
  for (const TensorSpec& spec : checkpoint_tensor_specs(config)) {
    int64_t n = 1;
    for (int64_t d : spec.shape) n *= d;
    parameters += n;
  }
  return parameters;
}

void check_checkpoint_tensors(const Checkpoint& checkpoint, const ModelConfig& config) {
  std::set<std::string> expected;
  for (const TensorSpec& spec : checkpoint_tensor_specs(config)) {
    if (!checkpoint.contains(spec.name)) {
      throw Error::corrupt("checkpoint is missing tensor '" + spec.name + "' required by " +
                           config.architecture);
    }
    const TensorEntry& entry = checkpoint.entry(spec.name);
    if (entry.shape != spec.shape) {
      throw Error::corrupt("checkpoint tensor '" + spec.name + "' has shape " +
                           c10::str(at::IntArrayRef(entry.shape)) + " but config.json implies " +
                           c10::str(at::IntArrayRef(spec.shape)));
    }
    expected.insert(spec.name);
  }
  for (const std::string& name : checkpoint.names()) {
    if (!expected.count(name) && !is_ignorable(name, config)) {
      throw Error::corrupt("checkpoint has unexpected tensor '" + name + "' for " + config.architecture +
                           " with this config.json (wrong architecture or config?)");
    }
  }
}

ModelWeightSet load_weight_set(const Checkpoint& checkpoint, const ModelConfig& config,
                               const Architecture& arch, const at::TensorOptions& options,
                               const std::function<void(uint64_t done, uint64_t total)>& progress) {
  check_checkpoint_tensors(checkpoint, config);
  uint64_t total = 0, done = 0;
  for (const std::string& name : checkpoint.names()) {
    const TensorEntry& entry = checkpoint.entry(name);
    total += entry.end - entry.begin;
  }
  return build_weight_set(config, arch, options, [&](const std::string& name, at::Tensor dst) {
    checkpoint.load_into(name, dst);
    const TensorEntry& entry = checkpoint.entry(name);
    done += entry.end - entry.begin;
    if (progress) progress(done, total);
  });
}

ModelWeightSet random_weight_set(const ModelConfig& config, const Architecture& arch,
                                 const at::TensorOptions& options, uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return build_weight_set(config, arch, options, [&](const std::string& name, at::Tensor dst) {
    const bool is_norm = name.find("norm") != std::string::npos;
    if (is_norm) {
      dst.fill_(1.0);
    } else if (dst.is_cpu()) {
      dst.copy_(at::normal(0.0, 0.02, dst.sizes(), gen, at::TensorOptions().dtype(at::kFloat)));
    } else {
      // Drawn on the device by its default generator: an 8B model's weights would take half a minute on the
      // host, and benchmarks need no particular values.
      dst.normal_(0.0, 0.02);
    }
  });
}

}  // namespace torchllm
