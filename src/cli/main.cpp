#include <c10/util/Exception.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "cli/command_failed.h"
#include "cli/commands.h"
#include "torchllm/error.h"

namespace {

// Exit codes scripts can rely on (documented in the README): 2 for a usage error (a bad flag, argument or
// input), 1 for everything that goes wrong at run time (a missing model directory, an unsupported
// architecture, a corrupt checkpoint, out of memory, a prompt longer than the context).
int exit_code(torchllm::Error::Kind kind) { return kind == torchllm::Error::Kind::kInvalidArgument ? 2 : 1; }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"torchllm: run Qwen3 / Qwen2 / Llama / Mistral checkpoints on libtorch"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "torchllm 0.1.0");
  torchllm::cli::add_run_command(app);
  torchllm::cli::add_chat_command(app);
  torchllm::cli::add_bench_command(app);
  torchllm::cli::add_info_command(app);
  torchllm::cli::add_tokenize_command(app);
  torchllm::cli::add_template_command(app);
  torchllm::cli::add_serve_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  } catch (const torchllm::cli::CommandFailed& e) {
    std::cerr << "torchllm: error: " << torchllm::cli::one_line(e.what()) << "\n";
    return e.exit_code();
  } catch (const torchllm::Error& e) {
    std::cerr << "torchllm: error: " << torchllm::cli::one_line(e.what()) << "\n";
    return exit_code(e.kind());
  } catch (const c10::Error& e) {
    std::cerr << "torchllm: internal error: " << torchllm::cli::one_line(e.what_without_backtrace()) << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "torchllm: internal error: " << torchllm::cli::one_line(e.what()) << "\n";
    return 1;
  }
  return 0;
}
