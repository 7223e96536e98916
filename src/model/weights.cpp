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

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Tensors that checkpoints sometimes carry and the math never needs: RoPE's inverse frequencies, GPT-2's
// causal-mask buffers, a tied head.
bool is_ignorable(const std::string& name, const ModelConfig& config) {
  if (ends_with(name, "rotary_emb.inv_freq") || ends_with(name, ".attn.bias") ||
      ends_with(name, ".attn.masked_bias")) {
    return true;
  }
  return config.tie_word_embeddings && name == "lm_head.weight";
}

// GPT-2 (GPT2LMHeadModel) under its Hugging Face names. Its Conv1D weights are stored [in, out]: each is
// filled through a transposed view of the [out, in] matrix the forward pass uses.
ModelWeightSet build_gpt2_weight_set(const ModelConfig& c, const at::TensorOptions& options,
                                     const std::function<void(const std::string&, at::Tensor)>& fill) {
  const int64_t hidden = c.hidden_size, inner = c.intermediate_size;
  auto vector = [&](const std::string& name, int64_t size) {
    at::Tensor t = at::empty({size}, options);
    fill(name, t);
    return t;
  };
  auto conv1d = [&](const std::string& name, int64_t out, int64_t in) {
    at::Tensor t = at::empty({out, in}, options);
    fill(name, t.t());
    return t;
  };
  ModelWeightSet w;
  w.embed = at::empty({c.vocab_size, hidden}, options);
  fill("transformer.wte.weight", w.embed);
  w.position_embed = at::empty({c.max_position_embeddings, hidden}, options);
  fill("transformer.wpe.weight", w.position_embed);
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string p = "transformer.h." + std::to_string(l) + ".";
    LayerWeights lw;
    lw.input_norm = vector(p + "ln_1.weight", hidden);
    lw.input_norm_bias = vector(p + "ln_1.bias", hidden);
    lw.qkv.weight = conv1d(p + "attn.c_attn.weight", 3 * hidden, hidden);
    lw.qkv_bias = vector(p + "attn.c_attn.bias", 3 * hidden);
    lw.o.weight = conv1d(p + "attn.c_proj.weight", hidden, hidden);
    lw.o_bias = vector(p + "attn.c_proj.bias", hidden);
    lw.post_norm = vector(p + "ln_2.weight", hidden);
    lw.post_norm_bias = vector(p + "ln_2.bias", hidden);
    lw.gate_up.weight = conv1d(p + "mlp.c_fc.weight", inner, hidden);
    lw.gate_up_bias = vector(p + "mlp.c_fc.bias", inner);
    lw.down.weight = conv1d(p + "mlp.c_proj.weight", hidden, inner);
    lw.down_bias = vector(p + "mlp.c_proj.bias", hidden);
    w.layers.push_back(std::move(lw));
  }
  w.final_norm = vector("transformer.ln_f.weight", hidden);
  w.final_norm_bias = vector("transformer.ln_f.bias", hidden);
  if (c.tie_word_embeddings) {
    w.lm_head.weight = w.embed;
  } else {
    w.lm_head.weight = at::empty({c.vocab_size, hidden}, options);
    fill("lm_head.weight", w.lm_head.weight);
  }
  return w;
}

// The checkpoint's name for `name`: GPT-2 checkpoints saved from GPT2Model (as the original gpt2 release)
// lack the "transformer." prefix.
std::string checkpoint_name(const Checkpoint& checkpoint, const std::string& name) {
  const std::string prefix = "transformer.";
  if (!checkpoint.contains(name) && name.compare(0, prefix.size(), prefix) == 0 &&
      checkpoint.contains(name.substr(prefix.size()))) {
    return name.substr(prefix.size());
  }
  return name;
}

}  // namespace

ModelWeightSet build_weight_set(const ModelConfig& c, const Architecture& arch,
                                const at::TensorOptions& options,
                                const std::function<void(const std::string&, at::Tensor)>& fill) {
  if (arch.gpt2_block) return build_gpt2_weight_set(c, options, fill);
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
    lw.qkv.weight = at::empty({q_rows + 2 * kv_rows, c.hidden_size}, options);
    fill(layer_name(l, "self_attn.q_proj.weight"), lw.qkv.weight.narrow(0, 0, q_rows));
    fill(layer_name(l, "self_attn.k_proj.weight"), lw.qkv.weight.narrow(0, q_rows, kv_rows));
    fill(layer_name(l, "self_attn.v_proj.weight"), lw.qkv.weight.narrow(0, q_rows + kv_rows, kv_rows));
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
    lw.o.weight = at::empty({c.hidden_size, q_rows}, options);
    fill(layer_name(l, "self_attn.o_proj.weight"), lw.o.weight);
    lw.post_norm = at::empty({c.hidden_size}, options);
    fill(layer_name(l, "post_attention_layernorm.weight"), lw.post_norm);
    lw.gate_up.weight = at::empty({2 * c.intermediate_size, c.hidden_size}, options);
    fill(layer_name(l, "mlp.gate_proj.weight"), lw.gate_up.weight.narrow(0, 0, c.intermediate_size));
    fill(layer_name(l, "mlp.up_proj.weight"),
         lw.gate_up.weight.narrow(0, c.intermediate_size, c.intermediate_size));
    lw.down.weight = at::empty({c.hidden_size, c.intermediate_size}, options);
    fill(layer_name(l, "mlp.down_proj.weight"), lw.down.weight);
    w.layers.push_back(std::move(lw));
  }
  w.final_norm = at::empty({c.hidden_size}, options);
  fill("model.norm.weight", w.final_norm);
  if (c.tie_word_embeddings) {
    w.lm_head.weight = w.embed;
  } else {
    w.lm_head.weight = at::empty({c.vocab_size, c.hidden_size}, options);
    fill("lm_head.weight", w.lm_head.weight);
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
  for (TensorSpec spec : checkpoint_tensor_specs(config)) {
    spec.name = checkpoint_name(checkpoint, spec.name);
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
  return build_weight_set(config, arch, options, [&](const std::string& spec_name, at::Tensor dst) {
    const std::string name = checkpoint_name(checkpoint, spec_name);
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
    const bool is_norm = name.find("norm") != std::string::npos || name.find(".ln_") != std::string::npos;
    if (is_norm) {
      dst.fill_(ends_with(name, ".bias") ? 0.0 : 1.0);
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
