// For each case of a schema case file: whether the schema's grammar accepts each of its valid and invalid
// texts, and random outputs drawn token by token through the grammar's masks. check_schema_grammar.py judges
// all of them with the jsonschema package (the reference validator).
//   grammar_walk CASES.json OUTPUTS_PER_CASE SEED  -> one JSON line per case on stdout
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "torchllm/error.h"
#include "torchllm/grammar.h"

using torchllm::Grammar;
using torchllm::GrammarMatcher;
using torchllm::TokenTrie;

namespace {

// Every byte, plus multi-byte pieces such as real vocabularies have, so that the walk crosses token
// boundaries inside strings, numbers and UTF-8 characters.
std::vector<std::string> walk_vocabulary() {
  std::vector<std::string> v;
  for (int b = 0; b < 256; ++b) v.emplace_back(1, static_cast<char>(b));
  for (const char* piece : {"\": ",   "\", \"", "{\"",  "\"}",  "]}", "},",    "[{",  "null",     "true",
                            "false",  "12",     "-0",   ".5",   "e+", "\\u00", "\\n", "\xC3\xA9", "\xCE",
                            "\xB1\"", "2024-",  "T12:", ":00Z", "-4", "ab",    "c.d", " \"",      "\n  "}) {
    v.emplace_back(piece);
  }
  v.emplace_back();  // the end token
  return v;
}

bool accepts(const std::shared_ptr<const Grammar>& g, const std::shared_ptr<const TokenTrie>& trie,
             const std::string& text) {
  GrammarMatcher m(g, trie);
  return m.accept_bytes(text) && m.can_end();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: grammar_walk CASES.json OUTPUTS_PER_CASE SEED\n";
    return 2;
  }
  try {
    std::ifstream in(argv[1]);
    const nlohmann::ordered_json cases = nlohmann::ordered_json::parse(in);
    const int outputs = std::stoi(argv[2]);
    std::mt19937 random(static_cast<uint32_t>(std::stoul(argv[3])));
    const std::vector<std::string> vocab = walk_vocabulary();
    const int64_t end = static_cast<int64_t>(vocab.size()) - 1;
    auto trie = std::make_shared<TokenTrie>(vocab, std::vector<int64_t>{end});
    for (const nlohmann::ordered_json& c : cases) {
      auto grammar = Grammar::from_gbnf(torchllm::json_schema_to_gbnf(c["schema"]));
      nlohmann::json line = {{"name", c["name"]}};
      for (const char* kind : {"valid", "invalid"}) {
        nlohmann::json verdicts = nlohmann::json::array();
        for (const auto& text : c[kind]) verdicts.push_back(accepts(grammar, trie, text.get<std::string>()));
        line[std::string("accepted_") + kind] = verdicts;
      }
      nlohmann::json drawn = nlohmann::json::array();
      int unfinished = 0;
      std::vector<uint8_t> mask(vocab.size());
      for (int k = 0; k < outputs; ++k) {
        GrammarMatcher m(grammar, trie);
        std::string text;
        bool done = false;
        for (int step = 0; step < 20000 && !done; ++step) {
          m.fill_mask(mask.data(), static_cast<int64_t>(mask.size()));
          std::vector<int64_t> allowed;
          for (int64_t id = 0; id < end; ++id) {
            if (mask[static_cast<size_t>(id)]) allowed.push_back(id);
          }
          // End as soon as allowed half of the time; otherwise a token, multi-byte pieces as often as bytes.
          if (mask[static_cast<size_t>(end)] && (allowed.empty() || random() % 2 == 0)) {
            m.accept_token(end);
            done = true;
            break;
          }
          if (allowed.empty()) {
            std::cerr << "grammar_walk: no token can continue " << text << "\n";
            return 1;
          }
          std::vector<int64_t> pieces;
          for (int64_t id : allowed) {
            if (id >= 256) pieces.push_back(id);
          }
          const std::vector<int64_t>& pool = !pieces.empty() && random() % 2 == 0 ? pieces : allowed;
          const int64_t id = pool[random() % pool.size()];
          m.accept_token(id);
          text += vocab[static_cast<size_t>(id)];
          done = m.finished();
        }
        if (done) {
          drawn.push_back(text);
        } else {
          ++unfinished;
        }
      }
      line["outputs"] = drawn;
      line["unfinished"] = unfinished;
      std::cout << line.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace) << "\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "grammar_walk: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
