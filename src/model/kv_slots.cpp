#include <algorithm>
#include <string>

#include "torchllm/error.h"
#include "torchllm/kv_cache.h"

namespace torchllm {

KvSlots::KvSlots(int64_t max_batch, int64_t max_seq)
    : max_seq_(max_seq),
      tokens_(static_cast<size_t>(max_batch)),
      used_(static_cast<size_t>(max_batch), false) {}

void KvSlots::check(int64_t slot) const {
  if (slot < 0 || slot >= static_cast<int64_t>(used_.size()) || !used_[slot]) {
    throw Error::internal("KV slot " + std::to_string(slot) + " is not in use");
  }
}

std::optional<KvSlots::Acquired> KvSlots::acquire(const std::vector<int64_t>& prompt) {
  std::optional<Acquired> best;
  const size_t limit = prompt.empty() ? 0 : prompt.size() - 1;
  for (size_t i = 0; i < used_.size(); ++i) {
    if (used_[i]) continue;
    const std::vector<int64_t>& held = tokens_[i];
    const size_t n = std::min(limit, held.size());
    const size_t common = std::mismatch(held.begin(), held.begin() + n, prompt.begin()).first - held.begin();
    // Among equal prefixes prefer an empty slot, so that the contents of others stay reusable.
    if (!best || static_cast<int64_t>(common) > best->reused ||
        (static_cast<int64_t>(common) == best->reused && held.size() < tokens_[best->slot].size())) {
      best = Acquired{static_cast<int64_t>(i), static_cast<int64_t>(common)};
    }
  }
  if (best) {
    used_[best->slot] = true;
    tokens_[best->slot].resize(best->reused);
  }
  return best;
}

void KvSlots::release(int64_t slot, bool keep_tokens) {
  check(slot);
  used_[slot] = false;
  if (!keep_tokens) tokens_[slot].clear();
}

int64_t KvSlots::length(int64_t slot) const {
  check(slot);
  return static_cast<int64_t>(tokens_[slot].size());
}

const std::vector<int64_t>& KvSlots::tokens(int64_t slot) const {
  check(slot);
  return tokens_[slot];
}

void KvSlots::append(int64_t slot, const std::vector<int64_t>& tokens) {
  check(slot);
  std::vector<int64_t>& held = tokens_[slot];
  if (static_cast<int64_t>(held.size() + tokens.size()) > max_seq_) {
    throw Error::exhausted("sequence needs " + std::to_string(held.size() + tokens.size()) +
                           " positions but the context is " + std::to_string(max_seq_));
  }
  held.insert(held.end(), tokens.begin(), tokens.end());
}

void KvSlots::truncate(int64_t slot, int64_t length) {
  check(slot);
  if (length < 0 || length > static_cast<int64_t>(tokens_[slot].size())) {
    throw Error::internal("KV slot truncated beyond its length");
  }
  tokens_[slot].resize(static_cast<size_t>(length));
}

bool KvSlots::in_use(int64_t slot) const {
  return slot >= 0 && slot < static_cast<int64_t>(used_.size()) && used_[slot];
}

int64_t KvSlots::free_count() const { return std::count(used_.begin(), used_.end(), false); }

}  // namespace torchllm
