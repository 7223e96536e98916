#include "cli/model_options.h"

#include <dirent.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "torchllm/device.h"
#include "torchllm/error.h"
#include "torchllm/json_file.h"

namespace torchllm::cli {
namespace {

// The first (by name) directory under models/ that holds a config.json.
std::string shipped_model_dir() {
  const std::string root = TORCHLLM_DEFAULT_MODELS_DIR;
  std::vector<std::string> candidates;
  if (DIR* dir = ::opendir(root.c_str())) {
    while (dirent* e = ::readdir(dir)) {
      const std::string name = e->d_name;
      if (name[0] != '.' && file_exists(root + "/" + name + "/config.json"))
        candidates.push_back(root + "/" + name);
    }
    ::closedir(dir);
  }
  std::sort(candidates.begin(), candidates.end());
  return candidates.empty() ? std::string() : candidates.front();
}

}  // namespace

void ModelOptions::add_to(CLI::App& command) {
  command.add_option(
      "-m,--model", model_dir,
      "Hugging Face model directory (default: $TORCHLLM_MODEL, else the model shipped in models/)");
  command.add_option("--device", load.device, "auto | cpu | cuda | cuda:N | mps")->capture_default_str();
  command
      .add_option("--dtype", load.dtype,
                  "auto | bf16 | fp16 | fp32 (auto: bf16 on CUDA and bf16-capable CPUs)")
      ->capture_default_str();
  command.add_option("--threads", threads, "CPU threads for the math (0 = one per core)")
      ->capture_default_str();
}

std::string ModelOptions::resolved_model_dir() const {
  if (!model_dir.empty()) return model_dir;
  if (const char* env = std::getenv("TORCHLLM_MODEL"); env && *env) return env;
  std::string shipped = shipped_model_dir();
  if (shipped.empty()) {
    throw Error::not_found("no model given: pass -m DIR or set TORCHLLM_MODEL (no model found under " +
                           std::string(TORCHLLM_DEFAULT_MODELS_DIR) + ")");
  }
  return shipped;
}

void ModelOptions::apply_threads() const { configure_cpu_threads(threads); }

}  // namespace torchllm::cli
