#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/commands.h"
#include "cli/generation_options.h"
#include "cli/human_bytes.h"
#include "cli/model_options.h"
#include "torchllm/chat_template.h"
#include "torchllm/checkpoint.h"
#include "torchllm/device.h"
#include "torchllm/gguf_model_files.h"
#include "torchllm/json_file.h"
#include "torchllm/model.h"
#include "torchllm/tokenizer.h"

namespace torchllm::cli {
namespace {

struct InfoOptions {
  ModelOptions model;
  bool json = false;
};

const char* rope_name(RopeScaling::Type type) {
  switch (type) {
    case RopeScaling::Type::kDefault:
      return "default";
    case RopeScaling::Type::kLinear:
      return "linear";
    case RopeScaling::Type::kLlama3:
      return "llama3";
  }
  return "?";
}

// The text form of a byte count: a name without "_bytes" and a size in binary units.
const std::map<std::string, std::string> kByteFields = {
    {"checkpoint_bytes", "checkpoint_size"},
    {"weight_bytes", "weight_size"},
    {"kv_bytes_per_token", "kv_cache_per_token"},
};

nlohmann::ordered_json token_json(const Tokenizer& tokenizer, std::optional<TokenId> id) {
  if (!id) return nullptr;
  return {{"id", *id}, {"text", tokenizer.id_to_token(*id).value_or("")}};
}

// The tokenizer as load_tokenizer finds it, its size and the ids that play a role; null fields without one.
void add_tokenizer_info(const std::string& dir, nlohmann::ordered_json& info) {
  const bool gguf = names_gguf_model(dir);
  std::string type = "SentencePiece", file = "tokenizer.model";
  if (gguf) {  // tokenizer.ggml.model, and the pre-tokenizer of a gpt2 one
    const GgufFile header(dir);
    const GgufMetadata& m = header.metadata();
    if (!m.find("tokenizer.ggml.model")) {
      info["tokenizer"] = nullptr;
      return;
    }
    type = "GGUF " + m.get_string("tokenizer.ggml.model");
    if (m.find("tokenizer.ggml.pre") && type == "GGUF gpt2")
      type += " (pre " + m.get_string("tokenizer.ggml.pre") + ")";
    file = "GGUF metadata";
  }
  const bool json_file = !gguf && file_exists(dir + "/tokenizer.json");
  if (!gguf && !json_file && !file_exists(dir + "/tokenizer.model")) {
    info["tokenizer"] = nullptr;
    return;
  }
  const std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(dir);
  if (json_file) {
    file = "tokenizer.json";  // tokenizer.json's model type; files from before types were written are BPE
    const nlohmann::json root = read_json_file(dir + "/tokenizer.json");
    const nlohmann::json model = root.value("model", nlohmann::json::object());
    const nlohmann::json name = model.is_object() ? model.value("type", nlohmann::json("BPE")) : nullptr;
    type = name.is_string() ? name.get<std::string>() : "?";
  }
  const SpecialTokenRoles& roles = tokenizer->special_tokens();
  nlohmann::ordered_json eos = nlohmann::ordered_json::array();
  for (TokenId id : roles.eos) eos.push_back(token_json(*tokenizer, id));
  info["tokenizer"] = type;
  info["tokenizer_file"] = file;
  info["tokenizer_vocab_size"] = tokenizer->vocab_size();
  info["bos_token"] = token_json(*tokenizer, roles.bos);
  info["eos_tokens"] = eos;
  info["pad_token"] = token_json(*tokenizer, roles.pad);
  info["unk_token"] = token_json(*tokenizer, roles.unk);
}

// One value for people: a token as TEXT (ID), lists joined with commas, null as "none", bools as yes / no.
std::string text_of(const nlohmann::ordered_json& value) {
  if (value.is_null()) return "none";
  if (value.is_boolean()) return value.get<bool>() ? "yes" : "no";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("id")) {
    return value.at("text").get<std::string>() + " (" + value.at("id").dump() + ")";
  }
  if (value.is_array()) {
    std::string out;
    for (const nlohmann::ordered_json& item : value) out += (out.empty() ? "" : ", ") + text_of(item);
    return out.empty() ? "none" : out;
  }
  return value.dump();
}

// A GGUF model's tensors by type: [{type, tensors, bytes}], in ggml's type order.
nlohmann::ordered_json gguf_tensor_types(const GgufModelFiles& files) {
  std::map<uint32_t, std::pair<const char*, std::pair<int64_t, uint64_t>>> by_type;
  for (const auto& item : files.tensors()) {
    auto& entry = by_type[item.second->type->id];
    entry.first = item.second->type->name;
    entry.second.first += 1;
    entry.second.second += item.second->size;
  }
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& [id, entry] : by_type) {
    out.push_back({{"type", entry.first}, {"tensors", entry.second.first}, {"bytes", entry.second.second}});
  }
  return out;
}

std::string tensor_types_text(const nlohmann::ordered_json& types) {
  std::string out;
  for (const auto& t : types) {
    out += (out.empty() ? "" : ", ") + t.at("type").get<std::string>() + " " + t.at("tensors").dump() +
           " tensors (" + human_bytes(t.at("bytes").get<uint64_t>()) + ")";
  }
  return out;
}

// config.json (or the GGUF metadata), the safetensors (GGUF) headers and the tokenizer files are read: no
// weights are loaded.
void run_info(const InfoOptions& options) {
  const std::string dir = options.model.resolved_model_dir();
  const bool gguf = names_gguf_model(dir);
  const ModelConfig config = read_model_config(dir);
  const Architecture& arch = find_architecture(config.architecture);
  uint64_t checkpoint_bytes = 0;
  nlohmann::ordered_json tensor_types;
  std::string checkpoint_dtype = config.dtype;
  if (gguf) {
    const GgufModelFiles files(dir);
    checkpoint_bytes = files.total_tensor_bytes();
    tensor_types = gguf_tensor_types(files);
    // A GGUF's dtype: the type holding the most bytes (its norms stay F32 whatever the file type).
    uint64_t most = 0;
    for (const auto& t : tensor_types) {
      if (t.at("bytes").get<uint64_t>() > most) {
        most = t.at("bytes").get<uint64_t>();
        checkpoint_dtype = t.at("type").get<std::string>();
      }
    }
  } else {
    const Checkpoint checkpoint(dir);
    check_checkpoint_tensors(checkpoint, config);
    checkpoint_bytes = checkpoint.total_bytes();
  }
  const c10::Device device = resolve_device(options.model.load.device);
  const c10::ScalarType dtype = resolve_dtype(options.model.load.dtype, device);
  const KvCacheType kv_type = parse_kv_cache_type(options.model.load.kv_cache_type);
  const int64_t parameters = checkpoint_parameter_count(config);
  const uint64_t weight_bytes = static_cast<uint64_t>(parameters) * c10::elementSize(dtype);
  nlohmann::ordered_json info = {
      {gguf ? "model_file" : "model_dir", dir},
      {"architecture", config.architecture},
      {"layers", config.num_layers},
      {"hidden_size", config.hidden_size},
      {"intermediate_size", config.intermediate_size},
      {"heads", config.num_heads},
      {"kv_heads", config.num_kv_heads},
      {"head_dim", config.head_dim},
      {"vocab_size", config.vocab_size},
      {"max_position_embeddings", config.max_position_embeddings},
      {"positions", arch.gpt2_block ? "learned" : "rope"},
      {"rope_theta", arch.gpt2_block ? nlohmann::ordered_json() : nlohmann::ordered_json(config.rope_theta)},
      {"rope_scaling", arch.gpt2_block ? "none" : rope_name(config.rope_scaling.type)},
      {"qk_norm", arch.qk_norm},
      {"qkv_bias", arch.qkv_bias || config.attention_bias},
      {"tie_word_embeddings", config.tie_word_embeddings},
      {"parameters", parameters},
      {"checkpoint_dtype", checkpoint_dtype},
      {"checkpoint_bytes", checkpoint_bytes},
      {"device", device.str()},
      {"dtype", dtype_name(dtype)},
      {"weight_bytes", weight_bytes},
      {"kv_cache_type", kv_cache_type_name(kv_type, dtype)},
      {"kv_bytes_per_token", kv_bytes_per_token(config, dtype, kv_type)},
      {"context_length", config.max_position_embeddings},
      {"default_context", GenerationOptions().resolved_context(config.max_position_embeddings, std::cerr)},
  };
  if (gguf) info["tensor_types"] = tensor_types;
  add_tokenizer_info(dir, info);
  info["chat_template"] = ChatTemplate::find_in_model_dir(dir).has_value();
  if (options.json) {
    std::cout << info.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
    return;
  }
  for (const auto& item : info.items()) {
    const auto bytes = kByteFields.find(item.key());
    if (item.key() == "tensor_types") {
      std::cout << "tensor_types: " << tensor_types_text(item.value()) << "\n";
    } else if (bytes != kByteFields.end()) {
      std::cout << bytes->second << ": " << human_bytes(item.value().get<uint64_t>()) << "\n";
    } else {
      std::cout << item.key() << ": " << text_of(item.value()) << "\n";
    }
  }
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto options = std::make_shared<InfoOptions>();
  CLI::App* cmd = app.add_subcommand(
      "info",
      "Describe a model: architecture, sizes, parameters, memory per token, tokenizer, chat template");
  options->model.add_to(*cmd);
  cmd->add_flag("--json", options->json, "Print one JSON object");
  cmd->callback([options] { run_info(*options); });
}

}  // namespace torchllm::cli
