#include "torchllm/chat_template.h"

#include "chat/jinja/builtins.h"
#include "chat/jinja/interpreter.h"
#include "chat/jinja/parser.h"
#include "torchllm/error.h"
#include "torchllm/gguf_model_files.h"
#include "torchllm/json_file.h"

namespace torchllm {
namespace {

jinja::Value to_value(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null:
      return jinja::Value::none();
    case nlohmann::ordered_json::value_t::boolean:
      return jinja::Value(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
      return jinja::Value(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned:
      return jinja::Value(static_cast<int64_t>(j.get<uint64_t>()));
    case nlohmann::ordered_json::value_t::number_float:
      return jinja::Value(j.get<double>());
    case nlohmann::ordered_json::value_t::string:
      return jinja::Value(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      std::vector<jinja::Value> items;
      for (const auto& item : j) items.push_back(to_value(item));
      return jinja::Value::list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      auto dict = std::make_shared<jinja::ValueDict>();
      for (const auto& item : j.items()) dict->items.emplace_back(item.key(), to_value(item.value()));
      return jinja::Value::dict(dict);
    }
    default:
      return jinja::Value::none();
  }
}

std::string position_error(const jinja::TemplateError& e) {
  return "chat template error at line " + std::to_string(e.line()) + ", column " +
         std::to_string(e.column()) + ": " + e.what();
}

}  // namespace

ChatTemplate::ChatTemplate(const std::string& source, std::map<std::string, std::string> special_tokens)
    : source_(source), special_tokens_(std::move(special_tokens)) {
  try {
    lexer_ = std::make_unique<jinja::Lexer>(source_);
    body_ = std::make_unique<jinja::Body>(jinja::parse_template(*lexer_));
  } catch (const jinja::TemplateError& e) {
    throw Error::invalid_argument(position_error(e));
  }
}

ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;

std::string ChatTemplate::render(const nlohmann::ordered_json& messages,
                                 const ChatRenderOptions& options) const {
  if (!messages.is_array()) throw Error::invalid_argument("messages must be a JSON array");
  if (!options.kwargs.is_object()) throw Error::invalid_argument("template kwargs must be a JSON object");
  jinja::ValueDict globals;
  jinja::add_global_functions(globals);
  for (const auto& [name, text] : special_tokens_) globals.set(name, jinja::Value(text));
  for (const auto& item : options.kwargs.items()) globals.set(item.key(), to_value(item.value()));
  globals.set("messages", to_value(messages));
  globals.set("tools", to_value(options.tools));
  globals.set("documents", jinja::Value::none());
  globals.set("add_generation_prompt", jinja::Value(options.add_generation_prompt));
  try {
    jinja::Interpreter interpreter(*lexer_, jinja::RenderLimits{});
    return interpreter.render(*body_, globals);
  } catch (const jinja::RaisedException& e) {
    throw Error::invalid_argument(e.what());
  } catch (const jinja::TemplateError& e) {
    throw Error::invalid_argument(position_error(e));
  }
}

const char* ChatTemplate::chatml_source() {
  return "{%- for message in messages %}"
         "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
         "{%- endfor %}"
         "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";
}

std::optional<std::string> ChatTemplate::find_in_model_dir(const std::string& model_dir,
                                                           const std::string& name) {
  if (names_gguf_model(model_dir)) {  // tokenizer.chat_template, or tokenizer.chat_template.NAME
    const GgufFile file(resolve_gguf_path(model_dir));
    const std::string key = name == "default" ? "tokenizer.chat_template" : "tokenizer.chat_template." + name;
    if (!file.metadata().find(key)) return std::nullopt;
    return file.metadata().get_string(key);
  }
  const std::string jinja_path = model_dir + "/chat_template.jinja";
  if (file_exists(jinja_path)) return read_text_file(jinja_path);
  const std::string config_path = model_dir + "/tokenizer_config.json";
  if (!file_exists(config_path)) return std::nullopt;
  const nlohmann::json config = read_json_file(config_path);
  auto it = config.find("chat_template");
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_array()) {
    for (const auto& entry : *it) {
      if (entry.is_object() && entry.value("name", "") == name && entry.contains("template") &&
          entry["template"].is_string()) {
        return entry["template"].get<std::string>();
      }
    }
    throw Error::not_found(config_path + ": no chat template named '" + name + "'");
  }
  throw Error::corrupt(config_path + ": chat_template must be a string or a list of {name, template}");
}

std::map<std::string, std::string> ChatTemplate::special_tokens_in_model_dir(const std::string& model_dir) {
  std::map<std::string, std::string> tokens;
  if (names_gguf_model(model_dir)) {  // the texts of the tokens whose ids the metadata names
    const GgufFile file(resolve_gguf_path(model_dir));
    const GgufMetadata& m = file.metadata();
    if (!m.find("tokenizer.ggml.tokens")) return tokens;
    const std::vector<std::string> vocab = m.get_string_array("tokenizer.ggml.tokens");
    for (const char* role : {"bos", "eos", "unk", "pad"}) {
      if (auto id = gguf_special_token_id(m, role, vocab.size()))
        tokens[std::string(role) + "_token"] = vocab[*id];
    }
    return tokens;
  }
  const std::string path = model_dir + "/tokenizer_config.json";
  if (!file_exists(path)) return tokens;
  const nlohmann::json config = read_json_file(path);
  for (const char* key : {"bos_token", "eos_token", "unk_token", "pad_token"}) {
    auto it = config.find(key);
    if (it == config.end()) continue;
    if (it->is_string()) tokens[key] = it->get<std::string>();
    if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
      tokens[key] = (*it)["content"];
    }
  }
  return tokens;
}

}  // namespace torchllm
