#include "engine/stop_matcher.h"

#include <algorithm>

namespace torchllm {

StopMatcher::StopMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {
  stops_.erase(std::remove(stops_.begin(), stops_.end(), std::string()), stops_.end());
}

StopMatcher::Result StopMatcher::push(const std::string& piece) {
  held_ += piece;
  Result result;
  if (stops_.empty()) {
    result.emit.swap(held_);
    return result;
  }
  // The earliest match wins; among matches at the same place, the longest.
  size_t best = std::string::npos;
  for (const std::string& stop : stops_) {
    const size_t at = held_.find(stop);
    if (at != std::string::npos && (at < best || (at == best && stop.size() > result.stop.size()))) {
      best = at;
      result.stop = stop;
    }
  }
  if (best != std::string::npos) {
    result.matched = true;
    result.emit = held_.substr(0, best);
    held_.clear();
    return result;
  }
  // Keep the longest suffix that is a proper prefix of some stop string.
  size_t keep = 0;
  for (const std::string& stop : stops_) {
    for (size_t n = std::min(stop.size() - 1, held_.size()); n > keep; --n) {
      if (held_.compare(held_.size() - n, n, stop, 0, n) == 0) {
        keep = n;
        break;
      }
    }
  }
  result.emit = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return result;
}

std::string StopMatcher::finish() {
  std::string rest;
  rest.swap(held_);
  return rest;
}

}  // namespace torchllm
