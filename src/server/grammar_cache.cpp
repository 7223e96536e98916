#include "server/grammar_cache.h"

#include <list>
#include <mutex>
#include <unordered_map>

namespace torchllm::server {
namespace {

constexpr size_t kCachedGrammars = 32;

struct Cache {
  std::mutex mutex;
  std::list<std::string> order;  // most recently used first
  std::unordered_map<std::string, std::pair<std::shared_ptr<const Grammar>, std::list<std::string>::iterator>>
      map;
};

Cache& cache() {
  static Cache instance;
  return instance;
}

}  // namespace

std::shared_ptr<const Grammar> cached_grammar(const std::string& gbnf) {
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.map.find(gbnf);
    if (it != c.map.end()) {
      c.order.splice(c.order.begin(), c.order, it->second.second);
      return it->second.first;
    }
  }
  // Compiled outside the lock: a slow grammar does not hold up other requests.
  std::shared_ptr<const Grammar> grammar = Grammar::from_gbnf(gbnf);
  std::lock_guard<std::mutex> lock(c.mutex);
  if (c.map.count(gbnf)) return c.map[gbnf].first;
  c.order.push_front(gbnf);
  c.map[gbnf] = {grammar, c.order.begin()};
  if (c.order.size() > kCachedGrammars) {
    c.map.erase(c.order.back());
    c.order.pop_back();
  }
  return grammar;
}

}  // namespace torchllm::server
