#pragma once

// A context-free grammar over bytes, compiled from GBNF (llama.cpp's grammar syntax). Character classes and
// literals are turned into sequences of byte sets at compile time (a code point range becomes the UTF-8 byte
// sequences that spell it), so the matcher never decodes UTF-8 and a token's bytes are matched one by one
// across token boundaries.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace torchllm::grammar {

// One symbol of an alternative: a set of bytes, a reference to a rule, or the end of the alternative.
struct Symbol {
  enum Kind : uint8_t { kEnd, kBytes, kRule };
  Kind kind = kEnd;
  uint32_t value = 0;  // kBytes: index into ByteGrammar::byte_sets; kRule: rule index
};

// 256 bits: which bytes a kBytes symbol matches.
struct ByteSet {
  std::array<uint64_t, 4> bits{};
  bool has(uint8_t b) const { return (bits[b >> 6] >> (b & 63)) & 1; }
  void add(uint8_t b) { bits[b >> 6] |= uint64_t{1} << (b & 63); }
  void add_range(uint8_t lo, uint8_t hi) {
    for (int b = lo; b <= hi; ++b) add(static_cast<uint8_t>(b));
  }
  bool operator==(const ByteSet& o) const { return bits == o.bits; }
};

struct ByteGrammar {
  // Every alternative of every rule, each followed by a kEnd symbol. A position in the grammar is an index
  // into this array.
  std::vector<Symbol> symbols;
  // rule index -> the positions where its alternatives start
  std::vector<std::vector<uint32_t>> rule_alternatives;
  std::vector<std::string> rule_names;  // for messages
  std::vector<ByteSet> byte_sets;
  uint32_t root = 0;
};

// Parses GBNF: `name ::= alternatives` rules, "literals" and [character classes] with llama.cpp's escapes
// (\n \r \t \\ \" \] \xHH \uHHHH \UHHHHHHHH), `.`, ( groups ), |, and the repetitions * + ? {m} {m,} {m,n};
// `#` comments. The start rule is `root`. Throws Error(kInvalidArgument) with the line and column of a syntax
// error, an undefined rule, a missing root, or a rule that can call itself without consuming input (left
// recursion, which a top-down matcher cannot run).
ByteGrammar parse_gbnf(const std::string& text);

}  // namespace torchllm::grammar
