#include "torchllm/model_config.h"

#include <nlohmann/json.hpp>

#include "torchllm/error.h"
#include "torchllm/json_file.h"
#include "torchllm/model_dir.h"

namespace torchllm {
namespace {

class Fields {
 public:
  Fields(const nlohmann::json& json, std::string where) : json_(json), where_(std::move(where)) {}

  bool has(const char* key) const { return json_.contains(key) && !json_.at(key).is_null(); }

  int64_t positive_int(const char* key) const {
    if (!has(key)) throw Error::corrupt(where_ + ": missing required field '" + key + "'");
    return positive_int_value(json_.at(key), key);
  }
  int64_t positive_int(const char* key, int64_t fallback) const {
    return has(key) ? positive_int(key) : fallback;
  }

  double positive_number(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    const auto& v = json_.at(key);
    if (!v.is_number() || v.get<double>() <= 0) {
      throw Error::corrupt(where_ + ": field '" + key + "' must be a positive number");
    }
    return v.get<double>();
  }

  bool boolean(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!json_.at(key).is_boolean())
      throw Error::corrupt(where_ + ": field '" + key + "' must be true or false");
    return json_.at(key).get<bool>();
  }

  std::string string(const char* key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    if (!json_.at(key).is_string()) throw Error::corrupt(where_ + ": field '" + key + "' must be a string");
    return json_.at(key).get<std::string>();
  }

  int64_t positive_int_value(const nlohmann::json& v, const std::string& key) const {
    if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > (int64_t{1} << 40)) {
      throw Error::corrupt(where_ + ": field '" + key + "' must be a positive integer");
    }
    return v.get<int64_t>();
  }

  const std::string& where() const { return where_; }

 private:
  const nlohmann::json& json_;
  std::string where_;
};

RopeScaling parse_rope(const nlohmann::json& spec, const std::string& where, double* theta) {
  if (!spec.is_object()) throw Error::corrupt(where + ": rope scaling must be an object");
  Fields f(spec, where + " (rope)");
  if (theta) *theta = f.positive_number("rope_theta", *theta);
  std::string type = f.string("rope_type", f.string("type", "default"));
  RopeScaling rope;
  if (type == "default") return rope;
  if (type == "linear") {
    rope.type = RopeScaling::Type::kLinear;
    rope.factor = f.positive_number("factor", 0);
    if (rope.factor == 0) throw Error::corrupt(where + ": linear rope scaling needs 'factor'");
    return rope;
  }
  if (type == "llama3") {
    rope.type = RopeScaling::Type::kLlama3;
    rope.factor = f.positive_number("factor", 0);
    rope.low_freq_factor = f.positive_number("low_freq_factor", 0);
    rope.high_freq_factor = f.positive_number("high_freq_factor", 0);
    rope.original_max_position_embeddings = f.positive_int("original_max_position_embeddings", 0);
    if (rope.factor == 0 || rope.low_freq_factor == 0 || rope.high_freq_factor == 0 ||
        rope.original_max_position_embeddings == 0 || rope.high_freq_factor <= rope.low_freq_factor) {
      throw Error::corrupt(where +
                           ": llama3 rope scaling needs factor, low_freq_factor < high_freq_factor and "
                           "original_max_position_embeddings");
    }
    return rope;
  }
  throw Error::unsupported(where + ": rope type '" + type +
                           "' is not supported (supported: default, linear, llama3)");
}

// GPT-2's own spelling (n_embd, n_layer, n_head, n_positions, n_inner, layer_norm_epsilon).
ModelConfig parse_gpt2_config(const Fields& f, ModelConfig c) {
  const std::string& where = f.where();
  c.vocab_size = f.positive_int("vocab_size");
  c.hidden_size = f.positive_int("n_embd");
  c.num_layers = f.positive_int("n_layer");
  c.num_heads = f.positive_int("n_head");
  c.num_kv_heads = c.num_heads;
  if (c.hidden_size % c.num_heads != 0) throw Error::corrupt(where + ": n_embd must be a multiple of n_head");
  c.head_dim = c.hidden_size / c.num_heads;
  c.intermediate_size = f.positive_int("n_inner", 4 * c.hidden_size);
  c.max_position_embeddings = f.positive_int("n_positions", f.positive_int("n_ctx", 1024));
  c.rms_norm_eps = f.positive_number("layer_norm_epsilon", 1e-5);
  c.tie_word_embeddings = f.boolean("tie_word_embeddings", true);
  c.dtype = f.string("dtype", f.string("torch_dtype", ""));
  const std::string act = f.string("activation_function", "gelu_new");
  if (act != "gelu_new" && act != "gelu_pytorch_tanh") {
    throw Error::unsupported(where + ": activation_function '" + act +
                             "' is not supported (supported: gelu_new, gelu_pytorch_tanh)");
  }
  if (!f.boolean("scale_attn_weights", true) || f.boolean("scale_attn_by_inverse_layer_idx", false)) {
    throw Error::unsupported(where +
                             ": attention scaled otherwise than by 1/sqrt(head size) is not supported");
  }
  return c;
}

}  // namespace

ModelConfig parse_model_config(const nlohmann::json& json, const std::string& where) {
  if (!json.is_object()) throw Error::corrupt(where + ": not a JSON object");
  Fields f(json, where);
  ModelConfig c;
  if (!f.has("architectures") || !json.at("architectures").is_array() || json.at("architectures").empty() ||
      !json.at("architectures")[0].is_string()) {
    throw Error::corrupt(where + ": missing 'architectures' (a list with the model class name)");
  }
  c.architecture = json.at("architectures")[0].get<std::string>();
  c.model_type = f.string("model_type", "");
  if (c.architecture == "GPT2LMHeadModel") return parse_gpt2_config(f, c);
  c.vocab_size = f.positive_int("vocab_size");
  c.hidden_size = f.positive_int("hidden_size");
  c.intermediate_size = f.positive_int("intermediate_size");
  c.num_layers = f.positive_int("num_hidden_layers");
  c.num_heads = f.positive_int("num_attention_heads");
  c.num_kv_heads = f.positive_int("num_key_value_heads", c.num_heads);
  if (c.num_heads % c.num_kv_heads != 0) {
    throw Error::corrupt(where + ": num_attention_heads must be a multiple of num_key_value_heads");
  }
  if (!f.has("head_dim") && c.hidden_size % c.num_heads != 0) {
    throw Error::corrupt(where +
                         ": hidden_size is not a multiple of num_attention_heads and no head_dim is given");
  }
  c.head_dim = f.positive_int("head_dim", c.hidden_size / c.num_heads);
  if (c.head_dim % 2 != 0) throw Error::corrupt(where + ": head_dim must be even for rotary embeddings");
  c.max_position_embeddings = f.positive_int("max_position_embeddings", 2048);
  c.rms_norm_eps = f.positive_number("rms_norm_eps", 1e-6);
  c.rope_theta = f.positive_number("rope_theta", 10000.0);
  c.tie_word_embeddings = f.boolean("tie_word_embeddings", false);
  c.attention_bias = f.boolean("attention_bias", false);
  c.dtype = f.string("dtype", f.string("torch_dtype", ""));

  if (f.has("rope_parameters")) {
    c.rope_scaling = parse_rope(json.at("rope_parameters"), where, &c.rope_theta);
  } else if (f.has("rope_scaling")) {
    c.rope_scaling = parse_rope(json.at("rope_scaling"), where, nullptr);
  }

  const std::string act = f.string("hidden_act", "silu");
  if (act != "silu")
    throw Error::unsupported(where + ": hidden_act '" + act + "' is not supported (only silu)");
  if (f.boolean("mlp_bias", false)) throw Error::unsupported(where + ": mlp_bias=true is not supported");
  if (f.boolean("use_sliding_window", false)) {
    throw Error::unsupported(where +
                             ": use_sliding_window=true (per-layer sliding windows) is not supported");
  }
  if (c.model_type == "mistral" && f.has("sliding_window")) {
    c.sliding_window = f.positive_int_value(json.at("sliding_window"), "sliding_window");
  }
  return c;
}

ModelConfig load_model_config(const std::string& model_dir) {
  check_model_dir(model_dir);
  const std::string path = model_dir + "/config.json";
  return parse_model_config(read_json_file(path), path);
}

}  // namespace torchllm
