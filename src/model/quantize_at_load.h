#pragma once

#include <string>

#include "model/weights.h"
#include "torchllm/model_config.h"

namespace torchllm {

// --quantize: the ggml type a projection of `columns` inputs gets for the requested one. A K type needs rows
// of whole 256-element super-blocks; other rows fall back as llama-quantize's do (Q4_K -> Q5_0, Q5_K -> Q5_1,
// Q6_K -> Q8_0).
GgmlType quantize_type_for_rows(GgmlType requested, int64_t columns);

// The types --quantize accepts: those with a block dot product ("q8_0, q4_0, ..."), for messages.
std::string quantize_at_load_types();
// The type `name` names; Error(kInvalidArgument) when it is not one of quantize_at_load_types().
GgmlType quantize_at_load_type(const std::string& name);

// Replaces every dense projection of `set` (q/k/v, o, gate/up, down, lm_head) and the token embedding by
// blocks in `type`, quantized from the loaded weights with llama.cpp's reference quantizers (CPU only), as
// llama-quantize does to a GGUF; a tied lm_head shares the embedding's blocks.
void quantize_projections(ModelWeightSet& set, GgmlType type);

}  // namespace torchllm
