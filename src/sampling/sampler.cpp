#include "torchllm/sampler.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <limits>
#include <random>
#include <string>
#include <unordered_set>

#include "sampling/greedy_argmax.h"
#include "sampling/logits_processors.h"
#include "sampling/seeded_generator.h"
#include "torchllm/error.h"

namespace torchllm {
namespace {

// Up to this top_k a row samples from a partial selection of candidates instead of the sorted vocabulary.
constexpr int64_t kMaxSelectedCandidates = 1024;
// top_p without top_k first tries the leading candidates this many wide (a nucleus is usually far smaller),
// and sorts the whole vocabulary only for rows whose cut falls past them.
constexpr int64_t kTopPLeading = 1024;

uint64_t random_seed() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}

// "cuda" and "cuda:0" name the same device when one of them leaves the index to the current device.
bool same_device(c10::Device a, c10::Device b) {
  return a.type() == b.type() && (a.index() == b.index() || !a.has_index() || !b.has_index());
}

std::string token_out_of_range(const char* what, int64_t token, int64_t vocab_size) {
  return std::string(what) + " token id " + std::to_string(token) + " is outside the vocabulary [0, " +
         std::to_string(vocab_size) + ")";
}

// Host to device without waiting for the device: CUDA stages a pageable source at once, so the host tensor
// may be freed right after. Other devices copy synchronously.
at::Tensor upload(const at::Tensor& host, c10::Device device) {
  if (device.is_cpu()) return host;
  return host.to(device, /*non_blocking=*/device.is_cuda());
}

at::Tensor upload_ints(const std::vector<int64_t>& values, c10::Device device) {
  return upload(at::tensor(at::ArrayRef<int64_t>(values), at::kLong), device);  // [n]
}

// Columns of the per-row parameter table uploaded once per batch.
enum Column : int64_t { kTemperature, kTopP, kMinP, kRepetition, kPresence, kFrequency, kColumns };

at::Tensor parameter_table(const std::vector<const SamplingParams*>& params) {
  const int64_t n = static_cast<int64_t>(params.size());
  at::Tensor table = at::empty({n, kColumns}, at::kFloat);  // [rows, columns] on the host
  auto t = table.accessor<float, 2>();
  for (int64_t i = 0; i < n; ++i) {
    const SamplingParams& p = *params[i];
    t[i][kTemperature] = static_cast<float>(p.temperature);
    t[i][kTopP] = static_cast<float>(p.top_p);
    t[i][kMinP] = static_cast<float>(p.min_p);
    t[i][kRepetition] = static_cast<float>(p.repetition_penalty);
    t[i][kPresence] = static_cast<float>(p.presence_penalty);
    t[i][kFrequency] = static_cast<float>(p.frequency_penalty);
  }
  return table;
}

// How a sampled row finds its candidates; each row's own parameters decide, so that its draws do not depend
// on the rest of the batch.
enum Path : int { kWholeVocabulary, kSelectedTopK, kSortedVocabulary, kPaths };

Path path_of(const SamplingParams& p, int64_t vocab) {
  const bool top_k = p.top_k > 0 && p.top_k < vocab;
  if (top_k && p.top_k <= kMaxSelectedCandidates) return kSelectedTopK;
  if (top_k || p.top_p < 1.0) return kSortedVocabulary;
  return kWholeVocabulary;  // temperature and min_p need no order
}

// Samples one token for each row of `logits` ([group, vocab], penalized; modified) that all take `path`.
// table: [group, columns]. Returns [group] int64 token ids.
at::Tensor sample_group(const at::Tensor& logits, const at::Tensor& table,
                        const std::vector<const SamplingParams*>& params,
                        const std::vector<at::Generator*>& generators, Path path) {
  const int64_t n = logits.size(0), vocab = logits.size(1);
  auto column = [&](Column c) { return table.narrow(1, c, 1); };  // [group, 1]
  std::vector<int64_t> top_k;
  bool any_top_k = false, any_top_p = false, any_min_p = false;
  for (const SamplingParams* p : params) {
    const bool on = p->top_k > 0 && p->top_k < vocab;
    top_k.push_back(on ? p->top_k : 0);
    any_top_k |= on;
    any_top_p |= p->top_p < 1.0;
    any_min_p |= p->min_p > 0.0;
  }

  Candidates candidates;
  bool filtered = false;  // temperature and top_p already applied
  if (path == kSortedVocabulary && !any_top_k && any_top_p && vocab > 2 * kTopPLeading) {
    // The leading candidates hold the nucleus of every row of the group: no sort of the vocabulary.
    Candidates leading = leading_candidates(logits, kTopPLeading);
    apply_temperature(leading.logits, column(kTemperature));
    at::Tensor scaled = logits.clone();  // [group, vocab]
    apply_temperature(scaled, column(kTemperature));
    const at::Tensor total = (scaled - leading.logits.narrow(1, 0, 1)).exp().sum(1, /*keepdim=*/true);
    if (apply_top_p_of_total(leading.logits, column(kTopP), total).all().item<bool>()) {
      candidates = std::move(leading);
      filtered = true;
    }
  }
  if (!filtered) {
    if (path == kSelectedTopK) {
      const int64_t max_k = *std::max_element(top_k.begin(), top_k.end());
      candidates = top_k_candidates(logits, upload_ints(top_k, logits.device()).view({n, 1}), max_k);
    } else if (path == kSortedVocabulary) {
      candidates = sort_candidates(logits);
      if (any_top_k) apply_top_k(candidates.logits, upload_ints(top_k, logits.device()).view({n, 1}));
    } else {
      candidates = {logits,
                    at::arange(vocab, logits.options().dtype(at::kLong)).view({1, vocab}).expand({n, vocab})};
    }
    apply_temperature(candidates.logits, column(kTemperature));
    if (any_top_p) apply_top_p(candidates.logits, column(kTopP));
  }
  if (any_min_p) apply_min_p(candidates.logits, column(kMinP));

  // Each row fills as many values as it has places, whatever the batch's width; the leading candidates take
  // the first of the whole vocabulary's values, so that a row draws the same token as through the sorted
  // vocabulary. On the CPU a row's first values do not depend on how many it fills (fill_exponential), so
  // the leading candidates fill only theirs.
  const int64_t width = filtered && !logits.device().is_cpu() ? vocab : candidates.logits.size(1);
  const at::Tensor noise = at::empty({n, width}, logits.options());  // [group, width]
  const auto fill_rows = [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t places = top_k[i] > 0 ? std::min(top_k[i], width) : width;
      fill_exponential(noise[i].narrow(0, 0, places), *generators[i]);
      if (places < width) noise[i].narrow(0, places, width - places).fill_(1);
    }
  };
  // Each row has a generator of its own, so CPU rows fill on all threads (half a millisecond a row for a
  // 150k vocabulary).
  if (logits.device().is_cpu()) {
    at::parallel_for(0, n, 1, fill_rows);
  } else {
    fill_rows(0, n);
  }
  return exponential_race(candidates, noise.narrow(1, 0, candidates.logits.size(1)));
}

void check_batch(const at::Tensor& logits, const std::vector<SequenceSampler*>& rows) {
  if (logits.dim() != 2) {
    throw Error::invalid_argument("sample_batch: logits must be [rows, vocab], got " +
                                  std::to_string(logits.dim()) + " dimensions");
  }
  if (logits.size(0) != static_cast<int64_t>(rows.size())) {
    throw Error::invalid_argument("sample_batch: logits have " + std::to_string(logits.size(0)) +
                                  " rows but " + std::to_string(rows.size()) + " samplers were given");
  }
  if (!at::isFloatingType(logits.scalar_type())) {
    throw Error::invalid_argument("sample_batch: logits must be floating point");
  }
  std::unordered_set<const SequenceSampler*> distinct;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i] == nullptr)
      throw Error::invalid_argument("sample_batch: row " + std::to_string(i) + " has no sampler");
    if (!distinct.insert(rows[i]).second) {
      throw Error::invalid_argument(
          "sample_batch: row " + std::to_string(i) +
          " repeats a sampler already in the batch; each sequence samples once per step");
    }
  }
}

// Sets the logits a row's grammar forbids to -inf; rows without a grammar are not touched (nor copied).
// Returns the rows whose grammar allows no token at all (left unmasked, to be reported, not sampled).
std::vector<bool> apply_grammars(at::Tensor& x, const std::vector<SequenceSampler*>& rows) {
  std::vector<bool> dead(rows.size(), false);
  std::vector<int64_t> constrained;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i]->constrained_now()) constrained.push_back(static_cast<int64_t>(i));
  }
  if (constrained.empty()) return dead;
  const int64_t vocab = x.size(1);
  const int64_t k = static_cast<int64_t>(constrained.size());
  at::Tensor allowed = at::empty({k, vocab}, at::kBool);  // [constrained rows, vocab] on the host
  auto* data = reinterpret_cast<uint8_t*>(allowed.data_ptr<bool>());
  for (int64_t j = 0; j < k; ++j) {
    uint8_t* row = data + j * vocab;
    const auto index = static_cast<size_t>(constrained[static_cast<size_t>(j)]);
    rows[index]->fill_grammar_mask(row, vocab);
    bool any = false;
    for (int64_t t = 0; t < vocab && !any; ++t) any = row[t] != 0;
    if (!any) {
      dead[index] = true;
      std::fill(row, row + vocab, uint8_t{1});
    }
  }
  const at::Tensor index = upload_ints(constrained, x.device());           // [constrained rows]
  const at::Tensor forbidden = upload(allowed, x.device()).logical_not();  // [constrained rows, vocab]
  if (k == static_cast<int64_t>(rows.size())) {
    x.masked_fill_(forbidden, -std::numeric_limits<float>::infinity());
    return dead;
  }
  at::Tensor sub = x.index_select(0, index);  // [constrained rows, vocab]
  sub.masked_fill_(forbidden, -std::numeric_limits<float>::infinity());
  x.index_copy_(0, index, sub);
  return dead;
}

}  // namespace

SequenceSampler::SequenceSampler(const SamplingParams& params, c10::Device device, int64_t vocab_size,
                                 const std::vector<int64_t>& prompt)
    : params_(params), vocab_size_(vocab_size), device_(device) {
  if (vocab_size <= 0) throw Error::invalid_argument("sampler: the vocabulary size must be positive");
  params_.validate(vocab_size);
  for (int64_t token : prompt) {
    if (token < 0 || token >= vocab_size)
      throw Error::invalid_argument(token_out_of_range("prompt", token, vocab_size));
  }
  generator_ = make_seeded_generator(device, params_.seed ? *params_.seed : random_seed());
  const at::TensorOptions options = at::TensorOptions().device(device);
  if (params_.repetition_penalty != 1.0) {
    seen_ = at::zeros({vocab_size}, options.dtype(at::kBool));  // [vocab]
    if (!prompt.empty()) seen_.index_fill_(0, upload_ints(prompt, device), true);
  }
  if (params_.presence_penalty != 0.0 || params_.frequency_penalty != 0.0) {
    counts_ = at::zeros({vocab_size}, options.dtype(at::kFloat));  // [vocab]
  }
}

void SequenceSampler::constrain(std::unique_ptr<GrammarMatcher> grammar, std::optional<ThoughtTokens> after) {
  grammar_ = std::move(grammar);
  phase_ = GrammarPhase::kActive;
  if (grammar_ && after) {
    thought_ = *after;
    phase_ = after->started ? GrammarPhase::kThinking : GrammarPhase::kFirstToken;
  }
}

void SequenceSampler::fill_grammar_mask(uint8_t* mask, int64_t mask_size) {
  grammar_->fill_mask(mask, mask_size);
  if (phase_ == GrammarPhase::kFirstToken && thought_.open >= 0 && thought_.open < mask_size) {
    mask[thought_.open] = 1;
  }
}

void SequenceSampler::record(int64_t token) {
  if (token < 0 || token >= vocab_size_) {
    throw Error::invalid_argument(token_out_of_range("sampler: recorded", token, vocab_size_));
  }
  // select() is a view, so these are single device-side updates with no transfer.
  if (seen_.defined()) seen_.select(0, token).fill_(true);
  if (counts_.defined()) counts_.select(0, token).add_(1);
  if (!grammar_) return;
  switch (phase_) {
    case GrammarPhase::kActive:
      grammar_->accept_token(token);
      break;
    case GrammarPhase::kFirstToken:
      if (token == thought_.open) {
        phase_ = GrammarPhase::kThinking;
      } else {
        phase_ = GrammarPhase::kActive;
        grammar_->accept_token(token);
      }
      break;
    case GrammarPhase::kThinking:
      if (token == thought_.close) phase_ = GrammarPhase::kActive;  // the answer starts with the next token
      break;
  }
}

std::vector<SampledToken> sample_batch(const at::Tensor& logits, const std::vector<SequenceSampler*>& rows) {
  check_batch(logits, rows);
  if (rows.empty()) return {};
  const int64_t n = logits.size(0);
  const int64_t vocab = logits.size(1);
  const c10::Device device = logits.device();
  std::vector<const SamplingParams*> params;
  bool any_bias = false, any_repetition = false, any_presence_frequency = false, any_greedy = false;
  bool any_logprobs = false, all_greedy = true, any_grammar = false;
  int64_t max_top_logprobs = 0;
  for (int64_t i = 0; i < n; ++i) {
    const SequenceSampler& row = *rows[i];
    if (row.vocab_size_ != vocab) {
      throw Error::invalid_argument(
          "sample_batch: row " + std::to_string(i) + " has " + std::to_string(vocab) +
          " logits but its sampler was made for a vocabulary of " + std::to_string(row.vocab_size_));
    }
    if (!same_device(row.device_, device)) {
      throw Error::invalid_argument("sample_batch: the logits are on " + device.str() + " but row " +
                                    std::to_string(i) + "'s sampler keeps its state on " + row.device_.str());
    }
    const SamplingParams& p = row.params_;
    params.push_back(&p);
    any_bias |= !p.logit_bias.empty();
    any_repetition |= row.seen_.defined();
    any_presence_frequency |= row.counts_.defined();
    any_greedy |= p.temperature == 0.0;
    all_greedy &= p.temperature == 0.0;
    any_grammar |= row.constrained_now();
    any_logprobs |= p.logprobs;
    max_top_logprobs = std::max(max_top_logprobs, p.top_logprobs);
  }

  const at::Tensor raw = logits.to(at::kFloat);  // [rows, vocab]; the unmodified distribution
  // [rows, vocab]; processed in place, so a copy unless the batch only takes the argmax of unchanged logits
  at::Tensor x = all_greedy && !any_grammar && !any_bias && !any_repetition && !any_presence_frequency
                     ? raw
                     : raw.clone(at::MemoryFormat::Contiguous);
  const std::vector<bool> dead = apply_grammars(x, rows);
  const at::Tensor table = upload(parameter_table(params), device);  // [rows, columns]
  auto column = [&](Column c) { return table.narrow(1, c, 1); };     // [rows, 1]

  if (any_bias) {
    std::vector<int64_t> row_index, token_index;
    std::vector<float> values;
    for (int64_t i = 0; i < n; ++i) {
      for (const auto& [token, bias] : params[i]->logit_bias) {
        row_index.push_back(i);
        token_index.push_back(token);
        values.push_back(static_cast<float>(bias));
      }
    }
    add_logit_bias(x, upload_ints(row_index, device), upload_ints(token_index, device),
                   upload(at::tensor(at::ArrayRef<float>(values), at::kFloat), device));
  }
  if (any_repetition) {
    const at::Tensor none = at::zeros({vocab}, x.options().dtype(at::kBool));
    std::vector<at::Tensor> seen;
    for (const SequenceSampler* row : rows) seen.push_back(row->seen_.defined() ? row->seen_ : none);
    apply_repetition_penalty(x, at::stack(seen), column(kRepetition));  // seen: [rows, vocab]
  }
  if (any_presence_frequency) {
    const at::Tensor none = at::zeros({vocab}, x.options());
    std::vector<at::Tensor> counts;
    for (const SequenceSampler* row : rows) counts.push_back(row->counts_.defined() ? row->counts_ : none);
    apply_presence_frequency_penalties(x, at::stack(counts), column(kPresence), column(kFrequency));
  }

  // Greedy picks from the penalized logits: temperature and the filters never remove the largest logit, and
  // argmax breaks ties towards the lowest id.
  at::Tensor tokens = any_greedy ? greedy_argmax(x) : at::Tensor();  // [rows] int64
  std::vector<int64_t> members[kPaths];
  for (int64_t i = 0; i < n; ++i) {
    if (params[i]->temperature != 0.0) members[path_of(*params[i], vocab)].push_back(i);
  }
  for (int path = 0; path < kPaths; ++path) {
    if (members[path].empty()) continue;
    std::vector<const SamplingParams*> group_params;
    std::vector<at::Generator*> generators;
    for (int64_t i : members[path]) {
      group_params.push_back(params[i]);
      generators.push_back(&rows[i]->generator_);
    }
    if (static_cast<int64_t>(members[path].size()) == n) {
      tokens = sample_group(x, table, group_params, generators, static_cast<Path>(path));
      continue;
    }
    const at::Tensor index = upload_ints(members[path], device);  // [group]
    if (!tokens.defined()) tokens = at::empty({n}, x.options().dtype(at::kLong));
    tokens.index_copy_(0, index,
                       sample_group(x.index_select(0, index), table.index_select(0, index), group_params,
                                    generators, static_cast<Path>(path)));
  }

  // The one transfer to the host: ids, and with them the log-probabilities asked for.
  at::Tensor host_ids = tokens.unsqueeze(1);  // [rows, 1 + top]
  at::Tensor host_logprobs;                   // [rows, 1 + top]
  const int64_t top = std::min(max_top_logprobs, vocab);
  if (any_logprobs) {
    const at::Tensor log_probs = at::log_softmax(raw, 1);  // [rows, vocab]
    host_logprobs = log_probs.gather(1, host_ids);
    if (top > 0) {
      at::Tensor top_values, top_ids;  // [rows, top], best first
      std::tie(top_values, top_ids) = log_probs.topk(top, 1, /*largest=*/true, /*sorted=*/true);
      host_ids = at::cat({host_ids, top_ids}, 1);
      host_logprobs = at::cat({host_logprobs, top_values}, 1);
    }
    host_logprobs = host_logprobs.cpu();
  }
  host_ids = host_ids.cpu();

  std::vector<SampledToken> result(n);
  const auto ids = host_ids.accessor<int64_t, 2>();
  for (int64_t i = 0; i < n; ++i) {
    SequenceSampler& row = *rows[i];
    SampledToken& out = result[i];
    if (dead[static_cast<size_t>(i)]) {
      out.token = -1;
      out.error = "the grammar allows no token of the vocabulary to continue the output";
      continue;
    }
    out.token = ids[i][0];
    if (row.params_.logprobs) {
      const auto lp = host_logprobs.accessor<float, 2>();
      out.logprob = lp[i][0];
      for (int64_t j = 1; j <= std::min(row.params_.top_logprobs, top); ++j)
        out.top.push_back({ids[i][j], lp[i][j]});
    }
    row.record(out.token);
  }
  return result;
}

}  // namespace torchllm
