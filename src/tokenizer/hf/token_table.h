#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "torchllm/tokenizer.h"

namespace torchllm::tokenizer::hf {

// A vocabulary: token spelling <-> id, looked up by string_view without building strings (open addressing
// over one arena of spellings).
class TokenTable {
 public:
  // Returns false (and changes nothing) when `spelling` is already present.
  bool insert(std::string_view spelling, TokenId id);
  std::optional<TokenId> find(std::string_view spelling) const;
  // The spelling of `id`, or nullptr.
  const std::string_view* spelling(TokenId id) const;
  size_t size() const { return count_; }
  // Highest id + 1.
  size_t id_limit() const { return spellings_.size(); }

 private:
  void grow();
  size_t slot_of(std::string_view spelling) const;

  std::vector<std::string> chunks_;          // spellings live here; chunks never move their bytes
  std::vector<std::string_view> spellings_;  // by id; empty data() marks a missing id
  std::vector<TokenId> slots_;               // open addressing, kNoId = empty
  size_t count_ = 0;
};

}  // namespace torchllm::tokenizer::hf
