#pragma once

// The bytes each token stands for, which a grammar matcher needs (decode() of one token is not enough: a
// byte-level token may hold half a UTF-8 character, and SentencePiece decoders drop a leading space).

#include <string>
#include <vector>

#include "torchllm/tokenizer.h"

namespace torchllm {

// token_bytes[id] for every id below vocab_size(): byte-level BPE spellings (GPT-2's alphabet) mapped back to
// bytes, SentencePiece pieces with ▁ as a space and <0xNN> as that byte, added tokens as their text; empty
// for special tokens and ids the tokenizer does not know.
std::vector<std::string> token_bytes(const Tokenizer& tokenizer);

}  // namespace torchllm
