#pragma once

#include <CLI/CLI.hpp>

namespace torchllm::cli {

// Each subcommand registers its options and the callback that runs it.
void add_info_command(CLI::App& app);
void add_serve_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_chat_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_template_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);
void add_quantize_command(CLI::App& app);

}  // namespace torchllm::cli
