#include <ATen/ATen.h>

#include <cstring>
#include <iterator>
#include <set>
#include <string>
#include <tuple>

#include "model/quant/dequantize.h"
#include "model/weights.h"
#include "torchllm/error.h"
#include "torchllm/gguf_model.h"

namespace torchllm {
namespace {

struct NameRule {
  const char* hf;
  const char* gguf;
  bool transposed = false;  // llama.cpp's converter stored the transpose (GPT-2's Conv1D weights)
};

// llama.cpp's tensor names (gguf-py constants.py MODEL_TENSOR / TENSOR_NAMES) for the Hugging Face ones.
constexpr NameRule kGlobalNames[] = {
    {"model.embed_tokens.weight", "token_embd.weight"},
    {"model.norm.weight", "output_norm.weight"},
    {"lm_head.weight", "output.weight"},
    {"transformer.wte.weight", "token_embd.weight"},
    {"transformer.wpe.weight", "position_embd.weight"},
    {"transformer.ln_f.weight", "output_norm.weight"},
    {"transformer.ln_f.bias", "output_norm.bias"},
};
constexpr NameRule kLayerNames[] = {
    // after "model.layers.N." / "blk.N."
    {"input_layernorm.weight", "attn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.q_proj.bias", "attn_q.bias"},
    {"self_attn.k_proj.bias", "attn_k.bias"},
    {"self_attn.v_proj.bias", "attn_v.bias"},
    {"self_attn.q_norm.weight", "attn_q_norm.weight"},
    {"self_attn.k_norm.weight", "attn_k_norm.weight"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
};
constexpr NameRule kGpt2LayerNames[] = {
    // after "transformer.h.N." / "blk.N."
    {"ln_1.weight", "attn_norm.weight"},
    {"ln_1.bias", "attn_norm.bias"},
    {"attn.c_attn.weight", "attn_qkv.weight", true},
    {"attn.c_attn.bias", "attn_qkv.bias"},
    {"attn.c_proj.weight", "attn_output.weight", true},
    {"attn.c_proj.bias", "attn_output.bias"},
    {"ln_2.weight", "ffn_norm.weight"},
    {"ln_2.bias", "ffn_norm.bias"},
    {"mlp.c_fc.weight", "ffn_up.weight", true},
    {"mlp.c_fc.bias", "ffn_up.bias"},
    {"mlp.c_proj.weight", "ffn_down.weight", true},
    {"mlp.c_proj.bias", "ffn_down.bias"},
};

// The rule for a Hugging Face tensor name; nullptr when there is none. `layer`: the block number.
const NameRule* find_rule(const std::string& hf_name, std::string* layer) {
  for (const NameRule& r : kGlobalNames) {
    if (hf_name == r.hf) return &r;
  }
  for (const auto& [prefix, rules, count] :
       {std::make_tuple(std::string("model.layers."), kLayerNames, std::size(kLayerNames)),
        std::make_tuple(std::string("transformer.h."), kGpt2LayerNames, std::size(kGpt2LayerNames))}) {
    if (hf_name.compare(0, prefix.size(), prefix) != 0) continue;
    const size_t dot = hf_name.find('.', prefix.size());
    if (dot == std::string::npos) return nullptr;
    *layer = hf_name.substr(prefix.size(), dot - prefix.size());
    const std::string rest = hf_name.substr(dot + 1);
    for (size_t i = 0; i < count; ++i) {
      if (rest == rules[i].hf) return &rules[i];
    }
  }
  return nullptr;
}

bool stored_transposed(const std::string& hf_name) {
  std::string layer;
  const NameRule* rule = find_rule(hf_name, &layer);
  return rule && rule->transposed;
}

// GGUF tensors the weights never take: rope_freqs is read into the configuration.
bool consumed_elsewhere(const std::string& name) { return name == "rope_freqs.weight"; }

std::string shape_text(const std::vector<int64_t>& shape) { return c10::str(at::IntArrayRef(shape)); }

}  // namespace

std::string gguf_tensor_name(const std::string& hf_name) {
  std::string layer;
  const NameRule* rule = find_rule(hf_name, &layer);
  if (!rule) return "";
  return layer.empty() ? std::string(rule->gguf) : "blk." + layer + "." + rule->gguf;
}

ModelWeightSet load_gguf_weight_set(const GgufModelFiles& files, const ModelConfig& config,
                                    const Architecture& arch, const at::TensorOptions& options,
                                    const std::function<void(uint64_t done, uint64_t total)>& progress) {
  // Names and shapes first (on meta tensors), so that nothing is allocated for a file that does not fit.
  std::set<std::string> expected;
  build_weight_set(
      config, arch, at::TensorOptions().device(at::kMeta), [&](const std::string& hf_name, at::Tensor dst) {
        const std::string name = gguf_tensor_name(hf_name);
        const GgufTensorInfo* t = name.empty() ? nullptr : files.find_tensor(name);
        if (!t) {
          throw Error::corrupt(files.path() + ": GGUF file is missing tensor '" +
                               (name.empty() ? hf_name : name) + "' required by " + config.model_type);
        }
        const std::vector<int64_t> shape(t->dims.rbegin(), t->dims.rend());
        const at::Tensor as_stored = stored_transposed(hf_name) ? dst.t() : dst;
        if (shape != as_stored.sizes().vec()) {
          throw Error::corrupt(files.path() + ": tensor '" + name + "' has shape " + shape_text(shape) +
                               " but the metadata implies " + shape_text(as_stored.sizes().vec()));
        }
        if (!can_dequantize(t->type->id)) {
          throw Error::unsupported(files.path() + ": tensor '" + name + "' has type " + t->type->name +
                                   ", which torchllm cannot read (supported: " + dequantizable_types() + ")");
        }
        expected.insert(name);
      });
  uint64_t total = 0, done = 0;
  for (const auto& [name, info] : files.tensors()) {
    if (!expected.count(name) && !consumed_elsewhere(name)) {
      throw Error::corrupt(files.path() + ": unexpected tensor '" + name + "' for " + config.model_type +
                           " with this metadata");
    }
    total += info->size;
  }

  return build_weight_set(config, arch, options, [&](const std::string& hf_name, at::Tensor dst) {
    const std::string name = gguf_tensor_name(hf_name);
    const GgufTensorInfo& t = *files.find_tensor(name);
    at::Tensor values =
        at::empty({t.numel()}, at::kFloat);  // [numel], GGUF (row-major, innermost first) order
    dequantize(t.type->id, files.data(t), values.data_ptr<float>(), t.numel());
    if (stored_transposed(hf_name)) {
      dst.t().copy_(values.view(dst.t().sizes()));  // [out, in] as the forward pass uses it
      done += t.size;
      if (progress) progress(done, total);
      return;
    }
    values = values.view(dst.sizes());
    const bool q = hf_name.find("self_attn.q_proj.") != std::string::npos;
    const bool k = hf_name.find("self_attn.k_proj.") != std::string::npos;
    if (arch.gguf_qk_interleaved && (q || k)) {
      // llama.cpp's converter stored each head's rows as [head_dim / 2, 2] (pairs for its rotary layout);
      // Hugging Face's are [2, head_dim / 2]. Moving rows back is exact.
      const int64_t heads = q ? config.num_heads : config.num_kv_heads;
      const int64_t rest = values.numel() / (heads * config.head_dim);
      // [heads, head_dim / 2, 2, rest] -> [heads, 2, head_dim / 2, rest]
      values = values.reshape({heads, config.head_dim / 2, 2, rest}).transpose(1, 2).reshape(dst.sizes());
    }
    dst.copy_(values);
    done += t.size;
    if (progress) progress(done, total);
  });
}

}  // namespace torchllm
