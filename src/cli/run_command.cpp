#include <unistd.h>

#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/command_failed.h"
#include "cli/commands.h"
#include "cli/generation_options.h"
#include "cli/generation_report.h"
#include "cli/interrupt.h"
#include "cli/model_options.h"
#include "cli/model_session.h"
#include "torchllm/error.h"
#include "torchllm/generator.h"
#include "torchllm/grammar.h"
#include "torchllm/json_file.h"

namespace torchllm::cli {
namespace {

struct RunOptions {
  ModelOptions model;
  GenerationOptions generation;
  std::string prompt;
  std::string prompt_file;
  bool chat = false;
  bool raw = false;
  std::string system;
  bool no_think = false;
  bool quiet = false;
  bool json = false;
  int64_t logprobs = -1;  // -1: none; N >= 0: the sampled token's logprob and N alternatives (with --json)
  std::string json_schema_file;
  std::string grammar_file;
};

// --json-schema / --grammar as a grammar (none without either). Usage errors exit 2.
std::shared_ptr<const Grammar> output_grammar(const RunOptions& o) {
  if (!o.json_schema_file.empty() && !o.grammar_file.empty())
    throw CommandFailed("--json-schema and --grammar exclude each other", 2);
  try {
    if (!o.grammar_file.empty()) return Grammar::from_gbnf(read_text_file(o.grammar_file));
    if (!o.json_schema_file.empty()) {
      nlohmann::ordered_json schema;
      try {
        schema = nlohmann::ordered_json::parse(read_text_file(o.json_schema_file));
      } catch (const nlohmann::json::parse_error& e) {
        throw CommandFailed(o.json_schema_file + ": not JSON: " + e.what(), 2);
      }
      return Grammar::from_gbnf(json_schema_to_gbnf(schema));
    }
  } catch (const Error& e) {
    throw CommandFailed(
        std::string(!o.grammar_file.empty() ? o.grammar_file : o.json_schema_file) + ": " + e.what(), 2);
  }
  return nullptr;
}

std::string read_prompt(const RunOptions& o) {
  if (!o.prompt_file.empty()) {
    if (!o.prompt.empty())
      throw CommandFailed("give the prompt either as an argument or with -f, not both", 2);
    return read_text_file(o.prompt_file);
  }
  if (o.prompt == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  if (o.prompt.empty())
    throw CommandFailed("no prompt: give it as an argument, '-' for stdin, or -f FILE", 2);
  return o.prompt;
}

void run(const RunOptions& o) {
  if (o.chat && o.raw) throw CommandFailed("--chat and --raw exclude each other", 2);
  if (o.logprobs > 20) throw CommandFailed("--logprobs takes 0 to 20 alternatives", 2);
  // The streamed text has no place for them; silently dropping them would be worse than refusing.
  if (o.logprobs >= 0 && !o.json)
    throw CommandFailed("--logprobs needs --json (they are part of its output)", 2);
  if (o.raw && (!o.system.empty() || o.no_think)) {
    throw CommandFailed("--system and --no-think need chat mode (the chat template), not --raw", 2);
  }
  const std::shared_ptr<const Grammar> grammar = output_grammar(o);
  const std::string text = read_prompt(o);
  const bool chat = !o.raw;  // with or without --chat: a model without a template gets ChatML
  ModelSession session =
      ModelSession::load(o.model, chat ? ModelSession::Prompts::kChat : ModelSession::Prompts::kRaw);
  SamplingParams sampling = o.generation.sampling(session.model_dir, session.model->config().vocab_size);
  if (o.logprobs >= 0) {
    sampling.logprobs = true;
    sampling.top_logprobs = o.logprobs;
  }
  std::vector<TokenId> prompt;
  if (chat) {
    nlohmann::ordered_json messages = nlohmann::ordered_json::array();
    if (!o.system.empty()) messages.push_back({{"role", "system"}, {"content", o.system}});
    messages.push_back({{"role", "user"}, {"content", text}});
    nlohmann::ordered_json kwargs = nlohmann::ordered_json::object();
    if (o.no_think) kwargs["enable_thinking"] = false;
    prompt = session.encode_chat(messages, kwargs);
  } else {
    prompt = session.encode_raw(text);
    if (prompt.empty())
      throw CommandFailed("the prompt is empty (with --raw and no BOS token nothing is left)", 2);
  }

  Generator generator(*session.model, *session.tokenizer,
                      o.generation.kv_options(o.generation.resolved_context(
                          session.model->config().max_position_embeddings, std::cerr)));
  GenerationRequest request = o.generation.request(std::move(prompt), sampling);
  request.cancel = std::make_shared<std::atomic<bool>>(false);
  request.grammar = grammar;
  GenerationResult result;
  try {
    InterruptScope interrupt(request.cancel);
    result = generator.generate(request, [&](const GenerationDelta& delta) {
      if (!o.json && !delta.text.empty()) std::cout << delta.text << std::flush;
    });
  } catch (const Error& e) {
    throw CommandFailed(e.what(), 1);  // e.g. a prompt longer than the context: a run-time error, not usage
  }
  if (o.json) {
    std::cout << generation_json(result, *session.tokenizer, sampling.logprobs).dump() << "\n";
  } else {
    std::cout << "\n" << std::flush;
    if (!o.quiet) std::cerr << generation_summary(result) << "\n";
  }
  if (result.finish_reason == FinishReason::kCancelled) throw CommandFailed("interrupted", 130);
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Generate a reply to one prompt, streamed to stdout");
  cmd->add_option("prompt", o->prompt, "The prompt; '-' reads it from standard input");
  cmd->add_option("-f,--file", o->prompt_file, "Read the prompt from this file");
  cmd->add_flag(
      "--chat", o->chat,
      "Wrap the prompt as one user message in the chat template (the default; ChatML when the model has "
      "none)");
  cmd->add_flag("--raw", o->raw, "Send the text as it is, without the chat template");
  cmd->add_option("--system", o->system, "System message (chat mode; default: none)");
  cmd->add_flag("--no-think", o->no_think, "Render the template with enable_thinking=false (Qwen3)");
  cmd->add_flag("-q,--quiet", o->quiet, "No statistics on stderr");
  cmd->add_flag("--json", o->json, "Print one JSON object (text, tokens, finish reason, statistics) instead");
  cmd->add_option(
      "--logprobs", o->logprobs,
      "Needs --json: log-probabilities of the sampled tokens and N alternatives, 0..20 (default: none)");
  cmd->add_option("--json-schema", o->json_schema_file,
                  "Constrain the output to JSON valid against the JSON Schema in this file");
  cmd->add_option("--grammar", o->grammar_file, "Constrain the output to the GBNF grammar in this file");
  o->model.add_to(*cmd);
  o->generation.add_to(*cmd);
  cmd->callback([o] { run(*o); });
}

}  // namespace torchllm::cli
