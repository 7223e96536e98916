#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "torchllm/error.h"

namespace torchllm::tokenizer::hf {

// Field readers for tokenizer.json components: a missing or null field takes the default tokenizers uses, a
// field of the wrong type is an Error(kCorruptInput) naming the component.

inline bool bool_field(const nlohmann::json& j, const char* key, bool fallback, const std::string& what) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_boolean()) throw Error::corrupt(what + ": '" + key + "' must be true or false");
  return j[key].get<bool>();
}

inline std::string string_field(const nlohmann::json& j, const char* key, const std::string& fallback,
                                const std::string& what) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_string()) throw Error::corrupt(what + ": '" + key + "' must be a string");
  return j[key].get<std::string>();
}

inline const nlohmann::json& required_field(const nlohmann::json& j, const char* key,
                                            const std::string& what) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) {
    throw Error::corrupt(what + ": missing '" + key + "'");
  }
  return j[key];
}

inline std::string component_type(const nlohmann::json& j, const std::string& what) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) {
    throw Error::corrupt(what + " must be an object with a \"type\"");
  }
  return j["type"].get<std::string>();
}

}  // namespace torchllm::tokenizer::hf
