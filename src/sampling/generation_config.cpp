#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "torchllm/error.h"
#include "torchllm/json_file.h"
#include "torchllm/sampler.h"

namespace torchllm {
namespace {

bool has(const nlohmann::json& json, const char* key) {
  return json.contains(key) && !json.at(key).is_null();
}

double number_field(const nlohmann::json& json, const char* key, double fallback, const std::string& where) {
  if (!has(json, key)) return fallback;
  if (!json.at(key).is_number()) throw Error::corrupt(where + ": field '" + key + "' must be a number");
  return json.at(key).get<double>();
}

}  // namespace

SamplingParams load_sampling_defaults(const std::string& model_dir) {
  SamplingParams params;  // OpenAI's defaults
  const std::string path = model_dir + "/generation_config.json";
  if (!file_exists(path)) return params;
  const nlohmann::json json = read_json_file(path);
  if (!json.is_object()) throw Error::corrupt(path + ": expected a JSON object");

  // Only an explicit do_sample=false means greedy: many files list just token ids, and those should keep
  // OpenAI's temperature 1 rather than transformers' own do_sample default.
  bool do_sample = true;
  if (has(json, "do_sample")) {
    if (!json.at("do_sample").is_boolean())
      throw Error::corrupt(path + ": field 'do_sample' must be true or false");
    do_sample = json.at("do_sample").get<bool>();
  }
  if (do_sample) {
    // transformers' greedy search ignores these when do_sample is false, though files often set them anyway.
    params.temperature = number_field(json, "temperature", params.temperature, path);
    params.top_p = number_field(json, "top_p", params.top_p, path);
    params.min_p = number_field(json, "min_p", params.min_p, path);
    if (has(json, "top_k")) {
      if (!json.at("top_k").is_number_integer())
        throw Error::corrupt(path + ": field 'top_k' must be an integer");
      params.top_k = json.at("top_k").get<int64_t>();
    }
  } else {
    params.temperature = 0;
  }
  // A logits processor in transformers, so it applies to greedy decoding too.
  params.repetition_penalty = number_field(json, "repetition_penalty", params.repetition_penalty, path);

  try {
    params.validate(
        std::numeric_limits<int64_t>::max());  // no logit_bias here: the vocabulary does not matter
  } catch (const Error& e) {
    throw Error::corrupt(path + ": " + e.what());
  }
  return params;
}

}  // namespace torchllm
