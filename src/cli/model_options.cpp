#include "cli/model_options.h"

#include <cstdlib>
#include <vector>

#include "torchllm/device.h"
#include "torchllm/error.h"
#include "torchllm/gguf_model_files.h"
#include "torchllm/model_dir.h"

namespace torchllm::cli {
namespace {

// The first (by name) directory under models/ that holds a config.json.
std::string shipped_model_dir() {
  const std::vector<std::string> models = model_dirs_in(TORCHLLM_DEFAULT_MODELS_DIR);
  return models.empty() ? std::string() : models.front();
}

}  // namespace

void ModelOptions::add_to(CLI::App& command) {
  command.add_option(
      "-m,--model", model_dir,
      "Hugging Face model directory or GGUF file (default: $TORCHLLM_MODEL, else the model shipped in "
      "models/)");
  command.add_option("--device", load.device, "auto | cpu | cuda | cuda:N | mps")->capture_default_str();
  command
      .add_option("--dtype", load.dtype,
                  "auto | bf16 | fp16 | fp32 (auto: bf16 on CUDA and bf16-capable CPUs)")
      ->capture_default_str();
  command
      .add_option("--threads", threads,
                  "CPU threads for the math (0 = one per physical core the process may use)")
      ->capture_default_str();
  command.add_flag_function(
      "--no-cuda-graphs", [this](int64_t) { load.cuda_graphs = false; },
      "On CUDA, run decode steps op by op instead of replaying a captured CUDA graph");
  command.add_flag_function(
      "--dequantize", [this](int64_t) { load.keep_quantized = false; },
      "Convert a GGUF model's quantized tensors to --dtype at load instead of computing on their blocks "
      "(on CUDA they are always converted)");
  command.add_option("--quantize", load.quantize,
                     "On the CPU, quantize a Hugging Face checkpoint's projections at load to a ggml type "
                     "(q8_0, q4_0, q4_1, q5_0, q5_1, q4_K, q5_K, q6_K) and compute on the blocks");
  command
      .add_option("--cache-type", load.kv_cache_type,
                  "How the KV cache stores keys and values: auto (in --dtype) | q8_0 (CPU only: int8 with a "
                  "float32 scale per 32 values, 0.56x bf16's memory, as llama.cpp's -ctk/-ctv q8_0)")
      ->capture_default_str();
}

std::string ModelOptions::resolved_model_dir() const {
  std::string dir = model_dir;
  if (const char* env = std::getenv("TORCHLLM_MODEL"); dir.empty() && env && *env) dir = env;
  if (dir.empty()) dir = shipped_model_dir();
  if (dir.empty()) {
    throw Error::not_found("no model given: pass -m DIR or set TORCHLLM_MODEL (no model found under " +
                           std::string(TORCHLLM_DEFAULT_MODELS_DIR) + ")");
  }
  // A GGUF model is its .gguf file (the one in a directory, the first part of a split set) from here on.
  if (names_gguf_model(dir)) return resolve_gguf_path(dir);
  check_model_dir(
      dir);  // before the tokenizer or anything else reads it, so that a wrong path is named as such
  return dir;
}

void ModelOptions::apply_threads() const { configure_cpu_threads(threads); }

}  // namespace torchllm::cli
