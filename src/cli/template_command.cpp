#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/command_failed.h"
#include "cli/commands.h"
#include "torchllm/chat_template.h"
#include "torchllm/error.h"
#include "torchllm/json_file.h"

namespace torchllm::cli {
namespace {

struct TemplateOptions {
  std::string model_dir;
  std::string template_file;
  std::string messages_file;
  std::string tools_file;
  bool no_generation_prompt = false;
  std::string kwargs = "{}";
  std::optional<std::string> bos, eos;
};

nlohmann::ordered_json parse_json(const std::string& text, const std::string& what) {
  try {
    return nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error::invalid_argument(what + " is not valid JSON (" + e.what() + ")");
  }
}

void run_template(const TemplateOptions& o) {
  if (o.model_dir.empty() == o.template_file.empty()) {
    throw Error::invalid_argument("give exactly one of -m/--model DIR and --template FILE");
  }
  std::map<std::string, std::string> special_tokens;
  std::string source;
  if (!o.model_dir.empty()) {
    special_tokens = ChatTemplate::special_tokens_in_model_dir(o.model_dir);
    auto found = ChatTemplate::find_in_model_dir(o.model_dir);
    if (!found) {
      std::cerr << "torchllm: " << o.model_dir << " has no chat template; using ChatML\n";
      found = ChatTemplate::chatml_source();
    }
    source = *found;
  } else {
    source = read_text_file(o.template_file);
  }
  if (o.bos) special_tokens["bos_token"] = *o.bos;
  if (o.eos) special_tokens["eos_token"] = *o.eos;
  const nlohmann::ordered_json messages = parse_json(read_text_file(o.messages_file), o.messages_file);
  ChatRenderOptions options;
  options.add_generation_prompt = !o.no_generation_prompt;
  if (!o.tools_file.empty()) options.tools = parse_json(read_text_file(o.tools_file), o.tools_file);
  options.kwargs = parse_json(o.kwargs, "--kwargs");
  std::string prompt;
  try {
    prompt = ChatTemplate(source, special_tokens).render(messages, options);
  } catch (const Error& e) {
    throw CommandFailed(e.what(), 1);
  }
  std::cout << prompt << std::flush;
}

}  // namespace

void add_template_command(CLI::App& app) {
  auto o = std::make_shared<TemplateOptions>();
  CLI::App* cmd =
      app.add_subcommand("template", "Render a chat template for a conversation and print the prompt");
  cmd->add_option("-m,--model", o->model_dir, "Model directory or GGUF file whose chat template to use");
  cmd->add_option("--template", o->template_file, "A Jinja template file instead of a model's");
  cmd->add_option("--messages", o->messages_file, "JSON file with the messages array")->required();
  cmd->add_option("--tools", o->tools_file, "JSON file with the tools array");
  cmd->add_flag("--no-generation-prompt", o->no_generation_prompt, "Render with add_generation_prompt=false");
  cmd->add_option("--kwargs", o->kwargs,
                  "JSON object of extra template variables, e.g. {\"enable_thinking\": false}")
      ->capture_default_str();
  cmd->add_option("--bos", o->bos, "bos_token (default: the model's, else empty)");
  cmd->add_option("--eos", o->eos, "eos_token (default: the model's, else empty)");
  cmd->callback([o] { run_template(*o); });
}

}  // namespace torchllm::cli
