// Request side of the OpenAI wire format: chat and text completion bodies to a CompletionCall.
#include <cctype>
#include <cmath>
#include <functional>
#include <limits>
#include <set>

#include "server/api_error.h"
#include "server/grammar_cache.h"
#include "server/openai_wire.h"
#include "server/structured_request.h"

namespace torchllm::server {
namespace {

using json = nlohmann::json;

constexpr int64_t kMaxChoices = 64;
constexpr size_t kMaxStops = 16;

const char* type_name(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    default:
      return "a number";
  }
}

ApiError wrong_type(const std::string& param, const char* expected, const json& value) {
  return ApiError::bad_request("'" + param + "' must be " + expected + ", got " + type_name(value), param,
                               "invalid_type");
}

double number(const json& value, const std::string& param) {
  if (!value.is_number()) throw wrong_type(param, "a number", value);
  const double x = value.get<double>();
  if (!std::isfinite(x)) throw ApiError::bad_request("'" + param + "' must be finite", param);
  return x;
}

double number_in(const json& value, const std::string& param, double lo, double hi, bool lo_open = false) {
  const double x = number(value, param);
  if (x < lo || x > hi || (lo_open && x == lo)) {
    throw ApiError::bad_request("'" + param + "' must be in " + std::string(lo_open ? "(" : "[") +
                                    json(lo).dump() + ", " + json(hi).dump() + "], got " + json(x).dump(),
                                param, "invalid_value");
  }
  return x;
}

int64_t integer(const json& value, const std::string& param) {
  if (value.is_number_integer()) {
    if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      throw ApiError::bad_request("'" + param + "' is too large", param, "invalid_value");
    }
    return value.get<int64_t>();
  }
  // 5.0 is an integer to JSON Schema (and to Python clients that computed it).
  if (value.is_number_float()) {
    const double x = value.get<double>();
    if (std::isfinite(x) && x == std::floor(x) && std::fabs(x) < 9e15) return static_cast<int64_t>(x);
  }
  throw wrong_type(param, "an integer", value);
}

int64_t integer_in(const json& value, const std::string& param, int64_t lo, int64_t hi) {
  const int64_t x = integer(value, param);
  if (x < lo || x > hi) {
    throw ApiError::bad_request("'" + param + "' must be in [" + std::to_string(lo) + ", " +
                                    std::to_string(hi) + "], got " + std::to_string(x),
                                param, "invalid_value");
  }
  return x;
}

bool boolean(const json& value, const std::string& param) {
  if (!value.is_boolean()) throw wrong_type(param, "a boolean", value);
  return value.get<bool>();
}

const std::string& string(const json& value, const std::string& param) {
  if (!value.is_string()) throw wrong_type(param, "a string", value);
  return value.get_ref<const std::string&>();
}

std::vector<std::string> stop_strings(const json& value) {
  std::vector<std::string> stops;
  if (value.is_string()) {
    stops.push_back(value.get<std::string>());
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i)
      stops.push_back(string(value[i], "stop[" + std::to_string(i) + "]"));
  } else {
    throw wrong_type("stop", "a string or an array of strings", value);
  }
  if (stops.size() > kMaxStops) {
    throw ApiError::bad_request("'stop' takes at most " + std::to_string(kMaxStops) + " strings", "stop");
  }
  for (const std::string& s : stops) {
    if (s.empty()) throw ApiError::bad_request("'stop' strings must not be empty", "stop");
  }
  return stops;
}

std::map<int64_t, double> logit_bias(const json& value) {
  if (!value.is_object()) throw wrong_type("logit_bias", "an object of token id -> bias", value);
  std::map<int64_t, double> bias;
  for (auto it = value.begin(); it != value.end(); ++it) {
    const std::string param = "logit_bias." + it.key();
    size_t used = 0;
    int64_t id = -1;
    try {
      id = std::stoll(it.key(), &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != it.key().size() || id < 0) {
      throw ApiError::bad_request("'logit_bias' keys must be token ids, got '" + it.key() + "'",
                                  "logit_bias");
    }
    bias[id] = number_in(it.value(), param, -100, 100);
  }
  return bias;
}

// The fields both endpoints share; false when `key` is none of them.
bool common_field(const std::string& key, const json& value, const json& body, CompletionCall& call) {
  SamplingFields& s = call.sampling;
  if (key == "model") {
    call.model = string(value, key);
  } else if (key == "max_tokens" || key == "max_completion_tokens") {
    const int64_t max = integer_in(value, key, 1, std::numeric_limits<int32_t>::max());
    // max_completion_tokens is the newer name and wins when both are given (as in vLLM).
    const bool newer_given =
        body.contains("max_completion_tokens") && !body["max_completion_tokens"].is_null();
    if (key == "max_completion_tokens" || !newer_given) call.max_tokens = max;
  } else if (key == "temperature") {
    s.temperature = number_in(value, key, 0, 100);
  } else if (key == "top_p") {
    s.top_p = number_in(value, key, 0, 1, /*lo_open=*/true);
  } else if (key == "top_k") {
    const int64_t k = integer_in(value, key, -1, std::numeric_limits<int32_t>::max());
    s.top_k = k < 0 ? 0 : k;  // vLLM spells "off" -1
  } else if (key == "min_p") {
    s.min_p = number_in(value, key, 0, 1);
  } else if (key == "repetition_penalty") {
    s.repetition_penalty = number_in(value, key, 0, 100, /*lo_open=*/true);
  } else if (key == "presence_penalty") {
    s.presence_penalty = number_in(value, key, -2, 2);
  } else if (key == "frequency_penalty") {
    s.frequency_penalty = number_in(value, key, -2, 2);
  } else if (key == "logit_bias") {
    s.logit_bias = logit_bias(value);
  } else if (key == "seed") {
    s.seed = static_cast<uint64_t>(integer(value, key));
  } else if (key == "n") {
    call.n = integer_in(value, key, 1, kMaxChoices);
  } else if (key == "stop") {
    call.stop = stop_strings(value);
  } else if (key == "stream") {
    call.stream = boolean(value, key);
  } else if (key == "stream_options") {
    if (!value.is_object()) throw wrong_type(key, "an object", value);
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (it.value().is_null()) continue;
      if (it.key() != "include_usage") throw ApiError::unsupported_field("stream_options." + it.key());
      call.include_usage = boolean(it.value(), "stream_options.include_usage");
    }
  } else if (key == "user") {
    string(value, key);  // accepted: for the operator's logs in OpenAI's API, and nothing to do here
  } else {
    return false;
  }
  return true;
}

// Fields that exist in OpenAI's API but that this server does not implement; accepted only with the value
// that asks for nothing (so a client that spells out a default still works).
bool noop_value(const std::string& key, const json& value) {
  if (key == "functions") return value.is_array() && value.empty();
  if (key == "function_call") return value == "none";
  if (key == "store") return value == false;
  if (key == "modalities") return value == json::array({"text"});
  if (key == "echo") return value == false;
  if (key == "suffix") return value == "";
  return false;
}

const std::set<std::string>& known_unsupported() {
  static const std::set<std::string> fields = {"response_format", "tools",
                                               "functions",       "tool_choice",
                                               "function_call",   "parallel_tool_calls",
                                               "store",           "metadata",
                                               "audio",           "modalities",
                                               "prediction",      "reasoning_effort",
                                               "service_tier",    "echo",
                                               "suffix",          "web_search_options",
                                               "best_of",         "verbosity"};
  return fields;
}

void other_field(const std::string& key, const json& value, const CompletionCall& call) {
  if (key == "best_of" && value.is_number_integer() && value.get<int64_t>() == call.n) return;
  if (noop_value(key, value)) return;
  if (known_unsupported().count(key)) throw ApiError::unsupported_field(key);
  throw ApiError::bad_request("Unrecognized request argument supplied: " + key, key, "unsupported_parameter");
}

// Visits the body's fields in order; null means "not given" for every optional field, as in OpenAI's API.
void for_each_field(const json& body, const std::function<void(const std::string&, const json&)>& visit) {
  if (!body.is_object()) throw ApiError::bad_request("the request body must be a JSON object");
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (!it.value().is_null()) visit(it.key(), it.value());
  }
}

std::string content_text(const json& content, const std::string& param, bool allow_null) {
  if (content.is_string()) return content.get<std::string>();
  if (content.is_null()) {
    if (allow_null) return "";
    throw ApiError::bad_request("'" + param + "' is required", param);
  }
  if (!content.is_array()) throw wrong_type(param, "a string or an array of content parts", content);
  // Text parts are joined with newlines, as vLLM does for templates that take a string.
  std::string text;
  for (size_t j = 0; j < content.size(); ++j) {
    const std::string part_param = param + "[" + std::to_string(j) + "]";
    const json& part = content[j];
    if (!part.is_object()) throw wrong_type(part_param, "an object", part);
    const std::string type = part.contains("type") ? string(part["type"], part_param + ".type") : "";
    if (type != "text") {
      throw ApiError::unsupported_field(part_param + ".type",
                                        "content parts of type '" + type + "' (only 'text' is)");
    }
    for (auto it = part.begin(); it != part.end(); ++it) {
      if (it.key() != "type" && it.key() != "text") {
        throw ApiError::bad_request("Unrecognized content part field: " + it.key(),
                                    part_param + "." + it.key());
      }
    }
    if (!part.contains("text"))
      throw ApiError::bad_request("'" + part_param + ".text' is required", part_param);
    if (j > 0) text += "\n";
    text += string(part["text"], part_param + ".text");
  }
  return text;
}

// Earlier tool calls as templates read them: OpenAI sends function.arguments as a JSON string, templates
// (Llama 3's `| tojson`, Qwen's) expect the object, so a string that parses becomes the object (as vLLM
// does).
nlohmann::ordered_json template_tool_calls(const json& calls, const std::string& param) {
  nlohmann::ordered_json out = nlohmann::ordered_json::parse(calls.dump());
  for (size_t i = 0; i < out.size(); ++i) {
    auto& call = out[i];
    const std::string p = param + "[" + std::to_string(i) + "]";
    if (!call.is_object() || !call.contains("function") || !call["function"].is_object() ||
        !call["function"].contains("name") || !call["function"]["name"].is_string()) {
      throw ApiError::bad_request("'" + p +
                                      "' must be {\"id\", \"type\": \"function\", \"function\": {\"name\", "
                                      "\"arguments\"}}",
                                  p, "invalid_type");
    }
    auto& function = call["function"];
    if (function.contains("arguments") && function["arguments"].is_string()) {
      try {
        nlohmann::ordered_json parsed =
            nlohmann::ordered_json::parse(function["arguments"].get<std::string>());
        if (parsed.is_object()) function["arguments"] = std::move(parsed);
      } catch (const nlohmann::json::exception&) {
        // Not JSON: the template gets the string as sent.
      }
    }
  }
  return out;
}

nlohmann::ordered_json chat_messages(const json& messages) {
  if (!messages.is_array()) throw wrong_type("messages", "an array", messages);
  if (messages.empty()) throw ApiError::bad_request("'messages' must not be empty", "messages");
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string param = "messages[" + std::to_string(i) + "]";
    const json& message = messages[i];
    if (!message.is_object()) throw wrong_type(param, "an object", message);
    if (!message.contains("role"))
      throw ApiError::bad_request("'" + param + ".role' is required", param + ".role");
    std::string role = string(message["role"], param + ".role");
    if (role != "system" && role != "developer" && role != "user" && role != "assistant" && role != "tool") {
      throw ApiError::bad_request(
          "'" + param + ".role' must be system, developer, user, assistant or tool, got '" + role + "'",
          param + ".role");
    }
    // Developer messages are what system messages are to newer OpenAI models; templates know only "system".
    nlohmann::ordered_json entry = {{"role", role == "developer" ? "system" : role}};
    const bool assistant = role == "assistant";
    entry["content"] =
        content_text(message.contains("content") ? message["content"] : json(), param + ".content",
                     /*allow_null=*/assistant);
    for (auto it = message.begin(); it != message.end(); ++it) {
      const std::string& key = it.key();
      const std::string field = param + "." + key;
      if (key == "role" || key == "content" || it.value().is_null()) continue;
      if (key == "name") {
        entry["name"] = string(it.value(), field);
      } else if (key == "tool_call_id" && role == "tool") {
        entry["tool_call_id"] = string(it.value(), field);
      } else if (key == "tool_calls" && assistant) {
        // Earlier tool calls in the history are the template's to render.
        if (!it.value().is_array()) throw wrong_type(field, "an array", it.value());
        entry["tool_calls"] = template_tool_calls(it.value(), field);
      } else if (key == "reasoning_content" && assistant) {  // extension (vLLM, Qwen templates)
        entry["reasoning_content"] = string(it.value(), field);
      } else if (key == "parsed" && assistant) {
        // The OpenAI SDK's parse and runTools helpers keep their parsed value in the message and send it
        // back.
      } else if (key == "refusal" && assistant) {
        string(it.value(), field);  // a refusal in the history; templates do not render it
      } else {
        throw ApiError::bad_request("Unrecognized message field: " + key, field, "unsupported_parameter");
      }
    }
    out.push_back(std::move(entry));
  }
  return out;
}

std::vector<TokenId> token_prompt(const json& ids, const std::string& param) {
  std::vector<TokenId> tokens;
  for (size_t i = 0; i < ids.size(); ++i) {
    tokens.push_back(static_cast<TokenId>(
        integer_in(ids[i], param + "[" + std::to_string(i) + "]", 0, std::numeric_limits<int32_t>::max())));
  }
  return tokens;
}

std::vector<CompletionPrompt> completion_prompts(const json& prompt) {
  if (prompt.is_string()) return {prompt.get<std::string>()};
  if (!prompt.is_array() || prompt.empty()) {
    throw wrong_type("prompt", "a string, an array of strings or an array of token ids", prompt);
  }
  if (prompt[0].is_number()) return {token_prompt(prompt, "prompt")};
  std::vector<CompletionPrompt> prompts;
  for (size_t i = 0; i < prompt.size(); ++i) {
    const std::string param = "prompt[" + std::to_string(i) + "]";
    if (prompt[i].is_string()) {
      prompts.emplace_back(prompt[i].get<std::string>());
    } else if (prompt[i].is_array() && !prompt[i].empty()) {
      prompts.emplace_back(token_prompt(prompt[i], param));
    } else {
      throw wrong_type(param, "a string or an array of token ids", prompt[i]);
    }
  }
  return prompts;
}

void check_stream_options(const json& body, const CompletionCall& call) {
  if (!call.stream && body.contains("stream_options") && !body["stream_options"].is_null()) {
    throw ApiError::bad_request("'stream_options' is only allowed when 'stream' is true", "stream_options");
  }
}

using ordered_json = nlohmann::ordered_json;

}  // namespace

CompletionCall parse_chat_request(const json& body, const ordered_json* ordered_body) {
  CompletionCall call;
  call.endpoint = Endpoint::kChat;
  bool has_messages = false;
  std::optional<int64_t> top_logprobs;
  for_each_field(body, [&](const std::string& key, const json& value) {
    if (common_field(key, value, body, call)) return;
    if (key == "messages") {
      call.messages = chat_messages(value);
      has_messages = true;
    } else if (key == "logprobs") {
      call.logprobs = boolean(value, key);
    } else if (key == "top_logprobs") {
      top_logprobs = integer_in(value, key, 0, 20);
    } else if (key == "chat_template_kwargs") {  // extension (vLLM), e.g. {"enable_thinking": false}
      if (!value.is_object()) throw wrong_type(key, "an object", value);
      call.chat_template_kwargs = nlohmann::ordered_json::parse(value.dump());
    } else if (!is_structured_field(key)) {
      other_field(key, value, call);
    }
  });
  if (!has_messages) throw ApiError::bad_request("'messages' is required", "messages");
  parse_structured_fields(ordered_body ? *ordered_body : ordered_json::parse(body.dump()), call);
  if (top_logprobs) {
    if (!call.logprobs) {
      throw ApiError::bad_request("'top_logprobs' needs 'logprobs' set to true", "top_logprobs");
    }
    call.top_logprobs = *top_logprobs;
  }
  check_stream_options(body, call);
  return call;
}

CompletionCall parse_completion_request(const json& body) {
  CompletionCall call;
  call.endpoint = Endpoint::kCompletion;
  call.max_tokens = 16;  // the legacy completions API's default (OpenAI and vLLM)
  bool has_prompt = false;
  for_each_field(body, [&](const std::string& key, const json& value) {
    if (common_field(key, value, body, call)) return;
    if (key == "prompt") {
      call.prompts = completion_prompts(value);
      has_prompt = true;
    } else if (key == "response_format" || key == "grammar") {
      ordered_json one = ordered_json::object();
      one[key] = ordered_json::parse(value.dump());
      parse_structured_fields(one, call);
    } else if (key == "logprobs") {
      if (value.is_boolean()) throw wrong_type(key, "an integer (the number of top alternatives)", value);
      call.logprobs = true;
      call.top_logprobs = integer_in(value, key, 0, 20);
    } else {
      other_field(key, value, call);
    }
  });
  if (!has_prompt) throw ApiError::bad_request("'prompt' is required", "prompt");
  if (call.prompts.size() * static_cast<size_t>(call.n) > static_cast<size_t>(kMaxChoices)) {
    throw ApiError::bad_request(
        "at most " + std::to_string(kMaxChoices) + " choices (prompts times n) per request", "n");
  }
  check_stream_options(body, call);
  return call;
}

SamplingParams sampling_params(const CompletionCall& call, const SamplingParams& defaults,
                               int64_t vocab_size) {
  SamplingParams params = defaults;
  const SamplingFields& s = call.sampling;
  if (s.temperature) params.temperature = *s.temperature;
  if (s.top_p) params.top_p = *s.top_p;
  if (s.top_k) params.top_k = *s.top_k;
  if (s.min_p) params.min_p = *s.min_p;
  if (s.repetition_penalty) params.repetition_penalty = *s.repetition_penalty;
  if (s.presence_penalty) params.presence_penalty = *s.presence_penalty;
  if (s.frequency_penalty) params.frequency_penalty = *s.frequency_penalty;
  params.logit_bias = s.logit_bias;
  params.seed = s.seed;
  params.logprobs = call.logprobs;
  params.top_logprobs = call.top_logprobs;
  try {
    params.validate(vocab_size);
  } catch (const Error& e) {
    const std::string message = e.what();
    std::optional<std::string> param;
    for (const char* field : {"temperature", "top_k", "top_p", "min_p", "repetition_penalty",
                              "presence_penalty", "frequency_penalty", "logit_bias", "top_logprobs"}) {
      if (message.find(field) != std::string::npos) {
        param = field;
        break;
      }
    }
    throw ApiError::bad_request(message, param);
  }
  return params;
}

}  // namespace torchllm::server
