#pragma once

// A model's chat template (Jinja, as in tokenizer_config.json) rendered exactly as transformers'
// apply_chat_template renders it with Jinja2.

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace torchllm {

namespace jinja {
struct Stmt;
class Lexer;
}  // namespace jinja

struct ChatRenderOptions {
  bool add_generation_prompt = true;
  nlohmann::ordered_json tools;  // null: no tools (the template sees None)
  nlohmann::ordered_json kwargs = nlohmann::ordered_json::object();  // extra variables, e.g. enable_thinking
};

class ChatTemplate {
 public:
  // Parses the template now. `special_tokens` become variables (bos_token, eos_token, ...).
  // Throws Error(kInvalidArgument) naming line and column of a syntax error.
  explicit ChatTemplate(const std::string& source, std::map<std::string, std::string> special_tokens = {});
  ~ChatTemplate();
  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;

  // messages: a JSON array of {role, content (string or [{type: "text", text}]), tool_calls, ...}.
  // Throws Error(kInvalidArgument): for raise_exception() its message as written, otherwise
  // "chat template error at line L, column C: ...".
  std::string render(const nlohmann::ordered_json& messages, const ChatRenderOptions& options = {}) const;

  const std::string& source() const { return source_; }

  // ChatML (<|im_start|>role\ncontent<|im_end|>\n), for models that ship no template.
  static const char* chatml_source();

  // The template a Hugging Face model directory ships: chat_template.jinja, else tokenizer_config.json's
  // chat_template (a string, or a list of {name, template} where `name` picks one, "default" otherwise).
  // For a GGUF model: tokenizer.chat_template (tokenizer.chat_template.NAME for another name).
  static std::optional<std::string> find_in_model_dir(const std::string& model_dir,
                                                      const std::string& name = "default");
  // The variables a template sees for the special tokens: bos_token, eos_token, unk_token, pad_token of the
  // directory's tokenizer_config.json (strings or {"content": ...}); empty without the file.
  static std::map<std::string, std::string> special_tokens_in_model_dir(const std::string& model_dir);

 private:
  std::string source_;
  std::map<std::string, std::string> special_tokens_;
  std::unique_ptr<jinja::Lexer> lexer_;
  std::unique_ptr<std::vector<std::unique_ptr<jinja::Stmt>>> body_;
};

}  // namespace torchllm
