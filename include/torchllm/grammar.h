#pragma once

// Grammar-constrained decoding: a grammar (GBNF, as llama.cpp writes it, or made from a JSON Schema) and, per
// sequence, a matcher that says which tokens may come next. Pure C++: the sampler turns the matcher's mask
// into -inf logits.

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <utility>
#include <vector>

namespace torchllm {

namespace grammar {
struct ByteGrammar;
class Automaton;
}  // namespace grammar

// A parsed grammar, immutable and shared by every sequence that uses it.
class Grammar {
 public:
  // Throws Error(kInvalidArgument) with the line and column of what is wrong.
  static std::shared_ptr<const Grammar> from_gbnf(const std::string& gbnf);
  ~Grammar();
  const grammar::ByteGrammar& rules() const { return *rules_; }
  const std::string& source() const { return source_; }

 private:
  friend class GrammarMatcher;
  Grammar() = default;
  std::unique_ptr<grammar::ByteGrammar> rules_;
  std::string source_;
  // The grammar's lazily built automaton and mask cache, shared by its matchers (n choices of a request, or
  // every request of a cached grammar): a state one of them reached is free for the others. Guarded by its
  // own mutex.
  std::shared_ptr<grammar::Automaton> automaton_;
};

// GBNF that accepts exactly the JSON texts valid against `schema` that are written with the properties in
// the schema's order (compact or lightly spaced). Supported: type (and lists of types), properties, required,
// additionalProperties (false, true or a schema; absent means false when properties are given, as strict
// structured outputs do), enum, const, items, prefixItems, minItems/maxItems, minLength/maxLength, anyOf,
// oneOf (as anyOf), allOf of one schema, $ref to #/$defs/... or #/definitions/..., string pattern (a regular
// expression subset: literals, classes, ., groups, |, * + ? {m,n}, ^ $), format date, time, date-time, uuid;
// annotations (title, description, default, examples, $schema, $id, $comment) are ignored. Anything else is
// Error(kUnsupported) naming the keyword and where it is; a malformed schema is Error(kInvalidArgument).
std::string json_schema_to_gbnf(const nlohmann::ordered_json& schema);

// The rules of several schemas in one grammar without a root: schema i's values are the rule names[i]
// (names must be GBNF rule names that no schema's own rules use; "root" and names ending in a digit are safe
// choices for a caller's root). For a caller that writes its own root around them (tool calls).
std::string json_schemas_to_gbnf(const std::vector<std::pair<std::string, nlohmann::ordered_json>>& schemas);

// A GBNF literal ("...") spelling `text` byte for byte.
std::string gbnf_literal(const std::string& text);

// GBNF for any JSON object (OpenAI's response_format {"type": "json_object"}).
std::string json_object_gbnf();

// Every token's bytes, arranged as a trie (tokens sharing a prefix share its nodes) so that a mask visits a
// shared prefix once. Built once per tokenizer; immutable.
class TokenTrie {
 public:
  // token_bytes[id]: the bytes the token stands for; empty for tokens a grammar never produces (special
  // tokens). end_tokens: ids that end a generation (allowed once the grammar is complete).
  TokenTrie(const std::vector<std::string>& token_bytes, std::vector<int64_t> end_tokens);

  int64_t vocab_size() const { return vocab_size_; }
  size_t nodes() const { return byte_.size(); }
  const std::vector<int64_t>& end_tokens() const { return end_tokens_; }
  const std::string& bytes_of(int64_t token) const { return token_bytes_[static_cast<size_t>(token)]; }
  bool is_end(int64_t token) const;

 private:
  friend class GrammarMatcher;
  int64_t vocab_size_ = 0;
  std::vector<std::string> token_bytes_;
  std::vector<int64_t> end_tokens_;
  // Nodes in depth-first preorder; node 0 is the root (the empty prefix).
  std::vector<uint8_t> byte_;
  std::vector<uint32_t> depth_;
  std::vector<uint32_t> subtree_end_;  // one past the node's last descendant
  std::vector<uint32_t> token_begin_;  // tokens_[token_begin_[i], token_begin_[i + 1]) end at node i
  std::vector<int32_t> tokens_;
};

// One sequence's position in a grammar. Not thread-safe; used by the thread that samples.
class GrammarMatcher {
 public:
  GrammarMatcher(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const TokenTrie> trie);
  ~GrammarMatcher();

  // mask[0, vocab) set to 1 for each token that can continue the output (an end token only where the grammar
  // is complete), 0 otherwise; mask_size may exceed the vocabulary (those ids get 0).
  void fill_mask(uint8_t* mask, int64_t mask_size);
  // Advances by a token. Throws Error(kInvalidArgument) when the token cannot continue the output.
  void accept_token(int64_t token);
  // Advances by bytes; false (and no change) when they cannot continue the output.
  bool accept_bytes(const std::string& bytes);
  // Whether accept_bytes(bytes) would succeed, without advancing.
  bool can_accept(const std::string& bytes);
  // The output so far is a complete sentence of the grammar.
  bool can_end() const;
  // Complete, and nothing more can follow (or an end token was accepted): the generation is over.
  bool finished() const;

 private:
  std::shared_ptr<const Grammar> grammar_;
  std::shared_ptr<const TokenTrie> trie_;
  std::shared_ptr<grammar::Automaton> automaton_;
  int32_t state_ = 0;
  bool ended_ = false;
};

}  // namespace torchllm
