#include <algorithm>
#include <numeric>

#include "torchllm/error.h"
#include "torchllm/grammar.h"

namespace torchllm {

TokenTrie::TokenTrie(const std::vector<std::string>& token_bytes, std::vector<int64_t> end_tokens)
    : vocab_size_(static_cast<int64_t>(token_bytes.size())),
      token_bytes_(token_bytes),
      end_tokens_(std::move(end_tokens)) {
  for (int64_t id : end_tokens_) {
    if (id < 0 || id >= vocab_size_) {
      throw Error::invalid_argument("token trie: end token " + std::to_string(id) +
                                    " is outside the vocabulary");
    }
  }
  std::vector<int32_t> order;
  for (size_t i = 0; i < token_bytes.size(); ++i) {
    if (!token_bytes[i].empty() && !is_end(static_cast<int64_t>(i))) order.push_back(static_cast<int32_t>(i));
  }
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return token_bytes[static_cast<size_t>(a)] < token_bytes[static_cast<size_t>(b)];
  });
  // Sorted strings give the preorder directly: each string adds the nodes past its common prefix with the
  // previous one. `path` holds the node index of every byte of the previous string.
  byte_.push_back(0);
  depth_.push_back(0);
  std::vector<uint32_t> path = {0};
  std::vector<std::vector<int32_t>> ending(1);
  const std::string* previous = nullptr;
  for (int32_t id : order) {
    const std::string& s = token_bytes[static_cast<size_t>(id)];
    size_t common = 0;
    if (previous) {
      const size_t limit = std::min(previous->size(), s.size());
      while (common < limit && (*previous)[common] == s[common]) ++common;
    }
    path.resize(common + 1);
    for (size_t k = common; k < s.size(); ++k) {
      path.push_back(static_cast<uint32_t>(byte_.size()));
      byte_.push_back(static_cast<uint8_t>(s[k]));
      depth_.push_back(static_cast<uint32_t>(k + 1));
      ending.emplace_back();
    }
    ending[path.back()].push_back(id);
    previous = &s;
  }
  const size_t n = byte_.size();
  subtree_end_.assign(n, static_cast<uint32_t>(n));
  // A node's subtree ends where the next node of the same or a smaller depth begins.
  std::vector<uint32_t> open;
  for (uint32_t i = 0; i < n; ++i) {
    while (!open.empty() && depth_[open.back()] >= depth_[i]) {
      subtree_end_[open.back()] = i;
      open.pop_back();
    }
    open.push_back(i);
  }
  token_begin_.reserve(n + 1);
  for (uint32_t i = 0; i < n; ++i) {
    token_begin_.push_back(static_cast<uint32_t>(tokens_.size()));
    tokens_.insert(tokens_.end(), ending[i].begin(), ending[i].end());
  }
  token_begin_.push_back(static_cast<uint32_t>(tokens_.size()));
}

bool TokenTrie::is_end(int64_t token) const {
  return std::find(end_tokens_.begin(), end_tokens_.end(), token) != end_tokens_.end();
}

}  // namespace torchllm
