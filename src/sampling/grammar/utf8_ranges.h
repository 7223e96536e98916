#pragma once

// Code point ranges as the UTF-8 byte sequences that spell them: each sequence is a list of byte ranges, one
// per byte, and a code point is in the range exactly when its encoding matches one of the sequences.

#include <cstdint>
#include <utility>
#include <vector>

namespace torchllm::grammar {

using ByteRange = std::pair<uint8_t, uint8_t>;  // inclusive
using CodePointRange = std::pair<uint32_t, uint32_t>;

// Surrogates (U+D800..U+DFFF) are left out: UTF-8 cannot spell them. Ranges may overlap.
std::vector<std::vector<ByteRange>> utf8_sequences(const std::vector<CodePointRange>& ranges);

// The code points in [0, U+10FFFF] outside `ranges`.
std::vector<CodePointRange> complement(std::vector<CodePointRange> ranges);

// Appends the UTF-8 encoding of `cp` (at most U+10FFFF).
void append_utf8(std::vector<uint8_t>& out, uint32_t cp);

}  // namespace torchllm::grammar
