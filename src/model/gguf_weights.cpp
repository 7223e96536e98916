#include <ATen/ATen.h>

#include <cstring>
#include <iterator>
#include <set>
#include <string>
#include <tuple>

#include "model/kernels/block_dot.h"
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

// The Hugging Face names of a projection group whose rows the forward pass reads as one matrix.
std::vector<std::vector<std::string>> projection_groups(const ModelConfig& config, const Architecture& arch) {
  std::vector<std::vector<std::string>> groups = {{"embed"}, {"lm_head.weight"}};
  groups[0][0] = arch.gpt2_block ? "transformer.wte.weight" : "model.embed_tokens.weight";
  for (int64_t l = 0; l < config.num_layers; ++l) {
    const std::string n = std::to_string(l);
    if (arch.gpt2_block) {
      const std::string p = "transformer.h." + n + ".";
      for (const char* w :
           {"attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight"}) {
        groups.push_back({p + w});
      }
      continue;
    }
    const std::string p = "model.layers." + n + ".";
    groups.push_back(
        {p + "self_attn.q_proj.weight", p + "self_attn.k_proj.weight", p + "self_attn.v_proj.weight"});
    groups.push_back({p + "self_attn.o_proj.weight"});
    groups.push_back({p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight"});
    groups.push_back({p + "mlp.down_proj.weight"});
  }
  return groups;
}

// The projection weights that stay in their ggml blocks: every tensor of a group has a block dot product
// (a group with one F16 or F32 member is dequantized whole). A tied lm_head follows the embedding.
std::set<std::string> projections_kept_in_blocks(const GgufModelFiles& files, const ModelConfig& config,
                                                 const Architecture& arch) {
  std::set<std::string> kept;
  for (const std::vector<std::string>& group : projection_groups(config, arch)) {
    bool all = true;
    for (const std::string& hf_name : group) {
      const std::string name = hf_name == "lm_head.weight" && config.tie_word_embeddings
                                   ? "token_embd.weight"
                                   : gguf_tensor_name(hf_name);
      const GgufTensorInfo* t = files.find_tensor(name);
      all = all && t && has_block_dot(static_cast<GgmlType>(t->type->id)) &&
            t->dims.front() % block_elements(static_cast<GgmlType>(t->type->id)) == 0;
    }
    if (all) kept.insert(group.begin(), group.end());
  }
  return kept;
}

// A QuantizedMatrix over the GGUF tensors of `hf_names`, stacked in that order.
std::shared_ptr<const QuantizedMatrix> block_matrix(const std::shared_ptr<const GgufModelFiles>& files,
                                                    const ModelConfig& config, const Architecture& arch,
                                                    const std::vector<std::string>& hf_names) {
  std::vector<QuantizedMatrix::Part> parts;
  int64_t columns = 0;
  for (const std::string& hf_name : hf_names) {
    const GgufTensorInfo& t = *files->find_tensor(gguf_tensor_name(hf_name));
    QuantizedMatrix::Part part;
    part.type = static_cast<GgmlType>(t.type->id);
    columns = static_cast<int64_t>(t.dims.front());
    part.rows = t.numel() / columns;
    part.data = files->data(t);
    part.output_rows = gguf_qk_hf_rows(hf_name, arch, part.rows, config.head_dim);
    parts.push_back(std::move(part));
  }
  auto matrix = std::make_shared<QuantizedMatrix>(columns, std::move(parts), files);
  if (matrix->holds_all_rows()) {
    for (const std::string& hf_name : hf_names)
      files->release(*files->find_tensor(gguf_tensor_name(hf_name)));
  }
  return matrix;
}

void attach_blocks(const std::shared_ptr<const GgufModelFiles>& files, const ModelConfig& config,
                   const Architecture& arch, const std::set<std::string>& kept, ModelWeightSet& set) {
  const std::vector<std::vector<std::string>> groups = projection_groups(config, arch);
  if (kept.count(groups[0][0])) {
    set.embed_blocks = block_matrix(files, config, arch, groups[0]);
    set.embed = at::Tensor();
  }
  if (kept.count("lm_head.weight")) {
    set.lm_head.blocks =
        config.tie_word_embeddings ? set.embed_blocks : block_matrix(files, config, arch, {"lm_head.weight"});
    set.lm_head.weight = at::Tensor();
  }
  size_t g = 2;
  for (LayerWeights& layer : set.layers) {
    for (Linear* linear : {&layer.qkv, &layer.o, &layer.gate_up, &layer.down}) {
      const std::vector<std::string>& group = groups[g++];
      if (!kept.count(group.front())) continue;
      linear->blocks = block_matrix(files, config, arch, group);
      linear->weight = at::Tensor();
    }
  }
}

}  // namespace

std::vector<int64_t> gguf_qk_hf_rows(const std::string& hf_name, const Architecture& arch, int64_t rows,
                                     int64_t head_dim) {
  const bool q = hf_name.find("self_attn.q_proj.") != std::string::npos;
  const bool k = hf_name.find("self_attn.k_proj.") != std::string::npos;
  if (!arch.gguf_qk_interleaved || !(q || k)) return {};
  // Stored row (head h, pair j, member i) is Hugging Face's row (h, i, j).
  std::vector<int64_t> hf_rows(static_cast<size_t>(rows));
  const int64_t half = head_dim / 2;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t h = r / head_dim, j = (r % head_dim) / 2, i = r % 2;
    hf_rows[r] = h * head_dim + i * half + j;
  }
  return hf_rows;
}

std::string gguf_tensor_name(const std::string& hf_name) {
  std::string layer;
  const NameRule* rule = find_rule(hf_name, &layer);
  if (!rule) return "";
  return layer.empty() ? std::string(rule->gguf) : "blk." + layer + "." + rule->gguf;
}

ModelWeightSet load_gguf_weight_set(const std::shared_ptr<const GgufModelFiles>& shared_files,
                                    const ModelConfig& config, const Architecture& arch,
                                    const at::TensorOptions& options, bool keep_blocks,
                                    const std::function<void(uint64_t done, uint64_t total)>& progress) {
  const GgufModelFiles& files = *shared_files;
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

  const std::set<std::string> blocks =
      keep_blocks ? projections_kept_in_blocks(files, config, arch) : std::set<std::string>();
  ModelWeightSet set =
      build_weight_set(config, arch, options, [&](const std::string& hf_name, at::Tensor dst) {
        const std::string name = gguf_tensor_name(hf_name);
        const GgufTensorInfo& t = *files.find_tensor(name);
        if (blocks.count(
                hf_name)) {  // left in the mapping; `dst` (never touched, so never resident) is dropped
          done += t.size;
          if (progress) progress(done, total);
          return;
        }
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
        const std::vector<int64_t> hf_rows = gguf_qk_hf_rows(hf_name, arch, dst.size(0), config.head_dim);
        if (hf_rows.empty()) {
          dst.copy_(values);
        } else {  // moving rows back is exact
          dst.index_copy_(0, at::tensor(hf_rows, at::kLong), values.to(dst.scalar_type()));
        }
        done += t.size;
        if (progress) progress(done, total);
      });
  if (!blocks.empty()) attach_blocks(shared_files, config, arch, blocks, set);
  return set;
}

}  // namespace torchllm
