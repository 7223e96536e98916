#include "tokenizer/gguf_tokenizer.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "tokenizer/hf/hf_tokenizer.h"
#include "torchllm/error.h"
#include "torchllm/gguf_model_files.h"

namespace torchllm::tokenizer {
namespace {

// llama_token_type (llama.h)
constexpr int64_t kNormal = 1, kControl = 3, kUserDefined = 4;

// llama-vocab.cpp's regex_exprs for each pre-tokenizer, applied one after another (each splits the pieces
// the previous one made), and the flags it sets with them.
struct PreTokenizer {
  std::vector<const char*> names;  // tokenizer.ggml.pre values
  std::vector<const char*> regexes;
  bool ignore_merges;
  bool add_bos;  // llama.cpp's default when tokenizer.ggml.add_bos_token is absent
};

const char* const kGpt2Regex =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";

const std::vector<PreTokenizer>& pre_tokenizers() {
  static const std::vector<PreTokenizer> kPre = {
      {{"default"}, {"[\\p{P}\\$\\+<=>\\^~\\|]+", kGpt2Regex, "\\p{N}+", "[0-9][0-9][0-9]"}, false, false},
      {{"llama3", "llama-v3", "llama-bpe"},
       {"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|"
        " "
        "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
       true,
       true},
      {{"qwen2", "deepseek-r1-qwen"},
       {"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
        "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
       false,
       false},
      {{"gpt-2", "phi-2"}, {kGpt2Regex}, false, false},
      {{"smollm"}, {"\\p{N}", kGpt2Regex}, false, false},
  };
  return kPre;
}

std::string supported_pre() {
  std::string out;
  for (const PreTokenizer& p : pre_tokenizers()) {
    for (const char* n : p.names) out += std::string(out.empty() ? "" : ", ") + n;
  }
  return out;
}

const PreTokenizer& find_pre(const std::string& name, const std::string& where) {
  for (const PreTokenizer& p : pre_tokenizers()) {
    for (const char* n : p.names) {
      if (name == n) return p;
    }
  }
  throw Error::unsupported(where + ": GGUF pre-tokenizer '" + name +
                           "' is not supported (supported: " + supported_pre() + ")");
}

std::optional<bool> optional_bool(const GgufMetadata& m, const std::string& key) {
  if (!m.find(key)) return std::nullopt;
  return m.get_bool(key);
}

std::vector<int64_t> token_types(const GgufMetadata& m, size_t vocab, const std::string& where) {
  std::vector<int64_t> types(vocab, kNormal);
  if (!m.find("tokenizer.ggml.token_type")) return types;
  const std::vector<GgufValue>& items = m.get_array("tokenizer.ggml.token_type", GgufType::kI32);
  if (items.size() != vocab) {
    throw Error::corrupt(where + ": tokenizer.ggml.token_type has " + std::to_string(items.size()) +
                         " entries for " + std::to_string(vocab) + " tokens");
  }
  for (size_t i = 0; i < vocab; ++i) types[i] = items[i].i;
  return types;
}

// llama-vocab.cpp's end-of-generation names: whatever type the file gives them, llama.cpp makes these tokens
// control tokens (matched as one token in text) and ends generation on them.
bool ends_generation(const std::string& token) {
  static const std::set<std::string> kNames = {"<|eot_id|>",
                                               "<|im_end|>",
                                               "<|end|>",
                                               "<|return|>",
                                               "<|call|>",
                                               "<|flush|>",
                                               "<|calls|>",
                                               "<end_of_turn>",
                                               "<|endoftext|>",
                                               "</s>",
                                               "<|eom_id|>",
                                               "<EOT>",
                                               "_<EOT>",
                                               "[EOT]",
                                               "[EOS]",
                                               "<|end_of_text|>",
                                               "<end_of_utterance>",
                                               "<eos>",
                                               "<turn|>",
                                               "<|tool_response>",
                                               "<\xEF\xBD\x9C"
                                               "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
                                               "[e~["};
  return kNames.count(token) != 0;
}

nlohmann::json added_tokens(const std::vector<std::string>& tokens, const std::vector<int64_t>& types) {
  // llama.cpp matches control and user-defined tokens in the text before the model sees it.
  nlohmann::json added = nlohmann::json::array();
  for (size_t i = 0; i < tokens.size(); ++i) {
    const bool control = types[i] == kControl || ends_generation(tokens[i]);
    if (!control && types[i] != kUserDefined) continue;
    added.push_back({{"id", i},
                     {"content", tokens[i]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", control}});
  }
  return added;
}

nlohmann::json vocab_object(const std::vector<std::string>& tokens) {
  nlohmann::json vocab = nlohmann::json::object();
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (!vocab.contains(tokens[i])) vocab[tokens[i]] = i;
  }
  return vocab;
}

// BOS (and EOS) as TemplateProcessing adds them when encode() is asked for special tokens.
nlohmann::json post_processor(const std::vector<std::string>& tokens, std::optional<int64_t> bos,
                              bool add_bos, std::optional<int64_t> eos, bool add_eos) {
  nlohmann::json single = nlohmann::json::array();
  nlohmann::json specials = nlohmann::json::object();
  auto special = [&](int64_t id) {
    single.push_back({{"SpecialToken", {{"id", tokens[id]}, {"type_id", 0}}}});
    specials[tokens[id]] = {{"id", tokens[id]}, {"ids", {id}}, {"tokens", {tokens[id]}}};
  };
  if (add_bos && bos) special(*bos);
  single.push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
  if (add_eos && eos) special(*eos);
  return {{"type", "TemplateProcessing"}, {"single", single}, {"pair", single}, {"special_tokens", specials}};
}

// SentencePiece keeps no merges: llama.cpp merges the adjacent pair whose union is the token with the best
// score. As merge ranks: every split of every normal token into two tokens, best merged score first.
nlohmann::json spm_merges(const std::vector<std::string>& tokens, const std::vector<int64_t>& types,
                          const std::vector<float>& scores) {
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (types[i] == kNormal || types[i] == kUserDefined) index.emplace(tokens[i], i);
  }
  struct Merge {
    float score;
    size_t merged;
    size_t left_id;
    std::string left, right;
  };
  std::vector<Merge> merges;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (types[i] != kNormal) continue;
    const std::string& t = tokens[i];
    for (size_t cut = 1; cut < t.size(); ++cut) {
      if ((static_cast<unsigned char>(t[cut]) & 0xC0) == 0x80) continue;  // inside a UTF-8 sequence
      auto l = index.find(t.substr(0, cut));
      auto r = index.find(t.substr(cut));
      if (l != index.end() && r != index.end())
        merges.push_back({scores[i], i, l->second, l->first, r->first});
    }
  }
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.merged != b.merged) return a.merged < b.merged;
    return a.left_id < b.left_id;
  });
  nlohmann::json out = nlohmann::json::array();
  for (const Merge& m : merges) out.push_back({m.left, m.right});
  return out;
}

}  // namespace

nlohmann::json gguf_tokenizer_json(const GgufMetadata& m, const std::string& where) {
  if (!m.find("tokenizer.ggml.model")) {
    throw Error::corrupt(where + ": GGUF metadata has no tokenizer (tokenizer.ggml.model)");
  }
  const std::string model = m.get_string("tokenizer.ggml.model");
  if (model != "gpt2" && model != "llama") {
    throw Error::unsupported(where + ": GGUF tokenizer model '" + model +
                             "' is not supported (supported: gpt2, llama)");
  }
  const std::vector<std::string> tokens = m.get_string_array("tokenizer.ggml.tokens");
  if (tokens.empty()) throw Error::corrupt(where + ": tokenizer.ggml.tokens is empty");
  const std::vector<int64_t> types = token_types(m, tokens.size(), where);
  const std::optional<int64_t> bos = gguf_special_token_id(m, "bos", tokens.size());
  const std::optional<int64_t> eos = gguf_special_token_id(m, "eos", tokens.size());
  const bool add_eos = optional_bool(m, "tokenizer.ggml.add_eos_token").value_or(false);

  nlohmann::json j = {{"version", "1.0"}, {"added_tokens", added_tokens(tokens, types)}};
  if (model == "gpt2") {
    const std::string pre_name =
        m.find("tokenizer.ggml.pre") ? m.get_string("tokenizer.ggml.pre") : std::string("default");
    const PreTokenizer& pre = find_pre(pre_name, where);
    const nlohmann::json vocab = vocab_object(tokens);
    nlohmann::json merges = nlohmann::json::array();
    if (m.find("tokenizer.ggml.merges")) {
      for (const std::string& merge : m.get_string_array("tokenizer.ggml.merges")) {
        const size_t space = merge.find(' ', 1);  // as llama-vocab.cpp: the first space after the first byte
        if (space == std::string::npos) throw Error::corrupt(where + ": merge '" + merge + "' has no space");
        std::string left = merge.substr(0, space), right = merge.substr(space + 1);
        // llama.cpp loads any merge; one whose parts or union are not tokens can only end in the parts'
        // bytes there, and tokenizer.json cannot hold it: leave it out.
        if (!vocab.contains(left) || !vocab.contains(right) || !vocab.contains(left + right)) continue;
        merges.push_back({std::move(left), std::move(right)});
      }
    }
    j["model"] = {{"type", "BPE"},          {"vocab", vocab},    {"merges", merges},
                  {"byte_fallback", false}, {"fuse_unk", false}, {"ignore_merges", pre.ignore_merges}};
    nlohmann::json steps = nlohmann::json::array();
    for (const char* regex : pre.regexes) {
      steps.push_back(
          {{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}});
    }
    steps.push_back(
        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}});
    j["normalizer"] = nullptr;
    j["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", steps}};
    j["decoder"] = {
        {"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}};
    const bool add_bos = optional_bool(m, "tokenizer.ggml.add_bos_token").value_or(pre.add_bos);
    j["post_processor"] = post_processor(tokens, bos, add_bos, eos, add_eos);
  } else {
    std::vector<float> scores(tokens.size(), 0.0f);
    if (m.find("tokenizer.ggml.scores")) {
      const std::vector<GgufValue>& items = m.get_array("tokenizer.ggml.scores", GgufType::kF32);
      if (items.size() != tokens.size())
        throw Error::corrupt(where + ": tokenizer.ggml.scores has the wrong length");
      for (size_t i = 0; i < items.size(); ++i) scores[i] = static_cast<float>(items[i].f);
    }
    const int64_t unk = gguf_special_token_id(m, "unk", tokens.size()).value_or(0);
    const bool space_prefix = optional_bool(m, "tokenizer.ggml.add_space_prefix").value_or(true);
    j["model"] = {{"type", "BPE"},
                  {"vocab", vocab_object(tokens)},
                  {"merges", spm_merges(tokens, types, scores)},
                  {"byte_fallback", true},
                  {"fuse_unk", true},
                  {"unk_token", tokens[unk]}};
    nlohmann::json norm = nlohmann::json::array();
    if (space_prefix) norm.push_back({{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}});
    norm.push_back({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}});
    j["normalizer"] = {{"type", "Sequence"}, {"normalizers", norm}};
    j["pre_tokenizer"] = nullptr;
    nlohmann::json dec = nlohmann::json::array();
    dec.push_back({{"type", "Replace"}, {"pattern", {{"String", "\xE2\x96\x81"}}}, {"content", " "}});
    dec.push_back({{"type", "ByteFallback"}});
    dec.push_back({{"type", "Fuse"}});
    if (space_prefix) dec.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
    j["decoder"] = {{"type", "Sequence"}, {"decoders", dec}};
    const bool add_bos = optional_bool(m, "tokenizer.ggml.add_bos_token").value_or(true);
    j["post_processor"] = post_processor(tokens, bos, add_bos, eos, add_eos);
  }
  return j;
}

std::unique_ptr<Tokenizer> load_gguf_tokenizer(const std::string& path) {
  const GgufFile file(path);
  const GgufMetadata& m = file.metadata();
  std::unique_ptr<hf::HfTokenizer> result;
  try {
    result = hf::make_hf_tokenizer(gguf_tokenizer_json(m, path));
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.compare(0, path.size(), path) == 0) throw;
    throw Error(e.kind(), path + ": " + what);
  }
  const std::vector<std::string> tokens = m.get_string_array("tokenizer.ggml.tokens");
  const size_t vocab = tokens.size();
  SpecialTokenRoles roles;
  roles.bos = gguf_special_token_id(m, "bos", vocab);
  roles.pad = gguf_special_token_id(m, "pad", vocab);
  roles.unk = gguf_special_token_id(m, "unk", vocab);
  // Generation ends on llama.cpp's end-of-generation set: EOS, EOT, EOM and control tokens named like one.
  for (const char* role : {"eos", "eot", "eom"}) {
    if (auto id = gguf_special_token_id(m, role, vocab); id && !roles.is_eos(*id)) roles.eos.push_back(*id);
  }
  for (size_t id = 0; id < tokens.size(); ++id) {
    if (ends_generation(tokens[id]) && !roles.is_eos(static_cast<TokenId>(id)))
      roles.eos.push_back(static_cast<TokenId>(id));
  }
  const std::string model = m.get_string("tokenizer.ggml.model");
  roles.add_bos =
      optional_bool(m, "tokenizer.ggml.add_bos_token")
          .value_or(model == "llama" || (m.find("tokenizer.ggml.pre") &&
                                         find_pre(m.get_string("tokenizer.ggml.pre"), path).add_bos));
  result->set_special_tokens(std::move(roles));
  return result;
}

}  // namespace torchllm::tokenizer
