#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <optional>
#include <set>

#include "model/allocation.h"
#include "model/attention.h"
#include "model/decode_attention.h"
#include "model/fused_cpu_ops.h"
#include "model/kernels/block_dot.h"
#include "model/kernels/kv_q8_0.h"
#include "model/kv_quantization.h"
#include "model/quantize_at_load.h"
#include "model/rope.h"
#include "model/weights.h"
#include "torchllm/checkpoint.h"
#include "torchllm/device.h"
#include "torchllm/error.h"
#include "torchllm/gguf_model.h"
#include "torchllm/model.h"

namespace torchllm {

struct Transformer::Weights : ModelWeightSet {};

namespace {

// As transformers' RMSNorm: normalize in float32, cast back, then scale.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  at::Tensor xf = x.to(at::kFloat);
  at::Tensor normed = xf * at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return weight * normed.to(x.scalar_type());
}

// GPT-2's LayerNorm (with its bias), or RMSNorm.
at::Tensor norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double eps,
                bool layer_norm) {
  if (layer_norm) return at::layer_norm(x, {x.size(-1)}, weight, bias, eps);
  return rms_norm(x, weight, eps);
}

at::Tensor to_device_longs(const std::vector<int64_t>& values, const c10::Device& device) {
  return at::tensor(values, at::kLong).to(device);
}

}  // namespace

uint64_t kv_bytes_per_token(const ModelConfig& c, c10::ScalarType dtype, KvCacheType type) {
  const uint64_t row = type == KvCacheType::kQ8_0 ? static_cast<uint64_t>(kv_q8_row_bytes(c.head_dim))
                                                  : c.head_dim * c10::elementSize(dtype);
  return 2ull * c.num_layers * c.num_kv_heads * row;
}

namespace {

// LoadOptions::kv_cache_type, checked before any weight is read.
KvCacheType checked_kv_cache_type(const LoadOptions& options, const ModelConfig& config,
                                  const c10::Device& device, c10::ScalarType dtype) {
  const KvCacheType type = parse_kv_cache_type(options.kv_cache_type);
  // llama.cpp's names of the float types (f16, f32) besides ours
  const std::string& name = options.kv_cache_type;
  const std::string spec = name == "f16" ? "fp16" : name == "f32" ? "fp32" : name;
  if (type == KvCacheType::kModel && !name.empty() && name != "auto" &&
      resolve_dtype(spec, device) != dtype) {
    throw Error::invalid_argument("--cache-type " + name + " differs from the compute dtype " +
                                  dtype_name(dtype) +
                                  ": K/V are kept in the compute dtype (set --dtype), or use q8_0");
  }
  if (type == KvCacheType::kQ8_0 && !device.is_cpu()) {
    throw Error::invalid_argument("--cache-type q8_0 is for CPUs only: on " + device.str() +
                                  " use --cache-type auto");
  }
  if (type == KvCacheType::kQ8_0 && !kv_q8_fits(config.head_dim)) {
    throw Error::invalid_argument("--cache-type q8_0 needs a head size that is a multiple of 32; " +
                                  config.architecture + " has " + std::to_string(config.head_dim));
  }
  return type;
}

}  // namespace

Transformer::Transformer(const ModelConfig& config, const Architecture& arch, c10::Device device,
                         c10::ScalarType dtype)
    : config_(config), arch_(arch), device_(device), dtype_(dtype) {}

Transformer::~Transformer() = default;

std::unique_ptr<Transformer> Transformer::load(const std::string& model_dir, const LoadOptions& options) {
  std::unique_ptr<Transformer> model = names_gguf_model(model_dir)
                                           ? load_gguf(resolve_gguf_path(model_dir), options)
                                           : load_checkpoint(model_dir, options);
  return_freed_memory_to_system();
  return model;
}

std::unique_ptr<Transformer> Transformer::load_checkpoint(const std::string& model_dir,
                                                          const LoadOptions& options) {
  c10::InferenceMode guard;
  const ModelConfig config = load_model_config(model_dir);
  const Checkpoint checkpoint(model_dir);
  std::unique_ptr<Transformer> model =
      with_weights(config, options, [&](const Architecture& arch, const at::TensorOptions& tensor_options) {
        return std::make_unique<Weights>(
            Weights{load_weight_set(checkpoint, config, arch, tensor_options, options.progress)});
      });
  model->quantize_at_load(options);
  return model;
}

void Transformer::quantize_at_load(const LoadOptions& options) {
  if (options.quantize.empty()) return;
  const GgmlType type = quantize_at_load_type(options.quantize);
  if (!device_.is_cpu()) {
    throw Error::unsupported("--quantize computes on the CPU only; on " + device_.str() +
                             " the weights stay in --dtype");
  }
  quantize_projections(*weights_, type);
}

std::unique_ptr<Transformer> Transformer::load_gguf(const std::string& path, const LoadOptions& options) {
  c10::InferenceMode guard;
  if (!options.quantize.empty()) {
    throw Error::invalid_argument("--quantize converts Hugging Face checkpoints; " + path +
                                  " is a GGUF file, whose tensors already have their types (--dequantize "
                                  "converts them to --dtype instead)");
  }
  const auto files = std::make_shared<const GgufModelFiles>(path);
  const ModelConfig config = gguf_model_config(*files);
  const bool keep_blocks = options.keep_quantized && resolve_device(options.device).is_cpu();
  // Block formats are at most a byte per parameter: count the mapped tensors out of the allocation check.
  double block_fraction = 0;
  if (keep_blocks) {
    for (const auto& [name, info] : files->tensors()) {
      if (has_block_dot(static_cast<GgmlType>(info->type->id)))
        block_fraction += static_cast<double>(info->numel());
    }
    block_fraction /= std::max(1.0, static_cast<double>(checkpoint_parameter_count(config)));
  }
  return with_weights(
      config, options,
      [&](const Architecture& arch, const at::TensorOptions& tensor_options) {
        return std::make_unique<Weights>(Weights{
            load_gguf_weight_set(files, config, arch, tensor_options, keep_blocks, options.progress)});
      },
      std::max(0.0, 1.0 - block_fraction));
}

std::unique_ptr<Transformer> Transformer::with_weights(const ModelConfig& config, const LoadOptions& options,
                                                       const WeightLoader& load_weights,
                                                       double dense_fraction) {
  const Architecture& arch = find_architecture(config.architecture);
  const c10::Device device = resolve_device(options.device);
  const c10::ScalarType dtype = resolve_dtype(options.dtype, device);
  const KvCacheType kv_type = checked_kv_cache_type(options, config, device, dtype);
  std::unique_ptr<Transformer> model(new Transformer(config, arch, device, dtype));
  model->cuda_graphs_ = options.cuda_graphs;
  model->kv_cache_type_ = kv_type;
  const double bytes = dense_fraction * static_cast<double>(checkpoint_parameter_count(config)) *
                       static_cast<double>(c10::elementSize(dtype));
  allocate_checked(device, bytes, std::string("the weights in ") + dtype_name(dtype),
                   "choose a smaller --dtype or another --device", [&] {
                     model->weights_ = load_weights(arch, at::TensorOptions().dtype(dtype).device(device));
                   });
  return model;
}

std::unique_ptr<Transformer> Transformer::random(const ModelConfig& config, const LoadOptions& options,
                                                 uint64_t seed) {
  c10::InferenceMode guard;
  const Architecture& arch = find_architecture(config.architecture);
  const c10::Device device = resolve_device(options.device);
  const c10::ScalarType dtype = resolve_dtype(options.dtype, device);
  const KvCacheType kv_type = checked_kv_cache_type(options, config, device, dtype);
  std::unique_ptr<Transformer> model(new Transformer(config, arch, device, dtype));
  model->cuda_graphs_ = options.cuda_graphs;
  model->kv_cache_type_ = kv_type;
  model->weights_ = std::make_unique<Weights>(
      Weights{random_weight_set(config, arch, at::TensorOptions().dtype(dtype).device(device), seed)});
  model->quantize_at_load(options);
  return model;
}

int64_t Transformer::parameter_count() const {
  int64_t total = 0;
  for (const at::Tensor* t :
       {&weights_->embed, &weights_->position_embed, &weights_->final_norm, &weights_->final_norm_bias}) {
    if (t->defined()) total += t->numel();
  }
  if (weights_->embed_blocks) total += weights_->embed_blocks->rows() * weights_->embed_blocks->columns();
  if (!config_.tie_word_embeddings) total += weights_->lm_head.parameter_count();
  for (const LayerWeights& l : weights_->layers) {
    for (const at::Tensor* t : l.all()) {
      if (t->defined()) total += t->numel();
    }
    for (const Linear* linear : {&l.qkv, &l.o, &l.gate_up, &l.down}) {
      if (linear->blocks) total += linear->parameter_count();
    }
  }
  return total;
}

uint64_t Transformer::weight_bytes() const {
  uint64_t total = 0;
  auto dense = [&](const at::Tensor& t) {
    if (t.defined()) total += static_cast<uint64_t>(t.numel() * t.element_size());
  };
  for (const at::Tensor* t :
       {&weights_->embed, &weights_->position_embed, &weights_->final_norm, &weights_->final_norm_bias}) {
    dense(*t);
  }
  if (weights_->embed_blocks) total += weights_->embed_blocks->bytes();
  if (!config_.tie_word_embeddings) total += weights_->lm_head.bytes();
  for (const LayerWeights& l : weights_->layers) {
    for (const at::Tensor* t : l.all()) dense(*t);
    for (const Linear* linear : {&l.qkv, &l.o, &l.gate_up, &l.down}) {
      if (linear->blocks) total += linear->bytes();
    }
  }
  return total;
}

void Transformer::ensure_rope(int64_t positions) const {
  if (rope_cos_.defined() && rope_cos_.size(0) >= positions) return;
  c10::InferenceMode guard;
  std::tie(rope_cos_, rope_sin_) =
      rope_tables(config_, positions, at::TensorOptions().dtype(dtype_).device(device_));
}

KvCache Transformer::make_cache(int64_t max_batch, int64_t max_seq) const {
  return make_paged_cache(max_batch, max_seq, max_batch, max_seq);
}

KvCache Transformer::make_paged_cache(int64_t num_blocks, int64_t block_size, int64_t max_batch,
                                      int64_t max_seq) const {
  c10::InferenceMode guard;
  // The RoPE tables are computed in float32 before the cast: count their peak as four float32 tables.
  const double rope_bytes = 4.0 * 4 * config_.head_dim * static_cast<double>(max_seq);
  const double bytes = static_cast<double>(kv_bytes_per_token()) * static_cast<double>(num_blocks + 1) *
                           static_cast<double>(block_size) +
                       rope_bytes;
  std::optional<KvCache> cache;
  if (arch_.gpt2_block && max_seq > config_.max_position_embeddings) {
    throw Error::invalid_argument(config_.architecture + " has " +
                                  std::to_string(config_.max_position_embeddings) +
                                  " learned positions: a context of " + std::to_string(max_seq) +
                                  " tokens does not fit (use --context " +
                                  std::to_string(config_.max_position_embeddings) + " or less)");
  }
  allocate_checked(device_, bytes,
                   "the KV cache of " + std::to_string(num_blocks) + " blocks of " +
                       std::to_string(block_size) + " tokens",
                   "use a shorter context (--context), fewer parallel sequences or a smaller KV budget", [&] {
                     ensure_rope(max_seq);
                     cache.emplace(config_.num_layers, num_blocks, block_size, max_batch, max_seq,
                                   config_.num_kv_heads, config_.head_dim,
                                   at::TensorOptions().dtype(dtype_).device(device_),
                                   /*head_major=*/device_.is_cpu(), kv_cache_type_);
                   });
  return std::move(*cache);
}

void Transformer::check_batch(const std::vector<SequenceChunk>& batch, const KvCache& cache) const {
  if (batch.empty()) throw Error::invalid_argument("forward: empty batch");
  std::set<int64_t> seen_slots;
  for (const SequenceChunk& chunk : batch) {
    const auto n = static_cast<int64_t>(chunk.tokens.size());
    if (n == 0) throw Error::invalid_argument("forward: a chunk has no tokens");
    if (chunk.slot < 0 || chunk.slot >= cache.max_batch() || !seen_slots.insert(chunk.slot).second) {
      throw Error::invalid_argument("forward: slot " + std::to_string(chunk.slot) +
                                    " is out of range or repeated");
    }
    if (chunk.start < 0 || chunk.start + n > cache.max_seq()) {
      throw Error::exhausted("sequence needs " + std::to_string(chunk.start + n) +
                             " positions but the context is " + std::to_string(cache.max_seq()) + " tokens");
    }
    if (chunk.start + n > cache.capacity(chunk.slot)) {
      throw Error::internal("forward: slot " + std::to_string(chunk.slot) + " has KV blocks for " +
                            std::to_string(cache.capacity(chunk.slot)) + " positions, not " +
                            std::to_string(chunk.start + n));
    }
    for (const int64_t token : chunk.tokens) {
      if (token < 0 || token >= config_.vocab_size) {
        throw Error::invalid_argument("token id " + std::to_string(token) +
                                      " is outside the vocabulary (size " +
                                      std::to_string(config_.vocab_size) + ")");
      }
    }
  }
}

at::Tensor Transformer::forward(const std::vector<SequenceChunk>& batch, KvCache& cache) const {
  c10::InferenceMode guard;
  check_batch(batch, cache);
  std::vector<int64_t> ids, positions, write_blocks, write_offsets, logit_rows;
  const int64_t block_size = cache.block_size();
  for (const SequenceChunk& chunk : batch) {
    const auto n = static_cast<int64_t>(chunk.tokens.size());
    const int64_t* table = cache.block_table(chunk.slot);
    for (int64_t i = 0; i < n; ++i) {
      if (chunk.all_logits || i == n - 1) logit_rows.push_back(static_cast<int64_t>(ids.size()));
      ids.push_back(chunk.tokens[i]);
      positions.push_back(chunk.start + i);
      write_blocks.push_back(table[(chunk.start + i) / block_size]);
      write_offsets.push_back((chunk.start + i) % block_size);
    }
  }
  ensure_rope(cache.max_seq());
  cache.sync_block_tables();
  at::Tensor pos_t = to_device_longs(positions, device_);
  at::Tensor cos = rope_cos_.index_select(0, pos_t).unsqueeze(1);  // [tokens, 1, head_dim]
  at::Tensor sin = rope_sin_.index_select(0, pos_t).unsqueeze(1);
  AttentionPlan plan(batch, cache, config_.sliding_window, device_);
  at::Tensor x = embed(to_device_longs(ids, device_), pos_t);  // [tokens, hidden]
  return run_layers(x, cos, sin, to_device_longs(write_blocks, device_),
                    to_device_longs(write_offsets, device_), to_device_longs(logit_rows, device_), cache,
                    [&](const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values) {
                      return plan.attend(q, keys, values);
                    });
}

at::Tensor Transformer::forward_decode(const DecodeInputs& in, KvCache& cache) const {
  c10::InferenceMode guard;
  const int64_t key_len = in.key_len > 0 ? in.key_len : cache.max_seq();
  if (key_len > cache.max_seq() || !rope_cos_.defined() || rope_cos_.size(0) < cache.max_seq()) {
    throw Error::invalid_argument("forward_decode: the keys or the RoPE tables do not fit the cache");
  }
  at::Tensor cos = rope_cos_.index_select(0, in.positions).unsqueeze(1);  // [rows, 1, head_dim]
  at::Tensor sin = rope_sin_.index_select(0, in.positions).unsqueeze(1);
  // [rows, blocks_per_slot]: each row's block table
  at::Tensor tables = cache.one_block_per_slot() && in.first_slot >= 0
                          ? cache.device_block_tables().narrow(0, in.first_slot, in.slots.size(0))
                          : cache.device_block_tables().index_select(0, in.slots);
  at::Tensor block_index = in.positions.div(cache.block_size(), "floor");  // [rows]
  at::Tensor write_blocks = tables.gather(1, block_index.unsqueeze(1)).squeeze(1);
  at::Tensor write_offsets = in.positions.remainder(cache.block_size());
  const DecodeAttention attention(tables, in.lengths, key_len, cache, config_.sliding_window, in.first_slot);
  at::Tensor x = embed(in.ids, in.positions);  // [rows, hidden]
  return run_layers(x, cos, sin, write_blocks, write_offsets, at::Tensor(), cache,
                    [&](const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values) {
                      return attention.attend(q, keys, values);
                    });
}

at::Tensor Transformer::embed(const at::Tensor& ids, const at::Tensor& positions) const {
  at::Tensor x = weights_->embed_blocks ? weights_->embed_blocks->lookup(ids, dtype_)
                                        : weights_->embed.index_select(0, ids);  // [tokens, hidden]
  if (weights_->position_embed.defined()) x = x + weights_->position_embed.index_select(0, positions);
  return x;
}

at::Tensor Transformer::run_layers(at::Tensor x, const at::Tensor& cos, const at::Tensor& sin,
                                   const at::Tensor& block_t, const at::Tensor& offset_t,
                                   const at::Tensor& logit_rows, KvCache& cache, const Attend& attend) const {
  const ModelConfig& c = config_;
  const int64_t tokens = x.size(0);
  const int64_t q_rows = c.num_heads * c.head_dim;
  const int64_t kv_rows = c.num_kv_heads * c.head_dim;
  const bool gpt2 = arch_.gpt2_block;
  const double eps = c.rms_norm_eps;
  // On a CPU the elementwise work runs fused (fused_cpu_ops.h); GPT-2's LayerNorm and GELU stay in libtorch.
  const bool fused = !gpt2 && fused_cpu_ops_apply(x) && fused_cpu_ops_apply(cos) && fused_cpu_ops_apply(sin);
  auto layer_norm_of = [&](const at::Tensor& t, const at::Tensor& weight, const at::Tensor& bias) {
    return fused ? fused_rms_norm(t, weight, eps) : norm(t, weight, bias, eps, gpt2);
  };
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const LayerWeights& w = weights_->layers[l];
    at::Tensor h = layer_norm_of(x, w.input_norm, w.input_norm_bias);
    at::Tensor qkv = w.qkv.apply(h, w.qkv_bias);                // [tokens, (heads + 2 kv_heads) * head_dim]
    at::Tensor keys = cache.keys(l), values = cache.values(l);  // [blocks, kv_heads, block_size, head_dim]
    at::Tensor q;                                               // [tokens, heads, head_dim]
    if (fused && qkv.is_contiguous()) {
      q = fused_qk_rope_store(qkv, {c.num_heads, c.num_kv_heads, c.head_dim}, w.q_norm, w.k_norm, eps, cos,
                              sin, keys, values, block_t, offset_t);
    } else {
      q = qkv.narrow(1, 0, q_rows).view({tokens, c.num_heads, c.head_dim});
      at::Tensor k = qkv.narrow(1, q_rows, kv_rows).view({tokens, c.num_kv_heads, c.head_dim});
      at::Tensor v = qkv.narrow(1, q_rows + kv_rows, kv_rows).view({tokens, c.num_kv_heads, c.head_dim});
      if (arch_.qk_norm) {
        q = rms_norm(q, w.q_norm, eps);
        k = rms_norm(k, w.k_norm, eps);
      }
      if (!gpt2) {  // GPT-2's positions are in its input embedding
        q = apply_rope(q, cos, sin);
        k = apply_rope(k, cos, sin);
      }
      using at::indexing::Slice;
      const bool q8 = holds_q8_rows(keys);  // the pools take [tokens, kv_heads, row bytes]
      keys.index_put_({block_t, Slice(), offset_t},
                      q8 ? quantize_kv_rows(k) : k);  // k [tokens, kv_heads, head_dim]
      values.index_put_({block_t, Slice(), offset_t}, q8 ? quantize_kv_rows(v) : v);
    }
    at::Tensor attn = attend(q, keys, values);  // [tokens, heads, head_dim]
    x = x + w.o.apply(attn.reshape({tokens, q_rows}), w.o_bias);
    h = layer_norm_of(x, w.post_norm, w.post_norm_bias);
    at::Tensor act;
    if (gpt2) {
      // gelu_new: the tanh approximation
      act = at::gelu(w.gate_up.apply(h, w.gate_up_bias), "tanh");  // [tokens, intermediate]
    } else {
      at::Tensor gate_up = w.gate_up.apply(h);  // [tokens, 2 * intermediate]
      act = fused && gate_up.is_contiguous()
                ? fused_silu_mul(gate_up)
                : at::silu(gate_up.narrow(1, 0, c.intermediate_size)) *
                      gate_up.narrow(1, c.intermediate_size, c.intermediate_size);
    }
    x = x + w.down.apply(act, w.down_bias);
  }
  at::Tensor rows = logit_rows.defined() ? x.index_select(0, logit_rows) : x;  // [rows, hidden]
  rows = layer_norm_of(rows, weights_->final_norm, weights_->final_norm_bias);
  return weights_->lm_head.apply(rows).to(at::kFloat);  // [rows, vocab]
}

}  // namespace torchllm
