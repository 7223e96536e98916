#include <string>

#include "torchllm/error.h"
#include "torchllm/kv_cache.h"

namespace torchllm {

KvSlots::KvSlots(int64_t max_batch, int64_t max_seq)
    : max_seq_(max_seq),
      lengths_(static_cast<size_t>(max_batch), 0),
      used_(static_cast<size_t>(max_batch), false) {}

void KvSlots::check(int64_t slot) const {
  if (slot < 0 || slot >= static_cast<int64_t>(used_.size()) || !used_[slot]) {
    throw Error::internal("KV slot " + std::to_string(slot) + " is not in use");
  }
}

std::optional<int64_t> KvSlots::acquire() {
  for (size_t i = 0; i < used_.size(); ++i) {
    if (!used_[i]) {
      used_[i] = true;
      lengths_[i] = 0;
      return static_cast<int64_t>(i);
    }
  }
  return std::nullopt;
}

void KvSlots::release(int64_t slot) {
  check(slot);
  used_[slot] = false;
  lengths_[slot] = 0;
}

int64_t KvSlots::length(int64_t slot) const {
  check(slot);
  return lengths_[slot];
}

void KvSlots::advance(int64_t slot, int64_t n) {
  check(slot);
  if (n < 0 || lengths_[slot] + n > max_seq_) {
    throw Error::exhausted("sequence needs " + std::to_string(lengths_[slot] + n) +
                           " positions but the context is " + std::to_string(max_seq_));
  }
  lengths_[slot] += n;
}

void KvSlots::truncate(int64_t slot, int64_t length) {
  check(slot);
  if (length < 0 || length > lengths_[slot]) throw Error::internal("KV slot truncated beyond its length");
  lengths_[slot] = length;
}

bool KvSlots::in_use(int64_t slot) const {
  return slot >= 0 && slot < static_cast<int64_t>(used_.size()) && used_[slot];
}

int64_t KvSlots::free_count() const {
  int64_t n = 0;
  for (bool u : used_) n += u ? 0 : 1;
  return n;
}

}  // namespace torchllm
