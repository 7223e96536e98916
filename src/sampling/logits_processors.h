#pragma once

// The steps between a model's logits and the token drawn from them. Each works on a whole decode batch at
// once with one parameter per row, so rows with different parameters share the same kernels; a row whose
// parameter is the neutral value ("off") comes out bit for bit unchanged, and no step mixes rows, so a row
// gives the same result in any batch.
//   logits: [rows, vocab] float32, modified in place; per-row parameters: [rows, 1] on the logits' device.

#include <ATen/Tensor.h>

#include <cstdint>

namespace torchllm {

// OpenAI logit_bias: logits[row_index[i], token_index[i]] += values[i]. row_index, token_index: [n] int64,
// values: [n] float32.
void add_logit_bias(at::Tensor& logits, const at::Tensor& row_index, const at::Tensor& token_index,
                    const at::Tensor& values);

// Hugging Face / CTRL: where `seen` ([rows, vocab] bool), a positive logit is divided by the penalty and any
// other is multiplied by it, so that penalty > 1 always makes a seen token less likely.
void apply_repetition_penalty(at::Tensor& logits, const at::Tensor& seen, const at::Tensor& penalty);

// OpenAI: logit -= presence * (count > 0) + frequency * count, with `counts` [rows, vocab] float32.
void apply_presence_frequency_penalties(at::Tensor& logits, const at::Tensor& counts,
                                        const at::Tensor& presence, const at::Tensor& frequency);

// Divides each row by its temperature; rows with temperature 0 (greedy) are left as they are.
void apply_temperature(at::Tensor& logits, const at::Tensor& temperature);

// The tokens a row may still draw, most likely first: logits [rows, width] in decreasing order, equal logits
// by increasing token id (a fixed order, so that the top_p cut and the draw are reproducible); ids [rows,
// width] int64 are their token ids. Filtered-out places hold -inf.
struct Candidates {
  at::Tensor logits;
  at::Tensor ids;
};

// Every token of every row, in candidate order.
Candidates sort_candidates(const at::Tensor& logits);

// Exactly the top_k[i] most likely tokens of row i (top_k [rows, 1] int64 in [1, max_k], max_k < vocab): of
// tokens tied at the k-th place the lower ids stay. Width max_k; a row's places past its own k hold -inf.
// Costs a partial selection rather than a sort of the vocabulary.
Candidates top_k_candidates(const at::Tensor& logits, const at::Tensor& top_k, int64_t max_k);

// The `count` most likely tokens of every row (count < vocab) in candidate order, by a partial selection:
// nothing but them is sorted. Of tokens tied at the last place, any may be the ones taken.
Candidates leading_candidates(const at::Tensor& logits, int64_t count);

// The filters below take candidate logits ([rows, width], decreasing) and set the removed places to -inf.

// Keeps the first top_k places (top_k [rows, 1] int64; 0 or at least the width: off). The same tokens as
// top_k_candidates: ties at the k-th place go to the lower ids, unlike transformers, which keeps every tie.
void apply_top_k(at::Tensor& candidates, const at::Tensor& top_k);

// Keeps a place when the places before it hold less than top_p of the probability (top_p [rows, 1] float32; 1
// is off): the smallest prefix whose probability reaches top_p, and never fewer than one token. This is
// transformers' rule (remove where the ascending cumulative probability is <= 1 - top_p) written from the
// top.
void apply_top_p(at::Tensor& candidates, const at::Tensor& top_p);

// apply_top_p on leading_candidates: `total` ([rows, 1]) is the probability mass of each whole row relative
// to its first candidate (the sum over the vocabulary of exp(logit - first)), which the leading part alone
// cannot know. Returns [rows, 1] bool: whether the cut falls before the first place tied with the last one,
// i.e. the part holds every token the whole sorted row keeps (in the same order); where it does not, the
// row needs the whole sorted vocabulary.
at::Tensor apply_top_p_of_total(at::Tensor& candidates, const at::Tensor& top_p, const at::Tensor& total);

// Removes tokens whose probability is below min_p times the most likely one's (min_p [rows, 1] float32; 0 is
// off). On logits: p < min_p * p_max is logit < max_logit + log(min_p). Works on any layout, not only
// candidates.
void apply_min_p(at::Tensor& logits, const at::Tensor& min_p);

// One token per row (returns [rows] int64 ids) with probability softmax(candidates.logits): the exponential
// race argmax(p_i / E_i), E_i ~ Exp(1), computed as argmax(logit_i - log E_i) so that it needs no softmax.
// noise: [rows, width] positive; places a row cannot draw may hold anything finite.
at::Tensor exponential_race(const Candidates& candidates, const at::Tensor& noise);

}  // namespace torchllm
