#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "torchllm/model.h"

namespace torchllm::cli {

// The flags every model-using subcommand shares: -m/--model, --device, --dtype, --threads.
struct ModelOptions {
  std::string model_dir;
  LoadOptions load;
  int threads = 0;

  void add_to(CLI::App& command);
  // The model to use: -m, else $TORCHLLM_MODEL, else the model shipped in models/: a Hugging Face directory,
  // or the path of a .gguf file (for a GGUF directory or split set: the file to open). Throws when none is
  // given, or when the path is not a model (check_model_dir says what to give instead).
  std::string resolved_model_dir() const;
  // Applies --threads to libtorch's CPU pool.
  void apply_threads() const;
};

}  // namespace torchllm::cli
