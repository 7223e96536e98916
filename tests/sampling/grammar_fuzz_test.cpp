// A fuzz loop over the grammar engine, built with AddressSanitizer and UBSan: random JSON schemas through the
// converter, parser and matcher, random token streams against the masks (a token is allowed exactly when the
// matcher can take its bytes), and mutated GBNF texts (each parses or is refused with an Error, never worse).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "torchllm/error.h"
#include "torchllm/grammar.h"

namespace torchllm {
namespace {

using json = nlohmann::ordered_json;

class SchemaMaker {
 public:
  explicit SchemaMaker(std::mt19937& random) : random_(random) {}

  json make(int depth) {
    const int kind = pick(depth > 3 ? 6 : 11);
    switch (kind) {
      case 0:
        return {{"type", "integer"}};
      case 1:
        return {{"type", "number"}};
      case 2:
        return {{"type", "boolean"}};
      case 3:
        return {{"type", "null"}};
      case 4:
        return string_schema();
      case 5:
        return {{"enum", json::array({"a", 1, nullptr, json::array({true})})}};
      case 6:
        return {{"const", json{{"k", pick(5)}}}};
      case 7: {
        json s = {{"type", "array"}, {"items", make(depth + 1)}};
        if (pick(2)) s["minItems"] = pick(3);
        if (pick(2)) s["maxItems"] = 3 + pick(3);
        return s;
      }
      case 8: {
        json props = json::object(), required = json::array();
        const int n = pick(4);
        for (int i = 0; i < n; ++i) {
          const std::string name = std::string(1, static_cast<char>('a' + i)) + (pick(3) == 0 ? "\"\\é" : "");
          props[name] = make(depth + 1);
          if (pick(2)) required.push_back(name);
        }
        json s = {{"type", "object"}, {"properties", props}, {"required", required}};
        const int extra = pick(3);
        if (extra == 1) s["additionalProperties"] = false;
        if (extra == 2) s["additionalProperties"] = make(depth + 1);
        return s;
      }
      case 9:
        return {{"anyOf", json::array({make(depth + 1), make(depth + 1)})}};
      default:
        return {{"type", json::array({"string", "null"})}};
    }
  }

 private:
  int pick(int n) { return static_cast<int>(random_() % static_cast<unsigned>(n)); }

  json string_schema() {
    static const char* const kPatterns[] = {"^a+b?$",       "[0-9]{2}", "^(x|y\\.z)*$", "\\w\\s",
                                            "^[^\"]{1,3}$", "(?=a)",    "^[a-"};
    switch (pick(5)) {
      case 0:
        return {{"type", "string"}, {"pattern", kPatterns[pick(7)]}};
      case 1:
        return {{"type", "string"}, {"format", pick(2) ? "date-time" : "uuid"}};
      case 2:
        return {{"type", "string"}, {"minLength", pick(3)}, {"maxLength", 2 + pick(4)}};
      default:
        return {{"type", "string"}};
    }
  }

  std::mt19937& random_;
};

std::vector<std::string> random_vocabulary(std::mt19937& random) {
  static const std::string kAlphabet = "{}[]\":, abe0123456789.-+truefalsnl\\u\n\xC3\xA9\xCE\xB1";
  std::vector<std::string> vocab;
  for (int b = 0; b < 256; b += 1 + static_cast<int>(random() % 3))
    vocab.emplace_back(1, static_cast<char>(b));
  for (int i = 0; i < 300; ++i) {
    std::string token;
    const size_t length = 1 + random() % 5;
    for (size_t k = 0; k < length; ++k) token += kAlphabet[random() % kAlphabet.size()];
    vocab.push_back(token);
  }
  vocab.emplace_back();  // end
  return vocab;
}

TEST(GrammarFuzz, RandomSchemasAndTokenStreams) {
  std::mt19937 random(20240611);
  int compiled = 0, refused = 0, steps = 0;
  for (int round = 0; round < 150; ++round) {
    SchemaMaker maker(random);
    const json schema = maker.make(0);
    std::shared_ptr<const Grammar> grammar;
    try {
      grammar = Grammar::from_gbnf(json_schema_to_gbnf(schema));
      ++compiled;
    } catch (const Error& e) {
      ++refused;
      EXPECT_TRUE(e.kind() == Error::Kind::kUnsupported || e.kind() == Error::Kind::kInvalidArgument)
          << e.what();
      continue;
    }
    const std::vector<std::string> vocab = random_vocabulary(random);
    const int64_t end = static_cast<int64_t>(vocab.size()) - 1;
    auto trie = std::make_shared<TokenTrie>(vocab, std::vector<int64_t>{end});
    GrammarMatcher m(grammar, trie);
    std::vector<uint8_t> mask(vocab.size() + 7);
    for (int step = 0; step < 60 && !m.finished(); ++step, ++steps) {
      m.fill_mask(mask.data(), static_cast<int64_t>(mask.size()));
      std::vector<int64_t> allowed;
      for (int64_t id = 0; id < end; ++id) {
        const bool ok = m.can_accept(vocab[static_cast<size_t>(id)]);
        ASSERT_EQ(mask[static_cast<size_t>(id)] != 0, ok) << schema.dump() << " token " << id;
        if (ok) allowed.push_back(id);
      }
      ASSERT_EQ(mask[static_cast<size_t>(end)] != 0, m.can_end());
      // A token the mask refuses is refused by accept_token too.
      const int64_t any = static_cast<int64_t>(random() % static_cast<unsigned>(end));
      if (!mask[static_cast<size_t>(any)]) {
        EXPECT_THROW(m.accept_token(any), Error);
      }
      if (allowed.empty()) break;  // this small vocabulary cannot go on; a real one has every byte
      m.accept_token(allowed[random() % allowed.size()]);
    }
  }
  EXPECT_GT(compiled, 50);
  std::printf("grammar fuzz: %d schemas compiled, %d refused, %d token steps\n", compiled, refused, steps);
}

TEST(GrammarFuzz, MutatedGbnf) {
  std::mt19937 random(99);
  const std::string base = json_schema_to_gbnf(json::parse(
      R"({"type":"object","properties":{"a":{"type":"string","pattern":"^[a-z]{1,3}$"},"b":{"type":"array",
          "items":{"anyOf":[{"type":"integer"},{"$ref":"#/$defs/n"}]}}},"$defs":{"n":{"type":"null"}}})"));
  static const char kBytes[] = "()[]{}|*+?\"\\:=-^.#\n 0123456789axyz,\xC3\xFF";
  int parsed = 0;
  for (int round = 0; round < 2000; ++round) {
    std::string text = base;
    const int edits = 1 + static_cast<int>(random() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = random() % text.size();
      switch (random() % 3) {
        case 0:
          text[at] = kBytes[random() % (sizeof kBytes - 1)];
          break;
        case 1:
          text.erase(at, 1 + random() % 3);
          break;
        default:
          text.insert(at, 1, kBytes[random() % (sizeof kBytes - 1)]);
          break;
      }
      if (text.empty()) text = "x";
    }
    try {
      auto g = Grammar::from_gbnf(text);
      ++parsed;
      std::vector<std::string> vocab;
      for (int b = 0; b < 256; ++b) vocab.emplace_back(1, static_cast<char>(b));
      GrammarMatcher m(g, std::make_shared<TokenTrie>(vocab, std::vector<int64_t>{}));
      m.accept_bytes("{\"a\": \"xy\", \"b\": [1, null]}");
      std::vector<uint8_t> mask(256);
      m.fill_mask(mask.data(), 256);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), Error::Kind::kInvalidArgument) << e.what();
    }
  }
  std::printf("grammar fuzz: %d of 2000 mutated grammars parsed\n", parsed);
}

}  // namespace
}  // namespace torchllm
