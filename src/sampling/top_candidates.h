#pragma once

#include <ATen/Tensor.h>

#include <cstdint>

namespace torchllm {

// The `counts[r]` most likely tokens of each row of CPU float32 logits [rows, vocab] (1 <= counts[r] <= width
// <= vocab), as logits and ids [rows, width] in candidate order: decreasing logits (NaN first), equal logits
// by increasing id, and of tokens tied at a row's last place the lowest ids. A row's places past its count
// hold -inf. One pass over each row keeps the values above a running threshold (libtorch 1.13's topk and
// the masks around it took about 1.7 ms a row of 151936 logits); rows split over the threads.
void top_candidates_cpu(const at::Tensor& logits, const int64_t* counts, int64_t width, at::Tensor& values,
                        at::Tensor& ids);

// Every token of each row of CPU float32 logits [rows, vocab] in candidate order, as at::sort's stable
// descending sort gives them (NaN first, -0 and 0 equal): logits and ids [rows, vocab]. A radix sort of the
// logits' bits, three stable passes of 11 bits (libtorch 1.13's sort took 13 ms a row of 151936 logits).
void sorted_candidates_cpu(const at::Tensor& logits, at::Tensor& values, at::Tensor& ids);

}  // namespace torchllm
