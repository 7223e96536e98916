#pragma once

// A GGUF model file in the terms of the model core: the configuration its {arch}.* metadata describes and
// the Hugging Face weight name each of its tensors stands for.

#include <string>

#include "torchllm/gguf_model_files.h"
#include "torchllm/model_config.h"

namespace torchllm {

// Reads general.architecture (llama, qwen2, qwen3) and the {arch}.* hyperparameters; the vocabulary size,
// tied embeddings and q/k/v biases come from the tensors. Throws Error(kUnsupported) for an architecture,
// rope scaling or layout the model core does not implement, Error(kCorruptInput) for missing or
// inconsistent keys, naming `files.path()` and the key.
ModelConfig gguf_model_config(const GgufModelFiles& files);

// The GGUF tensor name of a Hugging Face weight name ("model.layers.3.self_attn.q_proj.weight" ->
// "blk.3.attn_q.weight"); empty when GGUF has no such tensor.
std::string gguf_tensor_name(const std::string& hf_name);

}  // namespace torchllm
