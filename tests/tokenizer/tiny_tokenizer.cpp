#include "tiny_tokenizer.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "tokenizer/hf/byte_level_alphabet.h"
#include "tokenizer/utf8.h"

namespace torchllm::tokenizer::testing {

nlohmann::json tiny_byte_level_tokenizer_json() {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) {
    std::string c;
    hf::append_byte_level(c, std::string(1, static_cast<char>(b)));
    vocab[c] = b;
  }
  const std::vector<std::pair<std::string, std::string>> merges = {
      {"h", "e"}, {"l", "l"},          {"he", "ll"},         {"hell", "o"},        {"\xC4\xA0", "w"},
      {"o", "r"}, {"\xC4\xA0w", "or"}, {"\xC4\xA0wor", "l"}, {"\xC4\xA0worl", "d"}};
  nlohmann::json merge_list = nlohmann::json::array();
  int id = 256;
  for (const auto& [left, right] : merges) {
    vocab[left + right] = id++;
    merge_list.push_back(left + " " + right);
  }
  nlohmann::json root = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens",
       {{{"id", 300},
         {"content", "<|end|>"},
         {"single_word", false},
         {"lstrip", false},
         {"rstrip", false},
         {"normalized", false},
         {"special", true}},
        {{"id", 301},
         {"content", "<think>"},
         {"single_word", false},
         {"lstrip", false},
         {"rstrip", false},
         {"normalized", false},
         {"special", false}}}},
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"},
           {"pattern", {{"Regex", R"('s|'t| ?\p{L}+| ?\p{N}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)"}}},
           {"behavior", "Isolated"},
           {"invert", false}},
          {{"type", "ByteLevel"},
           {"add_prefix_space", false},
           {"trim_offsets", false},
           {"use_regex", false}}}}}},
      {"post_processor", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}}},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}}},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"ignore_merges", false},
        {"vocab", vocab},
        {"merges", merge_list}}}};
  return root;
}

nlohmann::json tiny_metaspace_tokenizer_json() {
  nlohmann::json vocab = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
  char name[8];
  for (int b = 0; b < 256; ++b) {
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    vocab[name] = 3 + b;
  }
  int id = 259;
  for (const char* token : {"\xE2\x96\x81", "H", "e", "l", "o", "w", "r", "d", "\xE2\x96\x81H", "el",
                            "\xE2\x96\x81w", "or", "ld", "\xE2\x96\x81He", "ll", "\xE2\x96\x81Hell",
                            "\xE2\x96\x81Hello", "\xE2\x96\x81wor", "\xE2\x96\x81world"}) {
    vocab[token] = id++;
  }
  // Merges as ["left", "right"] pairs, the newer spelling (the byte-level tokenizer uses "left right").
  nlohmann::json merges = nlohmann::json::array();
  for (const auto& [left, right] :
       std::vector<std::pair<std::string, std::string>>{{"\xE2\x96\x81", "H"},
                                                        {"\xE2\x96\x81", "w"},
                                                        {"o", "r"},
                                                        {"l", "d"},
                                                        {"\xE2\x96\x81H", "e"},
                                                        {"l", "l"},
                                                        {"\xE2\x96\x81He", "ll"},
                                                        {"\xE2\x96\x81Hell", "o"},
                                                        {"\xE2\x96\x81w", "or"},
                                                        {"\xE2\x96\x81wor", "ld"}}) {
    merges.push_back(nlohmann::json::array({left, right}));
  }
  return {{"version", "1.0"},
          {"added_tokens",
           {{{"id", 0}, {"content", "<unk>"}, {"special", true}, {"normalized", false}},
            {{"id", 1}, {"content", "<s>"}, {"special", true}, {"normalized", false}},
            {{"id", 2}, {"content", "</s>"}, {"special", true}, {"normalized", false}}}},
          {"normalizer", nullptr},
          {"pre_tokenizer",
           {{"type", "Metaspace"},
            {"replacement", "\xE2\x96\x81"},
            {"prepend_scheme", "first"},
            {"split", false}}},
          {"post_processor",
           {{"type", "TemplateProcessing"},
            {"single",
             {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
              {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
            {"pair",
             {{{"Sequence", {{"id", "A"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
            {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}}}}}},
          {"decoder",
           {{"type", "Sequence"},
            {"decoders",
             {{{"type", "Replace"}, {"pattern", {{"String", "\xE2\x96\x81"}}}, {"content", " "}},
              {{"type", "ByteFallback"}},
              {{"type", "Fuse"}},
              {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}},
          {"model",
           {{"type", "BPE"},
            {"unk_token", "<unk>"},
            {"fuse_unk", true},
            {"byte_fallback", true},
            {"vocab", vocab},
            {"merges", merges}}}};
}

std::string write_tokenizer_directory(const std::string& name,
                                      const std::vector<std::pair<std::string, nlohmann::json>>& files) {
  const std::string directory = std::string(TORCHLLM_TOKENIZER_WORK_DIR) + "/fixtures/" + name;
  std::system(("rm -rf '" + directory + "' && mkdir -p '" + directory + "'").c_str());
  for (const auto& [file, content] : files) std::ofstream(directory + "/" + file) << content.dump(1);
  return directory;
}

}  // namespace torchllm::tokenizer::testing
