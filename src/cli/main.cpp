#include <c10/util/Exception.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "cli/allocator_tuning.h"
#include "cli/command_failed.h"
#include "cli/commands.h"
#include "torchllm/error.h"

namespace {

// Exit codes scripts can rely on (documented in the README): 2 for a usage error (a bad flag, argument or
// input), 1 for everything that goes wrong at run time (a missing model directory, an unsupported
// architecture, a corrupt checkpoint, out of memory, a prompt longer than the context).
int exit_code(torchllm::Error::Kind kind) { return kind == torchllm::Error::Kind::kInvalidArgument ? 2 : 1; }

// CLI11's messages start with a capital ("The following argument was not expected: --bogus"); ours do not.
std::string lower_first(std::string message) {
  if (message.size() > 1 && std::isupper(static_cast<unsigned char>(message[0])) &&
      std::islower(static_cast<unsigned char>(message[1]))) {
    message[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(message[0])));
  }
  return message;
}

// A usage error as one line, pointing at the help of the subcommand that was being parsed:
// "torchllm: error: ... (see 'torchllm run --help')".
int usage_error(const CLI::App& app, const std::string& message) {
  std::string command = app.get_name();
  for (const CLI::App* sub = &app; !sub->get_subcommands().empty();) {
    sub = sub->get_subcommands().front();
    command += " " + sub->get_name();
  }
  std::cerr << "torchllm: error: " << torchllm::cli::one_line(lower_first(message)) << " (see '" << command
            << " --help')\n";
  return 2;
}

// A first argument that is neither one of torchllm's own flags nor a subcommand: CLI11 would only say that a
// subcommand is required.
std::optional<std::string> unknown_command(CLI::App& app, int argc, char** argv) {
  if (argc < 2) return std::nullopt;
  const std::string first = argv[1];
  std::string names;
  for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    if (sub->check_name(first)) return std::nullopt;
    names += (names.empty() ? "" : ", ") + sub->get_name();
  }
  if (first[0] != '-') return "unknown command '" + first + "' (commands: " + names + ")";
  if (app.get_option_no_throw(first) != nullptr) return std::nullopt;
  return "unknown option '" + first + "' (a command comes first: " + names + ")";
}

}  // namespace

int main(int argc, char** argv) {
  torchllm::cli::keep_freed_memory_for_reuse();
  // Named here, so that usage lines say `torchllm` and not the path the binary was started from.
  CLI::App app{"torchllm: run Qwen3 / Qwen2 / Llama / Mistral checkpoints on libtorch", "torchllm"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "torchllm 0.1.0");
  torchllm::cli::add_run_command(app);
  torchllm::cli::add_chat_command(app);
  torchllm::cli::add_bench_command(app);
  torchllm::cli::add_info_command(app);
  torchllm::cli::add_tokenize_command(app);
  torchllm::cli::add_template_command(app);
  torchllm::cli::add_quantize_command(app);
  torchllm::cli::add_serve_command(app);
  if (argc < 2) {  // as `ollama` does: the subcommands, and exit code 0
    std::cout << app.help();
    return 0;
  }
  if (std::optional<std::string> unknown = unknown_command(app, argc, argv))
    return usage_error(app, *unknown);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return usage_error(app, e.what());
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
