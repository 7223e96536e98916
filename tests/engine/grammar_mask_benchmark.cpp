// Per-step cost of grammar masks on a real vocabulary: builds the token trie from a tokenizer, then follows a
// JSON reply token by token through a JSON-schema grammar, timing each fill_mask: on a new matcher (every
// state met for the first time) and on a second matcher of the same grammar (states already seen).
//   grammar_mask_benchmark TOKENIZER_PATH
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "engine/token_bytes.h"
#include "torchllm/grammar.h"
#include "torchllm/tokenizer.h"

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

struct Timing {
  double mean = 0, max = 0, median = 0;
};

Timing walk(const std::shared_ptr<const torchllm::Grammar>& grammar,
            const std::shared_ptr<const torchllm::TokenTrie>& trie,
            const std::vector<torchllm::TokenId>& reply, int64_t vocab) {
  auto m = std::make_unique<torchllm::GrammarMatcher>(grammar, trie);
  std::vector<uint8_t> mask(static_cast<size_t>(vocab));
  std::vector<double> steps;
  for (torchllm::TokenId id : reply) {
    const auto start = Clock::now();
    m->fill_mask(mask.data(), vocab);
    steps.push_back(ms_since(start));
    if (!mask[static_cast<size_t>(id)]) {
      std::fprintf(stderr, "the grammar refuses token %d of the reply\n", id);
      std::exit(1);
    }
    m->accept_token(id);
  }
  Timing t;
  for (double s : steps) t.mean += s / static_cast<double>(steps.size());
  t.max = *std::max_element(steps.begin(), steps.end());
  std::sort(steps.begin(), steps.end());
  t.median = steps[steps.size() / 2];
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: grammar_mask_benchmark TOKENIZER_PATH\n");
    return 2;
  }
  auto tokenizer = torchllm::load_tokenizer(argv[1]);
  auto start = Clock::now();
  const std::vector<std::string> bytes = torchllm::token_bytes(*tokenizer);
  const double bytes_ms = ms_since(start);
  start = Clock::now();
  const std::vector<torchllm::TokenId>& eos = tokenizer->special_tokens().eos;
  auto trie = std::make_shared<torchllm::TokenTrie>(bytes, std::vector<int64_t>(eos.begin(), eos.end()));
  const double trie_ms = ms_since(start);
  const auto schema = nlohmann::ordered_json::parse(R"({
    "type": "object",
    "properties": {
      "name": {"type": "string"}, "age": {"type": "integer"},
      "email": {"type": "string", "format": "uuid"},
      "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
      "address": {"type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "string",
                  "pattern": "^[0-9]{5}$"}}, "required": ["city", "zip"], "additionalProperties": false}},
    "required": ["name", "age", "tags", "address"], "additionalProperties": false})");
  const std::string reply_text =
      "{\"name\": \"Ada Lovelace, Countess of Lovelace\", \"age\": 36, \"email\": "
      "\"123e4567-e89b-12d3-a456-426614174000\", \"tags\": [\"mathematics\", \"analytical engine\", "
      "\"poetry\"], "
      "\"address\": {\"city\": \"London\", \"zip\": \"12345\"}}";
  const std::vector<torchllm::TokenId> reply = tokenizer->encode(reply_text, {false, false});
  start = Clock::now();
  auto grammar = torchllm::Grammar::from_gbnf(torchllm::json_schema_to_gbnf(schema));
  const double grammar_ms = ms_since(start);
  const auto vocab = static_cast<int64_t>(bytes.size());
  const Timing cold = walk(grammar, trie, reply, vocab);
  // A second matcher of the same grammar finds the first one's states and masks already made.
  const Timing warm = walk(grammar, trie, reply, vocab);
  std::printf("vocabulary %lld tokens, trie %zu nodes; token bytes %.1f ms, trie %.1f ms, grammar %.2f ms\n",
              static_cast<long long>(vocab), trie->nodes(), bytes_ms, trie_ms, grammar_ms);
  std::printf(
      "reply of %zu tokens; per-step mask on a new matcher: mean %.3f ms, median %.3f ms, max %.3f ms\n",
      reply.size(), cold.mean, cold.median, cold.max);
  std::printf("again on a new matcher (same grammar): mean %.3f ms, median %.3f ms, max %.3f ms\n", warm.mean,
              warm.median, warm.max);
  return 0;
}
