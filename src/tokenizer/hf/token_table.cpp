#include "tokenizer/hf/token_table.h"

#include <algorithm>

namespace torchllm::tokenizer::hf {
namespace {

constexpr TokenId kEmptySlot = -1;
constexpr size_t kChunkBytes = 1 << 20;

uint64_t hash_of(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h ^ (h >> 29);
}

}  // namespace

size_t TokenTable::slot_of(std::string_view spelling) const {
  const size_t mask = slots_.size() - 1;
  size_t slot = hash_of(spelling) & mask;
  while (slots_[slot] != kEmptySlot && spellings_[slots_[slot]] != spelling) slot = (slot + 1) & mask;
  return slot;
}

void TokenTable::grow() {
  std::vector<TokenId> old = std::move(slots_);
  slots_.assign(old.empty() ? 1024 : old.size() * 2, kEmptySlot);
  for (TokenId id : old) {
    if (id != kEmptySlot) slots_[slot_of(spellings_[id])] = id;
  }
}

bool TokenTable::insert(std::string_view spelling, TokenId id) {
  if (id < 0) return false;
  if ((count_ + 1) * 2 > slots_.size()) grow();
  const size_t slot = slot_of(spelling);
  if (slots_[slot] != kEmptySlot) return false;
  if (static_cast<size_t>(id) < spellings_.size() && spellings_[id].data() != nullptr) return false;
  if (chunks_.empty() || chunks_.back().size() + spelling.size() > chunks_.back().capacity()) {
    chunks_.emplace_back();
    chunks_.back().reserve(std::max(kChunkBytes, spelling.size()));
  }
  std::string& chunk = chunks_.back();
  const size_t offset = chunk.size();
  chunk.append(spelling);
  if (static_cast<size_t>(id) >= spellings_.size()) spellings_.resize(id + 1);
  spellings_[id] = std::string_view(chunk.data() + offset, spelling.size());
  // An empty spelling still needs a non-null data() to count as present.
  if (spelling.empty()) spellings_[id] = std::string_view(chunk.data(), 0);
  slots_[slot] = id;
  ++count_;
  return true;
}

std::optional<TokenId> TokenTable::find(std::string_view spelling) const {
  if (slots_.empty()) return std::nullopt;
  const TokenId id = slots_[slot_of(spelling)];
  if (id == kEmptySlot) return std::nullopt;
  return id;
}

const std::string_view* TokenTable::spelling(TokenId id) const {
  if (id < 0 || static_cast<size_t>(id) >= spellings_.size() || spellings_[id].data() == nullptr)
    return nullptr;
  return &spellings_[id];
}

}  // namespace torchllm::tokenizer::hf
