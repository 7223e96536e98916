#pragma once

#include <string>
#include <vector>

namespace torchllm {

// Finds stop strings in text that arrives in pieces. Text that could still turn out to be the start of a stop
// string is held back until that is decided, so nothing of a stop string is ever emitted.
class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);

  struct Result {
    std::string emit;      // text that is now final
    bool matched = false;  // a stop string was found; `emit` is the text before it
    std::string stop;      // which one
  };
  Result push(const std::string& piece);
  // The held-back text, once no more pieces will come.
  std::string finish();

 private:
  std::vector<std::string> stops_;
  std::string held_;
};

}  // namespace torchllm
