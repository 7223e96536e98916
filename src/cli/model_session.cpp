#include "cli/model_session.h"

#include <iostream>

#include "cli/load_progress.h"
#include "torchllm/chat_prompt.h"

namespace torchllm::cli {

ModelSession ModelSession::load(const ModelOptions& options, Prompts prompts) {
  ModelSession session;
  session.model_dir = options.resolved_model_dir();
  // A model whose weights cannot load (a vocabulary-only GGUF, an unsupported architecture) fails before
  // the tokenizer and template say anything.
  read_model_config(session.model_dir);
  options.apply_threads();
  session.tokenizer = load_tokenizer(session.model_dir);
  if (prompts == Prompts::kChat) {
    std::optional<std::string> source = ChatTemplate::find_in_model_dir(session.model_dir);
    if (!source) {
      std::cerr << "torchllm: note: " << session.model_dir
                << " has no chat template; using ChatML (--raw sends the text as it is)\n";
      source = ChatTemplate::chatml_source();
    }
    session.chat_template.emplace(*source, ChatTemplate::special_tokens_in_model_dir(session.model_dir));
  }
  LoadOptions load = options.load;
  load.progress = make_load_progress();
  session.model = Transformer::load(session.model_dir, load);
  return session;
}

std::vector<TokenId> ModelSession::encode_chat(const nlohmann::ordered_json& messages,
                                               const nlohmann::ordered_json& kwargs) const {
  ChatRenderOptions render;
  render.kwargs = kwargs;
  const std::string prompt = chat_template->render(messages, render);
  return encode_chat_prompt(*tokenizer, prompt);
}

std::vector<TokenId> ModelSession::encode_raw(const std::string& text) const {
  return tokenizer->encode(text);
}

}  // namespace torchllm::cli
