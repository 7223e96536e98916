// make_tiny_checkpoint VARIANT|qwen3-chat DIR [SEED] [F32|BF16|F16]: writes a small random checkpoint for
// end-to-end tests into DIR, which it creates when missing.
#include <filesystem>
#include <iostream>
#include <string>

#include "tiny_chat_model.h"
#include "tiny_checkpoint.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: make_tiny_checkpoint VARIANT DIR [SEED] [F32|BF16|F16]\n";
    return 2;
  }
  const uint64_t seed = argc > 3 ? std::stoull(argv[3]) : 1;
  const std::string dtype = argc > 4 ? argv[4] : "F32";
  std::error_code error;
  std::filesystem::create_directories(argv[2], error);
  if (error) {
    std::cerr << "make_tiny_checkpoint: cannot create " << argv[2] << ": " << error.message() << "\n";
    return 1;
  }
  if (std::string(argv[1]) == "qwen3-chat") {  // with tokenizer, chat template and generation config
    torchllm::testing::write_tiny_chat_model(argv[2], seed, dtype);
  } else {
    torchllm::testing::write_tiny_checkpoint(argv[2], torchllm::testing::tiny_config_json(argv[1]), seed,
                                             dtype);
  }
  return 0;
}
