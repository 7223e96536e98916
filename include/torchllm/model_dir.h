#pragma once

#include <string>
#include <vector>

namespace torchllm {

// Checks that `path` names a Hugging Face model directory (a directory with config.json) before anything
// reads it, so that a path of the wrong kind gets an error that says what to give instead: the directory of a
// model.safetensors or config.json given as a file, the GGUF files of a directory, or the model directories
// found one level down. Throws Error(kNotFound), GGUF paths included (model paths that name
// a GGUF model are resolved before: names_gguf_model in gguf_model_files.h).
void check_model_dir(const std::string& path);

// The directories right under `dir` that hold a config.json, sorted by name; empty when there are none or
// `dir` cannot be read.
std::vector<std::string> model_dirs_in(const std::string& dir);

}  // namespace torchllm
