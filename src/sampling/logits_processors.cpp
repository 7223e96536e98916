#include "sampling/logits_processors.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <limits>
#include <tuple>
#include <vector>

#include "sampling/greedy_argmax.h"
#include "sampling/race_scores.h"
#include "sampling/top_candidates.h"

namespace torchllm {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// Puts candidates whose order topk left open into candidate order: by id, then stably by decreasing logit.
Candidates in_candidate_order(at::Tensor logits, at::Tensor ids) {
  at::Tensor order;
  std::tie(ids, order) = ids.sort(1);
  logits = logits.gather(1, order);
  std::tie(logits, order) = at::sort(logits, /*stable=*/true, /*dim=*/1, /*descending=*/true);
  return {logits, ids.gather(1, order)};
}

}  // namespace

void add_logit_bias(at::Tensor& logits, const at::Tensor& row_index, const at::Tensor& token_index,
                    const at::Tensor& values) {
  c10::List<c10::optional<at::Tensor>> index;
  index.push_back(row_index);
  index.push_back(token_index);
  logits.index_put_(index, values, /*accumulate=*/true);
}

void apply_repetition_penalty(at::Tensor& logits, const at::Tensor& seen, const at::Tensor& penalty) {
  const at::Tensor penalized = at::where(logits > 0, logits / penalty, logits * penalty);  // [rows, vocab]
  logits.copy_(at::where(seen, penalized, logits));
}

void apply_presence_frequency_penalties(at::Tensor& logits, const at::Tensor& counts,
                                        const at::Tensor& presence, const at::Tensor& frequency) {
  logits.sub_(counts.gt(0).to(at::kFloat) * presence + counts * frequency);  // [rows, vocab]
}

void apply_temperature(at::Tensor& logits, const at::Tensor& temperature) {
  logits.div_(temperature.masked_fill(temperature.eq(0), 1.0));
}

namespace {

// Whether our own CPU kernels (top_candidates.h, race_scores.h) serve these logits.
bool own_selection(const at::Tensor& logits) {
  return logits.device().is_cpu() && logits.scalar_type() == at::kFloat && logits.dim() == 2;
}

}  // namespace

Candidates sort_candidates(const at::Tensor& logits) {
  at::Tensor sorted, ids;  // [rows, vocab]
  if (own_selection(logits) && logits.size(1) < (int64_t{1} << 31)) {
    sorted_candidates_cpu(logits, sorted, ids);
    return {sorted, ids};
  }
  std::tie(sorted, ids) = at::sort(logits, /*stable=*/true, /*dim=*/1, /*descending=*/true);
  return {sorted, ids};
}

Candidates leading_candidates(const at::Tensor& logits, int64_t count) {
  at::Tensor values, ids;  // [rows, count]
  if (own_selection(logits)) {
    const std::vector<int64_t> counts(static_cast<size_t>(logits.size(0)), count);
    top_candidates_cpu(logits, counts.data(), count, values, ids);
    return {values, ids};
  }
  std::tie(values, ids) = logits.topk(count, 1);
  return in_candidate_order(values, ids);
}

Candidates top_k_candidates(const at::Tensor& logits, const at::Tensor& top_k, int64_t max_k) {
  if (own_selection(logits) && top_k.device().is_cpu()) {
    const at::Tensor counts = top_k.to(at::kLong).contiguous();  // [rows, 1]
    at::Tensor values, ids;                                      // [rows, max_k]
    top_candidates_cpu(logits, counts.data_ptr<int64_t>(), max_k, values, ids);
    return {values, ids};
  }
  const at::Tensor kth = std::get<0>(logits.topk(max_k, 1)).gather(1, top_k - 1);  // [rows, 1]
  // topk decides ties at the k-th place as it likes; keep the lowest ids among them, as many as the tokens
  // strictly above leave room for.
  const at::Tensor above = logits > kth;               // [rows, vocab]
  const at::Tensor at_kth = logits == kth;             // [rows, vocab]
  const at::Tensor room = top_k - above.sum(1, true);  // [rows, 1]
  const at::Tensor keep = above.logical_or(at_kth.logical_and(at_kth.cumsum(1) <= room));
  at::Tensor values, ids;  // [rows, max_k]
  std::tie(values, ids) = logits.masked_fill(keep.logical_not(), kNegInf).topk(max_k, 1);
  return in_candidate_order(values, ids);
}

void apply_top_k(at::Tensor& candidates, const at::Tensor& top_k) {
  const int64_t width = candidates.size(1);
  const at::Tensor k = top_k.masked_fill(top_k.le(0), width);                    // [rows, 1]
  const at::Tensor place = at::arange(width, top_k.options()).view({1, width});  // [1, width]
  candidates.masked_fill_(place >= k, kNegInf);
}

namespace {

// Removes the places whose mass before them reaches top_p * total. running: [rows, width] cumulative
// unnormalized probabilities of the candidates (the first is 1).
at::Tensor top_p_cut(const at::Tensor& running, const at::Tensor& top_p, const at::Tensor& total) {
  const int64_t width = running.size(1);
  // Mass before each place; shifted rather than running - weight so that it is exactly 0 at the first.
  const at::Tensor before = at::cat({at::zeros_like(total), running.narrow(1, 0, width - 1)}, 1);
  // Rounding can carry the running sum to the total before the last place; "off" must keep everything.
  const at::Tensor p = top_p.masked_fill(top_p.ge(1), std::numeric_limits<double>::infinity());
  return before >= p * total;  // [rows, width]: removed
}

}  // namespace

void apply_top_p(at::Tensor& candidates, const at::Tensor& top_p) {
  const int64_t width = candidates.size(1);
  // Unnormalized probabilities (the first is 1) and their running sum: comparing with top_p * total needs no
  // division, and -inf places past a row's last candidate add exact zeros, so the cut does not depend on the
  // width of the batch.
  const at::Tensor weight = (candidates - candidates.narrow(1, 0, 1)).exp();  // [rows, width]
  const at::Tensor running = weight.cumsum(1);                                // [rows, width]
  const at::Tensor total = running.narrow(1, width - 1, 1);                   // [rows, 1]
  candidates.masked_fill_(top_p_cut(running, top_p, total), kNegInf);
}

at::Tensor apply_top_p_of_total(at::Tensor& candidates, const at::Tensor& top_p, const at::Tensor& total) {
  const int64_t width = candidates.size(1);
  const at::Tensor running = (candidates - candidates.narrow(1, 0, 1)).exp().cumsum(1);  // [rows, width]
  const at::Tensor removed = top_p_cut(running, top_p, total);                           // [rows, width]
  // The first place tied with the last: from there on the part may hold other ids than the whole row's.
  const at::Tensor first_tied = candidates.eq(candidates.narrow(1, width - 1, 1))
                                    .to(at::kInt)
                                    .argmax(1, /*keepdim=*/true);  // [rows, 1]
  const at::Tensor decided = removed.gather(1, first_tied);        // [rows, 1]
  candidates.masked_fill_(removed, kNegInf);
  return decided;
}

void apply_min_p(at::Tensor& logits, const at::Tensor& min_p) {
  const at::Tensor threshold = std::get<0>(logits.max(1, /*keepdim=*/true)) + min_p.log();  // [rows, 1]
  logits.masked_fill_(logits < threshold, kNegInf);
}

at::Tensor exponential_race(const Candidates& candidates, const at::Tensor& noise) {
  const at::Tensor& logits = candidates.logits;
  at::Tensor scores;  // [rows, width]
  if (own_selection(logits) && noise.device().is_cpu() && noise.scalar_type() == at::kFloat &&
      noise.sizes() == logits.sizes()) {
    const at::Tensor l = logits.contiguous(), e = noise.contiguous();
    scores = at::empty_like(l);
    const int64_t width = l.size(1);
    at::parallel_for(0, l.size(0), 1, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        race_scores_cpu(l.data_ptr<float>() + r * width, e.data_ptr<float>() + r * width,
                        scores.data_ptr<float>() + r * width, width);
      }
    });
  } else {
    scores = logits - noise.log();
  }
  const at::Tensor place = greedy_argmax(scores).unsqueeze(1);  // [rows, 1]
  return candidates.ids.gather(1, place).squeeze(1);
}

}  // namespace torchllm
