#include "torchllm/decode_runner.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>

#include "model/cuda_graph.h"
#include "torchllm/error.h"

namespace torchllm {
namespace {

// Rows of the input table: each bucket b reads its own [kFields, b] block at the start of the buffers.
enum Field : int64_t { kIds, kPositions, kSlots, kLengths, kFields };

}  // namespace

struct DecodeRunner::Impl {
  Impl(const Transformer& model_, KvCache& cache_, DecodeRunnerOptions options_)
      : model(model_), cache(cache_), options(options_) {
    // Graphs need static shapes, which only the flash kernel (bf16 / fp16) serves without reading the whole
    // cache length every step: an fp32 model on CUDA decodes op by op.
    const bool half = model.dtype() == at::kBFloat16 || model.dtype() == at::kHalf;
    graphs = options.cuda_graphs && model.cuda_graphs() && half && CapturedStep::supported(model.device());
    if (graphs) options.static_shapes = true;
    const at::TensorOptions longs = at::TensorOptions().dtype(at::kLong);
    device_inputs = at::zeros({kFields * kMaxBatch}, longs.device(model.device()));
    staged = model.device().is_cpu()
                 ? device_inputs
                 : at::empty({kFields * kMaxBatch}, longs.pinned_memory(model.device().is_cuda()));
  }

  void check(const std::vector<SequenceChunk>& batch) const;
  DecodeInputs inputs_of(int64_t rows, int64_t live_keys, int64_t first_slot) const;

  const Transformer& model;
  KvCache& cache;
  DecodeRunnerOptions options;
  bool graphs = false;
  at::Tensor device_inputs;  // [kFields * kMaxBatch] int64 on the model's device
  at::Tensor staged;         // the same on the host (pinned for CUDA), or device_inputs itself on a CPU
  std::map<int64_t, std::unique_ptr<CapturedStep>> captured;
  int64_t rope_positions = 0;  // the RoPE table length the graphs were captured with
};

const std::vector<int64_t>& DecodeRunner::buckets() {
  static const std::vector<int64_t> sizes{1, 2, 4, 8, 16, 32, 64};
  return sizes;
}

DecodeRunner::DecodeRunner(const Transformer& model, KvCache& cache, DecodeRunnerOptions options)
    : impl_(std::make_unique<Impl>(model, cache, options)) {}

DecodeRunner::~DecodeRunner() = default;

bool DecodeRunner::accepts(const std::vector<SequenceChunk>& batch) {
  if (batch.empty() || static_cast<int64_t>(batch.size()) > kMaxBatch) return false;
  return std::all_of(batch.begin(), batch.end(), [](const SequenceChunk& c) { return c.tokens.size() == 1; });
}

void DecodeRunner::Impl::check(const std::vector<SequenceChunk>& batch) const {
  if (!accepts(batch)) {
    throw Error::invalid_argument("decode: a step takes 1 to " + std::to_string(kMaxBatch) +
                                  " sequences of one token each");
  }
  model.check_batch(batch, cache);
}

DecodeInputs DecodeRunner::Impl::inputs_of(int64_t rows, int64_t live_keys, int64_t first_slot) const {
  at::Tensor table = device_inputs.narrow(0, 0, kFields * rows).view({kFields, rows});
  DecodeInputs in;
  in.ids = table[kIds];
  in.positions = table[kPositions];
  in.slots = table[kSlots];
  in.lengths = table[kLengths];
  in.key_len = options.static_shapes ? cache.max_seq() : live_keys;
  in.first_slot = options.static_shapes ? -1 : first_slot;
  return in;
}

at::Tensor DecodeRunner::decode(const std::vector<SequenceChunk>& batch) {
  c10::InferenceMode guard;
  Impl& m = *impl_;
  m.check(batch);
  const auto rows = static_cast<int64_t>(batch.size());
  const int64_t bucket =
      m.options.static_shapes ? *std::lower_bound(buckets().begin(), buckets().end(), rows) : rows;

  // Padding rows write their K/V at position 0 of the scratch slot and attend to that one key.
  at::Tensor staged = m.staged.narrow(0, 0, kFields * bucket).view({kFields, bucket});
  auto table = staged.accessor<int64_t, 2>();
  int64_t live_keys = 1;
  int64_t first_slot = batch[0].slot;
  for (int64_t i = 0; i < bucket; ++i) {
    if (i < rows && batch[i].slot != batch[0].slot + i) first_slot = -1;
    const bool real = i < rows;
    table[kIds][i] = real ? batch[i].tokens[0] : 0;
    table[kPositions][i] = real ? batch[i].start : 0;
    table[kSlots][i] = real ? batch[i].slot : m.cache.scratch_slot();
    table[kLengths][i] = table[kPositions][i] + 1;
    live_keys = std::max(live_keys, table[kLengths][i]);
  }
  m.cache.sync_block_tables();
  if (!m.staged.is_same(m.device_inputs)) {
    m.device_inputs.narrow(0, 0, kFields * bucket)
        .copy_(m.staged.narrow(0, 0, kFields * bucket), /*non_blocking=*/true);
  }
  const DecodeInputs inputs = m.inputs_of(bucket, live_keys, first_slot);
  if (!m.graphs) return m.model.forward_decode(inputs, m.cache).narrow(0, 0, rows);

  if (m.rope_positions != m.model.rope_table_positions()) {  // the graphs read the old tables
    m.captured.clear();
    m.rope_positions = m.model.rope_table_positions();
  }
  auto found = m.captured.find(bucket);
  if (found != m.captured.end()) {
    found->second->replay();
    return found->second->output().narrow(0, 0, rows);
  }
  at::Tensor logits;
  try {
    m.captured[bucket] = CapturedStep::capture(
        m.model.device(), [&] { return m.model.forward_decode(inputs, m.cache); }, &logits);
  } catch (const std::exception& e) {
    // Decoding goes on without graphs, with the same results; say why once.
    m.graphs = false;
    m.captured.clear();
    std::fprintf(stderr, "torchllm: CUDA graph capture failed, decoding without graphs: %s\n", e.what());
    if (!logits.defined()) logits = m.model.forward_decode(inputs, m.cache);
  }
  return logits.narrow(0, 0, rows);
}

std::vector<int64_t> DecodeRunner::captured_buckets() const {
  std::vector<int64_t> out;
  for (const auto& entry : impl_->captured) out.push_back(entry.first);
  return out;
}

bool DecodeRunner::uses_cuda_graphs() const { return impl_->graphs; }

}  // namespace torchllm
