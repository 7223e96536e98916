// `torchllm quantize IN_DIR OUT.gguf --type TYPE`: a Hugging Face checkpoint directory to one GGUF file that
// llama.cpp and torchllm load as the same model. The conversion lives in model/gguf_export (tensors and
// architecture keys) and tokenizer/gguf_vocab_export (tokenizer keys); this file only parses and reports.
#include <sys/stat.h>

#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/human_bytes.h"
#include "model/gguf_export.h"
#include "model/quant/quantize_blocks.h"
#include "tokenizer/gguf_vocab_export.h"
#include "torchllm/error.h"
#include "torchllm/model_config.h"

namespace torchllm::cli {
namespace {

struct QuantizeOptions {
  std::string input;
  std::string output;
  std::string type;
  bool force = false;
};

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

void run_quantize(const QuantizeOptions& o) {
  // The type first: a typo should not cost a read of the checkpoint.
  const GgmlType type = quantize_type_from_name(o.type);
  if (path_exists(o.output) && !o.force) {
    throw Error::invalid_argument(o.output + " already exists (give --force to overwrite it)");
  }
  GgufExportOptions options;
  options.type = type;
  const std::string model_dir = o.input;
  options.add_vocabulary = [model_dir](GgufWriter& w, int64_t vocab_size) {
    tokenizer::add_gguf_vocabulary(w, model_dir, load_model_config(model_dir).model_type, vocab_size);
  };
  const GgufExportSummary s = export_gguf(o.input, o.output, options);
  std::cout << "wrote " << o.output << ": " << s.architecture << ", " << s.tensors << " tensors, "
            << human_bytes(s.data_bytes) << " of " << quantize_type_name(type) << " weights\n";
}

}  // namespace

void add_quantize_command(CLI::App& app) {
  auto options = std::make_shared<QuantizeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "quantize", "Write a Hugging Face model directory as a GGUF file (for torchllm and llama.cpp)");
  cmd->add_option("input", options->input, "Model directory (config.json, *.safetensors, tokenizer.json)")
      ->required();
  cmd->add_option("output", options->output, "The GGUF file to write")->required();
  cmd->add_option("--type", options->type,
                  "Weight type: q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k, f16, bf16, f32 (norms and "
                  "biases stay f32)")
      ->required();
  cmd->add_flag("--force", options->force, "Overwrite an existing output file");
  cmd->callback([options] { run_quantize(*options); });
}

}  // namespace torchllm::cli
