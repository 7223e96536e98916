#pragma once

// A Hugging Face checkpoint directory written as one GGUF file that llama.cpp and torchllm both load as the
// same model: llama.cpp's converter's tensor names, metadata keys and llama q/k row order, and
// llama-quantize's choice of type per tensor (1-D tensors and position embeddings stay F32; a K type falls
// back on rows that are not whole 256-element super-blocks).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/quant/dequantize.h"
#include "torchllm/gguf_writer.h"

namespace torchllm {

struct GgufExportOptions {
  GgmlType type = GgmlType::kF32;  // what the 2-D weights get
  // Adds the tokenizer.* metadata after the model's own keys (the model module knows no tokenizers); the
  // vocabulary size the tensors imply is passed along.
  std::function<void(GgufWriter&, int64_t vocab_size)> add_vocabulary;
  // Bytes of tensor data written so far, of the total.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

struct GgufExportSummary {
  size_t tensors = 0;
  uint64_t data_bytes = 0;
  std::string architecture;  // general.architecture written
};

// Writes `out_path` (through PATH.partial, so an interrupted export never leaves a complete-looking file).
// Throws Error(kNotFound) for a missing directory, Error(kUnsupported) for an architecture or layout with no
// GGUF form here (sliding-window attention, an architecture llama.cpp does not name), and the checkpoint's
// own errors for missing or malformed tensors.
GgufExportSummary export_gguf(const std::string& model_dir, const std::string& out_path,
                              const GgufExportOptions& options);

// The type llama-quantize gives a tensor of `shape` (PyTorch order: [rows, columns]) named `gguf_name` when
// `requested` is asked for.
GgmlType gguf_export_tensor_type(GgmlType requested, const std::string& gguf_name,
                                 const std::vector<int64_t>& shape);

// llama.cpp's general.file_type (llama_ftype) for a whole-file `type`: pure K files are named by their
// "_S" mix, the one whose other tensors do not matter here.
uint32_t gguf_file_type(GgmlType type);

}  // namespace torchllm
