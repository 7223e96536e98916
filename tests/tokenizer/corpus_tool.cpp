// Writes the tokenizer test corpus as JSON lines, {"i": index, "category": name, "fnv": hash, "hex": bytes},
// for tools/make_tokenizer_goldens.py:   tokenizer_corpus > corpus.jsonl
#include <cstdio>

#include "test_corpus.h"

int main() {
  const auto corpus = torchllm::tokenizer::testing::make_test_corpus();
  for (size_t i = 0; i < corpus.size(); ++i) {
    std::printf("{\"i\": %zu, \"category\": \"%s\", \"fnv\": \"%s\", \"hex\": \"%s\"}\n", i,
                corpus[i].category.c_str(), torchllm::tokenizer::testing::fnv1a_hex(corpus[i].text).c_str(),
                torchllm::tokenizer::testing::to_hex(corpus[i].text).c_str());
  }
  return 0;
}
