#pragma once

// The transformer shared by Qwen3, Qwen2, Llama and Mistral: load a checkpoint and run forward passes over a
// batch of sequences at different positions (decode steps and prompt chunks together).

#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "torchllm/architecture.h"
#include "torchllm/checkpoint.h"
#include "torchllm/kv_cache.h"
#include "torchllm/model_config.h"

namespace torchllm {

struct LoadOptions {
  LoadOptions(std::string device_ = "auto", std::string dtype_ = "auto")
      : device(std::move(device_)), dtype(std::move(dtype_)) {}

  std::string device;  // auto | cpu | cuda[:N] | mps
  std::string dtype;   // auto | bf16 | fp16 | fp32
  // Called after each tensor is loaded with the checkpoint bytes read so far and in all.
  std::function<void(uint64_t done, uint64_t total)> progress;
  // On CUDA, decode steps replay a captured CUDA graph per batch size (--no-cuda-graphs turns it off).
  bool cuda_graphs = true;
  // On a CPU, GGUF projections in a block format with a dot-product kernel (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1,
  // Q4_K, Q5_K, Q6_K) stay in their blocks, read from the file's mapping (--dequantize turns it off: every
  // tensor is then converted to the dtype at load, as on CUDA).
  bool keep_quantized = true;
  // On a CPU, quantize a Hugging Face checkpoint's (or --shape's random) projections at load to this ggml
  // type ("q8_0", "q4_0", "q4_k", ...; --quantize) and compute on the blocks; empty: keep them dense.
  std::string quantize;
  // How the KV cache stores keys and values: "auto" (the dtype) or "q8_0" (CPU only; --cache-type).
  std::string kv_cache_type = "auto";
};

// One sequence's part of a forward pass: `tokens` go to positions [start, start + tokens.size()) of cache
// `slot`.
struct SequenceChunk {
  int64_t slot = 0;
  int64_t start = 0;
  std::vector<int64_t> tokens;
  bool all_logits = false;  // logits for every token of the chunk instead of only the last one
};

// A decode step with static shapes: one token for each of `rows` sequences, every tensor [rows] int64 on the
// model's device. Padding rows name the cache's scratch slot.
struct DecodeInputs {
  at::Tensor ids;        // token ids
  at::Tensor positions;  // where each token goes in its slot
  at::Tensor slots;      // cache slots
  at::Tensor lengths;    // positions + 1: the keys each row attends to
  // Keys every row's attention reads (at least every length, at most the cache length); the whole cache
  // length keeps the shapes the same from step to step. 0: the whole cache length.
  int64_t key_len = 0;
  // When the rows' slots are first_slot, first_slot + 1, ... and the caller knows it, attention reads the
  // cache in place instead of gathering it. -1: unknown (what a captured graph must assume).
  int64_t first_slot = -1;
};

struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
};

// The configuration of a Hugging Face model directory (config.json) or of a GGUF file (its metadata).
ModelConfig read_model_config(const std::string& model_path);

// The tensors a Hugging Face checkpoint of this configuration holds, with their shapes.
std::vector<TensorSpec> checkpoint_tensor_specs(const ModelConfig& config);
// The number of weights in those tensors.
int64_t checkpoint_parameter_count(const ModelConfig& config);

// Checks names and shapes of a checkpoint's tensors against the configuration: a missing, misshapen or
// unexpected tensor is Error(kCorruptInput). Reads only headers.
void check_checkpoint_tensors(const Checkpoint& checkpoint, const ModelConfig& config);

// The K/V bytes one token takes in every layer's cache of `type` (kModel: elements of dtype).
uint64_t kv_bytes_per_token(const ModelConfig& config, c10::ScalarType dtype,
                            KvCacheType type = KvCacheType::kModel);

class Transformer {
 public:
  // A Hugging Face model directory, or a GGUF model (a .gguf file, the first part of a split set, or a
  // directory holding one): GGUF tensors are dequantized to the compute dtype.
  static std::unique_ptr<Transformer> load(const std::string& model_dir, const LoadOptions& options);
  static std::unique_ptr<Transformer> load_gguf(const std::string& path, const LoadOptions& options);
  // Random weights (normal, std 0.02; norms 1) for benchmarks and tests that need no file: from `seed` on a
  // CPU, from the device's default generator elsewhere.
  static std::unique_ptr<Transformer> random(const ModelConfig& config, const LoadOptions& options,
                                             uint64_t seed);
  ~Transformer();

  const ModelConfig& config() const { return config_; }
  const Architecture& architecture() const { return arch_; }
  c10::Device device() const { return device_; }
  c10::ScalarType dtype() const { return dtype_; }
  // What make_cache and make_paged_cache store K/V as (LoadOptions::kv_cache_type).
  KvCacheType kv_cache_type() const { return kv_cache_type_; }
  uint64_t kv_bytes_per_token() const {
    return torchllm::kv_bytes_per_token(config_, dtype_, kv_cache_type_);
  }
  int64_t parameter_count() const;
  uint64_t weight_bytes() const;

  // A cache of max_batch slots of max_seq positions, each slot one block of its own (what a caller without a
  // block manager wants: slot s's positions are block s).
  KvCache make_cache(int64_t max_batch, int64_t max_seq) const;
  // A paged pool of num_blocks blocks of block_size positions for up to max_batch sequences of up to max_seq
  // positions; the caller sets each slot's block table (KvCache::set_block_table).
  KvCache make_paged_cache(int64_t num_blocks, int64_t block_size, int64_t max_batch, int64_t max_seq) const;

  // Writes K/V of every chunk into `cache` and returns float32 logits [rows, vocab]: one row per chunk (its
  // last token), or one per token for chunks with all_logits, in chunk order. Slots must be distinct.
  at::Tensor forward(const std::vector<SequenceChunk>& batch, KvCache& cache) const;
  // What forward checks before it computes: a batch that is not empty, chunks with tokens, distinct slots of
  // the cache, positions within its length, ids within the vocabulary. Throws Error.
  void check_batch(const std::vector<SequenceChunk>& batch, const KvCache& cache) const;

  // One decode step without host synchronization (no check reads the inputs back): writes each row's K/V
  // and returns float32 logits [rows, vocab]. Gives the logits forward() gives for the same tokens. The
  // RoPE tables must cover the cache (make_cache sees to it).
  at::Tensor forward_decode(const DecodeInputs& inputs, KvCache& cache) const;
  bool cuda_graphs() const { return cuda_graphs_; }
  // Positions the RoPE tables cover now (they grow when a longer cache is made).
  int64_t rope_table_positions() const { return rope_cos_.defined() ? rope_cos_.size(0) : 0; }

 private:
  struct Weights;
  using WeightLoader = std::function<std::unique_ptr<Weights>(const Architecture& arch,
                                                              const at::TensorOptions& tensor_options)>;
  // The model of `config` at the dtype and device `options` resolve to, its weights from `load_weights`,
  // after checking that they fit.
  // `dense_fraction`: the part of the parameters that will be dense tensors of the dtype (the rest stays
  // in a file mapping).
  // load() of a Hugging Face model directory.
  static std::unique_ptr<Transformer> load_checkpoint(const std::string& model_dir,
                                                      const LoadOptions& options);
  static std::unique_ptr<Transformer> with_weights(const ModelConfig& config, const LoadOptions& options,
                                                   const WeightLoader& load_weights,
                                                   double dense_fraction = 1.0);
  Transformer(const ModelConfig& config, const Architecture& arch, c10::Device device, c10::ScalarType dtype);
  void ensure_rope(int64_t positions) const;
  // --quantize: the dense projections to ggml blocks (LoadOptions::quantize).
  void quantize_at_load(const LoadOptions& options);
  // Attention of one layer: q [tokens, heads, head_dim] -> [tokens, heads, head_dim], after the layer's K/V
  // are in the cache.
  using Attend = std::function<at::Tensor(const at::Tensor& q, const at::Tensor& key_cache,
                                          const at::Tensor& value_cache)>;
  // The input embedding of tokens `ids` at `positions` ([tokens] int64): [tokens, hidden].
  at::Tensor embed(const at::Tensor& ids, const at::Tensor& positions) const;
  // The layers and the head: x [tokens, hidden] embedded, cos/sin [tokens, 1, head_dim], blocks/offsets
  // [tokens] where each token's K/V go in the pool; logit_rows [rows] the tokens that get logits, or
  // undefined for all.
  at::Tensor run_layers(at::Tensor x, const at::Tensor& cos, const at::Tensor& sin, const at::Tensor& blocks,
                        const at::Tensor& offsets, const at::Tensor& logit_rows, KvCache& cache,
                        const Attend& attend) const;

  ModelConfig config_;
  const Architecture& arch_;
  c10::Device device_;
  c10::ScalarType dtype_;
  std::unique_ptr<Weights> weights_;
  mutable at::Tensor rope_cos_;  // [positions, head_dim] in dtype_, grown by make_cache
  mutable at::Tensor rope_sin_;
  bool cuda_graphs_ = true;
  KvCacheType kv_cache_type_ = KvCacheType::kModel;
};

}  // namespace torchllm
