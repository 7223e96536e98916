#include "tokenizer/gguf_vocab_export.h"

#include <sys/stat.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <vector>

#include "torchllm/error.h"
#include "torchllm/json_file.h"

namespace torchllm::tokenizer {
namespace {

// llama_token_type (llama.h)
constexpr int32_t kNormal = 1, kControl = 3, kUserDefined = 4;

// The split regexes of the Hugging Face tokenizer.json files llama.cpp's converter recognises by hash.
const char* const kQwen2Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
    "\\s+(?!\\S)|\\s+";
const char* const kLlama3Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*["
    "\\r\\n]+|\\s+(?!\\S)|\\s+";

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error::not_found(path + ": cannot read");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::optional<nlohmann::json> optional_json(const std::string& path) {
  if (!file_exists(path)) return std::nullopt;
  return read_json_file(path);
}

// Every Split regex and whether a ByteLevel step splits with GPT-2's own regex, anywhere in `pre`.
void collect_splits(const nlohmann::json& pre, std::vector<std::string>& regexes, bool& byte_level_regex) {
  if (!pre.is_object()) return;
  const std::string type = pre.value("type", "");
  if (type == "Sequence" && pre.contains("pretokenizers")) {
    for (const nlohmann::json& step : pre["pretokenizers"]) collect_splits(step, regexes, byte_level_regex);
  } else if (type == "Split" && pre.contains("pattern") && pre["pattern"].contains("Regex")) {
    regexes.push_back(pre["pattern"]["Regex"].get<std::string>());
  } else if (type == "ByteLevel" && pre.value("use_regex", true)) {
    byte_level_regex = true;
  }
}

// The content of a tokenizer_config.json special-token entry: a string or an AddedToken object.
std::optional<std::string> token_content(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string())
    return v["content"].get<std::string>();
  return std::nullopt;
}

std::optional<int64_t> first_id(const nlohmann::json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_array() && !v.empty() && v[0].is_number_integer()) return v[0].get<int64_t>();
  return std::nullopt;
}

// gguf-py SpecialVocab's "looks special" test for added tokens not marked special.
bool looks_special(const std::string& t) {
  const auto starts = [&](const std::string& p) { return t.compare(0, p.size(), p) == 0; };
  const auto ends = [&](const std::string& s) {
    return t.size() >= s.size() && t.compare(t.size() - s.size(), s.size(), s) == 0;
  };
  return t == "<pad>" || t == "<mask>" || (starts("<|") && ends("|>")) ||
         (starts("<\xEF\xBD\x9C") && ends("\xEF\xBD\x9C>"));
}

// Whether the tokenizer.json post-processor puts the `role` token first (bos) or last (eos) of a single
// sequence: what SpecialVocab falls back on when tokenizer_config.json does not say add_bos_token.
std::optional<bool> post_processor_adds(const nlohmann::json& tok, bool first, std::optional<int64_t> id,
                                        const std::map<int64_t, std::string>& by_id) {
  const nlohmann::json* pp = tok.contains("post_processor") ? &tok["post_processor"] : nullptr;
  if (!pp || !pp->is_object()) return std::nullopt;
  if (pp->value("type", "") == "Sequence" && pp->contains("processors")) {
    for (const nlohmann::json& p : (*pp)["processors"]) {
      if (p.value("type", "") == "TemplateProcessing") pp = &p;
    }
  }
  if (pp->value("type", "") != "TemplateProcessing" || !pp->contains("single")) return std::nullopt;
  const nlohmann::json& single = (*pp)["single"];
  if (!single.is_array() || single.empty()) return false;
  const nlohmann::json& edge = first ? single.front() : single.back();
  if (!edge.contains("SpecialToken") || !id) return false;
  auto it = by_id.find(*id);
  return it != by_id.end() && edge["SpecialToken"].value("id", "") == it->second;
}

}  // namespace

std::string gguf_pre_tokenizer_name(const std::string& tokenizer_json_text, const std::string& model_type) {
  const nlohmann::json tok = nlohmann::json::parse(tokenizer_json_text, nullptr, false);
  std::vector<std::string> regexes;
  bool byte_level_regex = false;
  if (tok.is_object() && tok.contains("pre_tokenizer"))
    collect_splits(tok["pre_tokenizer"], regexes, byte_level_regex);
  if (regexes.size() == 1 && regexes[0] == kQwen2Regex) return "qwen2";
  if (regexes.size() == 1 && regexes[0] == kLlama3Regex) return "llama-bpe";
  if (regexes.empty() && byte_level_regex) return "gpt-2";
  if (model_type == "qwen2" || model_type == "qwen3") return "qwen2";
  if (model_type == "gpt2") return "gpt-2";
  return "default";
}

void add_gguf_vocabulary(GgufWriter& w, const std::string& model_dir, const std::string& model_type,
                         int64_t vocab_size) {
  const std::string tokenizer_path = model_dir + "/tokenizer.json";
  if (!file_exists(tokenizer_path)) {
    if (file_exists(model_dir + "/tokenizer.model")) {
      throw Error::unsupported(model_dir +
                               ": only a SentencePiece tokenizer.model is there; quantize writes the "
                               "vocabulary of a BPE tokenizer.json (convert this one with llama.cpp's "
                               "convert_hf_to_gguf.py)");
    }
    throw Error::not_found(model_dir + ": no tokenizer.json (a GGUF file needs the model's vocabulary)");
  }
  const std::string text = read_text(tokenizer_path);
  const nlohmann::json tok = read_json_file(tokenizer_path);
  const nlohmann::json& model = tok.at("model");
  if (model.value("type", "") != "BPE") {
    throw Error::unsupported(tokenizer_path + ": tokenizer model '" + model.value("type", "?") +
                             "' is not supported (quantize writes byte-level BPE tokenizers)");
  }
  // SentencePiece converted to tokenizer.json (Llama 2, Mistral): llama.cpp wants it as a "llama" vocabulary
  // with scores, which only the tokenizer.model gives faithfully.
  if (model.value("byte_fallback", false)) {
    throw Error::unsupported(
        tokenizer_path +
        ": a SentencePiece-style BPE (byte_fallback) is not supported by quantize; convert "
        "it with llama.cpp's convert_hf_to_gguf.py");
  }

  std::map<int64_t, std::string> by_id;
  std::map<std::string, int64_t> added_ids;
  std::map<int64_t, bool> added_special;
  for (const auto& [token, id] : model.at("vocab").items()) by_id[id.get<int64_t>()] = token;
  if (tok.contains("added_tokens")) {
    for (const nlohmann::json& a : tok["added_tokens"]) {
      const int64_t id = a.at("id").get<int64_t>();
      by_id[id] = a.at("content").get<std::string>();
      added_ids[by_id[id]] = id;
      added_special[id] = a.value("special", false);
    }
  }
  if (!by_id.empty() && by_id.rbegin()->first >= vocab_size) {
    throw Error::corrupt(tokenizer_path + ": token id " + std::to_string(by_id.rbegin()->first) +
                         " is beyond the model's vocab_size " + std::to_string(vocab_size));
  }
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  for (int64_t id = 0; id < vocab_size; ++id) {
    auto it = by_id.find(id);
    if (it == by_id.end()) {  // embedding rows no token uses, named as the converter names them
      tokens.push_back("[PAD" + std::to_string(id) + "]");
      types.push_back(kUserDefined);
    } else if (added_special.count(id)) {
      tokens.push_back(it->second);
      types.push_back(added_special[id] || looks_special(it->second) ? kControl : kUserDefined);
    } else {
      tokens.push_back(it->second);
      types.push_back(kNormal);
    }
  }
  std::vector<std::string> merges;
  if (model.contains("merges")) {
    for (const nlohmann::json& m : model["merges"]) {
      // "a b" (tokenizers < 0.20) or ["a", "b"]
      merges.push_back(m.is_string() ? m.get<std::string>()
                                     : m.at(0).get<std::string>() + " " + m.at(1).get<std::string>());
    }
  }

  w.add_string("tokenizer.ggml.model", "gpt2");
  w.add_string("tokenizer.ggml.pre", gguf_pre_tokenizer_name(text, model_type));
  w.add_string_array("tokenizer.ggml.tokens", tokens);
  w.add_i32_array("tokenizer.ggml.token_type", types);
  w.add_string_array("tokenizer.ggml.merges", merges);

  // Special ids as SpecialVocab finds them: tokenizer_config.json's token texts among the added tokens,
  // then config.json's *_token_id; generation_config.json last (an eos list gives its first id).
  const std::optional<nlohmann::json> tcfg = optional_json(model_dir + "/tokenizer_config.json");
  const std::optional<nlohmann::json> cfg = optional_json(model_dir + "/config.json");
  const std::optional<nlohmann::json> gen = optional_json(model_dir + "/generation_config.json");
  std::map<std::string, int64_t> ids;
  for (const char* role : {"bos", "eos", "unk", "pad"}) {
    std::optional<int64_t> id;
    const std::string key = std::string(role) + "_token";
    if (tcfg && tcfg->contains(key)) {
      if (std::optional<std::string> content = token_content((*tcfg)[key])) {
        auto it = added_ids.find(*content);
        if (it != added_ids.end()) id = it->second;
      }
    }
    for (const std::optional<nlohmann::json>& j : {cfg, gen}) {
      if (!id && j && j->contains(key + "_id")) id = first_id((*j)[key + "_id"]);
    }
    if (id && *id >= 0 && *id < vocab_size) ids[role] = *id;
  }
  for (const auto& [role, key] :
       std::vector<std::pair<std::string, std::string>>{{"bos", "bos_token_id"},
                                                        {"eos", "eos_token_id"},
                                                        {"unk", "unknown_token_id"},
                                                        {"pad", "padding_token_id"}}) {
    if (ids.count(role)) w.add_u32("tokenizer.ggml." + key, static_cast<uint32_t>(ids[role]));
  }
  // Written even when false: llama.cpp's default for some pre-tokenizers (llama-bpe) is to add BOS, which a
  // tokenizer.json without a template post-processor does not do.
  const auto role_id = [&](const char* role) -> std::optional<int64_t> {
    auto it = ids.find(role);
    return it == ids.end() ? std::nullopt : std::optional<int64_t>(it->second);
  };
  for (const auto& [flag, first, role] :
       {std::make_tuple("add_bos_token", true, "bos"), std::make_tuple("add_eos_token", false, "eos")}) {
    std::optional<bool> add;
    if (tcfg && tcfg->contains(flag) && (*tcfg)[flag].is_boolean()) add = (*tcfg)[flag].get<bool>();
    if (!add) add = post_processor_adds(tok, first, role_id(role), by_id);
    w.add_bool(std::string("tokenizer.ggml.") + flag, add.value_or(false));
  }

  std::string chat_template;
  std::vector<std::pair<std::string, std::string>> named_templates;
  if (tcfg && tcfg->contains("chat_template")) {
    const nlohmann::json& t = (*tcfg)["chat_template"];
    if (t.is_string()) {
      chat_template = t.get<std::string>();
    } else if (t.is_array()) {  // [{"name": "default", "template": ...}, {"name": "tool_use", ...}]
      for (const nlohmann::json& e : t) {
        const std::string name = e.value("name", ""), body = e.value("template", "");
        if (name == "default") {
          chat_template = body;
        } else if (!name.empty()) {
          named_templates.emplace_back(name, body);
        }
      }
    }
  }
  if (chat_template.empty() && file_exists(model_dir + "/chat_template.jinja")) {
    chat_template = read_text(model_dir + "/chat_template.jinja");
  }
  if (!chat_template.empty()) w.add_string("tokenizer.chat_template", chat_template);
  for (const auto& [name, body] : named_templates) w.add_string("tokenizer.chat_template." + name, body);
}

}  // namespace torchllm::tokenizer
