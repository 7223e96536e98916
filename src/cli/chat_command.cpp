#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "cli/chat_input.h"
#include "cli/chat_reply_printer.h"
#include "cli/chat_session.h"
#include "cli/command_failed.h"
#include "cli/commands.h"
#include "cli/generation_options.h"
#include "cli/generation_report.h"
#include "cli/interrupt.h"
#include "cli/line_editor.h"
#include "cli/model_options.h"
#include "cli/model_session.h"
#include "torchllm/chat_prompt.h"
#include "torchllm/error.h"
#include "torchllm/generator.h"

namespace torchllm::cli {
namespace {

struct ChatOptions {
  ModelOptions model;
  GenerationOptions generation;
  std::string system;
  bool no_think = false;
  bool hide_thinking = false;
  std::optional<std::string> history_file;
  bool verbose = false;
  bool json = false;
};

// --history-file, else $TORCHLLM_CHAT_HISTORY, else the XDG state directory ($XDG_STATE_HOME, which defaults
// to
// ~/.local/state). Empty: no history file.
std::string history_path(const ChatOptions& o) {
  if (o.history_file) return *o.history_file;
  if (const char* env = std::getenv("TORCHLLM_CHAT_HISTORY")) return env;
  if (const char* state = std::getenv("XDG_STATE_HOME"); state && *state) {
    return std::string(state) + "/torchllm/chat_history";
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::string(home) + "/.local/state/torchllm/chat_history";
  }
  return "";
}

// https://no-color.org: any non-empty NO_COLOR turns colours off.
bool colour_output() {
  const char* no_color = std::getenv("NO_COLOR");
  return ::isatty(STDOUT_FILENO) && !(no_color && *no_color);
}

// The model, the conversation and the loop that connects them to the terminal or to a script.
class ChatLoop {
 public:
  ChatLoop(const ChatOptions& options, ModelSession model, ChatSettings settings)
      : options_(options),
        model_(std::move(model)),
        template_(std::move(*model_.chat_template)),
        encoder_(*model_.tokenizer, template_),
        generator_(*model_.model, *model_.tokenizer,
                   options.generation.kv_options(options.generation.resolved_context(
                       model_.model->config().max_position_embeddings, std::cerr))),
        session_(std::move(settings)),
        interactive_(::isatty(STDIN_FILENO)),
        colour_(colour_output()) {
    session_.set_kv_stats([this] { return generator_.kv_stats(); });
  }

  void run_terminal();
  void run_script();

 private:
  enum class Reply { kDone, kCancelled, kFailed };

  bool process(const ChatInput& input);  // false: leave
  Reply reply();
  std::vector<TokenId> fitting_prompt(const ChatRenderOptions& render);
  bool opens_reasoning(const nlohmann::ordered_json& messages, const ChatRenderOptions& render) const;
  void report_failure(const std::string& message);
  std::ostream& command_output() { return options_.json ? std::cerr : std::cout; }

  const ChatOptions& options_;
  ModelSession model_;
  ChatTemplate template_;
  ChatPromptEncoder encoder_;
  Generator generator_;
  ChatSession session_;
  bool interactive_;
  bool colour_;
  int failures_ = 0;
};

void ChatLoop::run_terminal() {
  // The prompt goes where the replies go, unless they go to a pipe.
  FILE* terminal = ::isatty(STDOUT_FILENO) ? stdout : stderr;
  LineEditor editor("torchllm", stdin, terminal, history_path(options_));
  std::cerr << "torchllm chat: " << model_.model_dir << ", context " << generator_.context()
            << " tokens. /help lists the commands; /exit or Ctrl-D leaves.\n";
  MultilineInput input;
  for (;;) {
    const LineEditor::Result line = editor.read_line(input.continuing() ? "... " : ">>> ");
    if (line.status == LineEditor::Status::kEnd) {
      std::fputs("\n", terminal);
      if (!input.continuing()) return;
      if (!process(*input.finish())) return;  // Ctrl-D inside a block sends it
      continue;
    }
    if (line.status == LineEditor::Status::kInterrupted) {
      std::fputs("\n", terminal);
      // At an empty prompt, as `ollama run` does: say how to leave rather than lose the conversation.
      if (line.text.empty() && !input.continuing()) std::fputs("Use Ctrl-D or /bye to leave.\n", terminal);
      input.reset();  // Ctrl-C drops the line, and a message of several lines with it
      continue;
    }
    if (!line.text.empty()) editor.remember(line.text);
    if (std::optional<ChatInput> complete = input.feed(line.text); complete && !process(*complete)) return;
  }
}

void ChatLoop::run_script() {
  MultilineInput input;
  std::string line;
  bool more = true;
  while (more && std::getline(std::cin, line)) {
    if (std::optional<ChatInput> complete = input.feed(line)) more = process(*complete);
  }
  if (std::optional<ChatInput> complete = input.finish(); more && complete) process(*complete);
  if (failures_ > 0) {
    throw CommandFailed(
        std::to_string(failures_) + (failures_ == 1 ? " message" : " messages") + " got no reply", 1);
  }
}

bool ChatLoop::process(const ChatInput& input) {
  const ChatSession::Outcome outcome = session_.handle(input.text, input.literal);
  if (!outcome.output.empty()) command_output() << outcome.output << "\n" << std::flush;
  if (outcome.action == ChatSession::Action::kExit) return false;
  if (outcome.action == ChatSession::Action::kReply) {
    const Reply result = reply();
    // A script has no prompt to come back to: Ctrl-C ends it, as it ends `run`.
    if (result == Reply::kCancelled && !interactive_) throw CommandFailed("interrupted", 130);
  }
  return true;
}

// The conversation's prompt, without its oldest exchanges when it no longer leaves room for a reply (a
// quarter of the context, or --max-tokens when less): the system message and the newest message stay. The
// first time in a conversation that this happens, a note says so.
std::vector<TokenId> ChatLoop::fitting_prompt(const ChatRenderOptions& render) {
  const int64_t context = generator_.context();
  const int64_t room = std::min(context / 4, session_.settings().max_tokens.value_or(context));
  const bool already_left_out = session_.turns_left_out() > 0;
  // The whole conversation each time: the generator finds the prefix it computed for the previous turns in
  // its KV cache and prefills only what is new.
  std::vector<TokenId> prompt = encoder_.encode(session_.messages(), render);
  while (static_cast<int64_t>(prompt.size()) + room > context && session_.leave_out_oldest()) {
    prompt = encoder_.encode(session_.messages(), render);
  }
  if (!already_left_out && session_.turns_left_out() > 0) {
    std::cerr << "(the conversation no longer fits the context of " << context
              << " tokens: its oldest messages are left out from now on; /clear starts a new one)\n";
  }
  const auto length = static_cast<int64_t>(prompt.size());
  if (length >= context) {
    throw Error::invalid_argument("the conversation (" + std::to_string(length) +
                                  " tokens) no longer fits the context of " + std::to_string(context) +
                                  " tokens: /clear starts a new one, --context makes it longer");
  }
  return prompt;
}

ChatLoop::Reply ChatLoop::reply() {
  ChatRenderOptions render;
  render.kwargs = session_.template_kwargs();
  const ReplyPrinter::Reasoning reasoning = options_.hide_thinking ? ReplyPrinter::Reasoning::kHide
                                            : colour_              ? ReplyPrinter::Reasoning::kDim
                                                                   : ReplyPrinter::Reasoning::kPlain;
  GenerationRequest request;
  bool in_reasoning = false;
  try {
    request = options_.generation.request(fitting_prompt(render), session_.settings().sampling);
    if (reasoning != ReplyPrinter::Reasoning::kPlain)
      in_reasoning = opens_reasoning(session_.messages(), render);
  } catch (const Error& e) {
    session_.drop_unanswered();
    report_failure(e.what());
    return Reply::kFailed;
  }
  request.max_tokens = session_.settings().max_tokens;
  request.cancel = std::make_shared<std::atomic<bool>>(false);

  ReplyPrinter printer(std::cout, reasoning, in_reasoning, /*placeholder=*/colour_,
                       /*terminal=*/::isatty(STDOUT_FILENO) != 0);
  GenerationResult result;
  try {
    InterruptScope interrupt(request.cancel);
    result = generator_.generate(std::move(request), [&](const GenerationDelta& delta) {
      if (!options_.json) printer.write(delta.text);
    });
  } catch (const Error& e) {
    printer.finish();
    if (!printer.at_line_start()) std::cout << "\n";
    session_.drop_unanswered();
    report_failure(e.what());
    return Reply::kFailed;
  }
  printer.finish();
  if (options_.json) {
    std::cout << generation_json(result, *model_.tokenizer, false).dump() << "\n";
  } else if (!interactive_ || !printer.at_line_start()) {
    std::cout << "\n";  // a script gets exactly one newline after each reply
  }
  std::cout << std::flush;
  session_.add_reply(result);

  if (options_.verbose) std::cerr << generation_summary(result) << "\n";
  const GenerationStats& stats = result.stats;
  if (result.finish_reason == FinishReason::kLength &&
      stats.prompt_tokens + stats.generated_tokens >= generator_.context()) {
    std::cerr << "(the context of " << generator_.context()
              << " tokens is full: the next message leaves the oldest ones out; /clear starts a new "
                 "conversation)\n";
  }
  return result.finish_reason == FinishReason::kCancelled ? Reply::kCancelled : Reply::kDone;
}

// Whether the template's generation prompt leaves a <think> open, so that the reply starts inside reasoning
// (templates that make every reply think write "<think>\n" there).
bool ChatLoop::opens_reasoning(const nlohmann::ordered_json& messages,
                               const ChatRenderOptions& render) const {
  ChatRenderOptions without = render;
  without.add_generation_prompt = false;
  const std::string with_prompt = template_.render(messages, render);
  const std::string history = template_.render(messages, without);
  if (with_prompt.compare(0, history.size(), history) != 0) return false;
  const std::string_view added = std::string_view(with_prompt).substr(history.size());
  const size_t open = added.rfind("<think>");
  return open != std::string_view::npos && added.find("</think>", open) == std::string_view::npos;
}

// A turn that fails leaves the conversation as it was and the loop running.
void ChatLoop::report_failure(const std::string& message) {
  ++failures_;
  std::cerr << (interactive_ ? "error: " : "torchllm: error: ") << one_line(message) << "\n";
  if (options_.json)
    std::cout << nlohmann::ordered_json{{"error", one_line(message)}}.dump() << "\n" << std::flush;
}

void chat(const ChatOptions& o) {
  const bool interactive = ::isatty(STDIN_FILENO);
  if (o.json && interactive) {
    throw CommandFailed("--json is for scripts: pipe the messages into standard input, one per line", 2);
  }
  ModelSession model = ModelSession::load(o.model, ModelSession::Prompts::kChat);
  ChatSettings settings;
  settings.sampling = o.generation.sampling(model.model_dir, model.model->config().vocab_size);
  settings.max_tokens = o.generation.max_tokens;
  settings.system = o.system;
  if (o.no_think) settings.enable_thinking = false;
  ChatLoop loop(o, std::move(model), std::move(settings));
  if (interactive) {
    loop.run_terminal();
  } else {
    loop.run_script();
  }
}

}  // namespace

void add_chat_command(CLI::App& app) {
  auto o = std::make_shared<ChatOptions>();
  CLI::App* cmd =
      app.add_subcommand("chat", "Talk with a model at a prompt (or one reply per line of standard input)");
  cmd->add_option("--system", o->system, "System message");
  cmd->add_flag("--no-think", o->no_think,
                "Start with enable_thinking=false (Qwen3); /think on turns it back on");
  cmd->add_flag("--hide-thinking", o->hide_thinking,
                "Leave reasoning (<think>...</think>) out of the output");
  cmd->add_option("--history-file", o->history_file,
                  "Prompt history file, \"\" for none (default: $TORCHLLM_CHAT_HISTORY, else "
                  "$XDG_STATE_HOME/torchllm/chat_history)");
  cmd->add_flag("-v,--verbose", o->verbose, "Statistics on stderr after each reply");
  cmd->add_flag("--json", o->json,
                "Scripts: one JSON object per reply (as `run --json`) instead of the text");
  o->model.add_to(*cmd);
  o->generation.add_to(*cmd);
  cmd->callback([o] { chat(*o); });
}

}  // namespace torchllm::cli
