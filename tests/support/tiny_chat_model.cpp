#include "tiny_chat_model.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "tiny_checkpoint.h"

namespace torchllm::testing {
namespace {

// GPT-2's printable stand-in for each byte, as UTF-8.
std::string byte_level_char(int byte) {
  const bool printable = (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) || byte >= 0xAE;
  int code_point = byte;
  if (!printable) {
    int n = 0;
    for (int b = 0; b < byte; ++b) {
      if (!((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE)) ++n;
    }
    code_point = 256 + n;
  }
  std::string out;
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
  return out;
}

const char* const kChatTemplate =
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}"
    "{%- endif %}{%- endif %}";

}  // namespace

void write_tiny_chat_model(const std::string& dir, uint64_t seed, const std::string& storage_dtype) {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_level_char(b)] = b;
  const std::string space = byte_level_char(' ');
  const std::vector<std::pair<std::string, std::string>> merges = {
      {"t", "h"},   {"th", "e"}, {space, "the"},      {"i", "n"}, {"e", "r"}, {"a", "n"},   {space, "a"},
      {"o", "n"},   {"r", "e"},  {space, "t"},        {"l", "l"}, {"h", "e"}, {"he", "ll"}, {"hell", "o"},
      {space, "w"}, {"o", "r"},  {space + "w", "or"}, {"1", "2"}, {"2", "3"}};
  nlohmann::json merge_list = nlohmann::json::array();
  int id = 256;
  for (const auto& [left, right] : merges) {
    if (!vocab.contains(left + right)) vocab[left + right] = id++;
    merge_list.push_back(left + " " + right);
  }
  const std::vector<std::pair<std::string, bool>> added = {{"<|endoftext|>", true},
                                                           {"<|im_start|>", true},
                                                           {"<|im_end|>", true},
                                                           {"<think>", false},
                                                           {"</think>", false}};
  const int first_added = id;
  nlohmann::json added_tokens = nlohmann::json::array();
  nlohmann::json added_decoder = nlohmann::json::object();
  for (const auto& [content, special] : added) {
    added_tokens.push_back({{"id", id},
                            {"content", content},
                            {"single_word", false},
                            {"lstrip", false},
                            {"rstrip", false},
                            {"normalized", false},
                            {"special", special}});
    added_decoder[std::to_string(id)] = {{"content", content}, {"special", special}};
    ++id;
  }
  const int endoftext = first_added, im_end = first_added + 2;
  const nlohmann::json byte_level = {
      {"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}};
  const nlohmann::json tokenizer = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added_tokens},
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"},
           {"pattern", {{"Regex", R"('s|'t| ?\p{L}+| ?\p{N}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)"}}},
           {"behavior", "Isolated"},
           {"invert", false}},
          byte_level}}}},
      {"post_processor", byte_level},
      {"decoder", byte_level},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"ignore_merges", false},
        {"vocab", vocab},
        {"merges", merge_list}}}};
  std::ofstream(dir + "/tokenizer.json") << tokenizer.dump(1);
  const nlohmann::json tokenizer_config = {
      {"added_tokens_decoder", added_decoder}, {"bos_token", nullptr},   {"eos_token", "<|im_end|>"},
      {"pad_token", "<|endoftext|>"},          {"add_bos_token", false}, {"model_max_length", 256},
      {"chat_template", kChatTemplate}};
  std::ofstream(dir + "/tokenizer_config.json") << tokenizer_config.dump(1);
  const nlohmann::json generation_config = {{"do_sample", true},
                                            {"temperature", 0.6},
                                            {"top_k", 20},
                                            {"top_p", 0.95},
                                            {"eos_token_id", {im_end, endoftext}},
                                            {"pad_token_id", endoftext}};
  std::ofstream(dir + "/generation_config.json") << generation_config.dump(1);

  nlohmann::json config = tiny_config_json("qwen3");
  config["vocab_size"] = (id + 63) / 64 * 64;  // padded like real checkpoints: ids past the tokenizer exist
  config["eos_token_id"] = im_end;
  config["bos_token_id"] = endoftext;
  write_tiny_checkpoint(dir, config, seed, storage_dtype, 0.1);
}

}  // namespace torchllm::testing
