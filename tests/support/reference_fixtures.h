#pragma once

// The Hugging Face reference fixtures (tools/make_reference.py) and token sequences that model tests share.
// Header-only: TORCHLLM_TEST_DATA_DIR is each test target's own definition.

#include <dirent.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "torchllm/json_file.h"

namespace torchllm::testing {

// $TORCHLLM_REFERENCE_DIR (fixtures just made by tools/make_reference.py, on the GPU machine say), else the
// committed tests/data/reference.
inline std::string reference_fixtures_dir() {
  const char* dir = std::getenv("TORCHLLM_REFERENCE_DIR");
  return dir != nullptr ? std::string(dir) : std::string(TORCHLLM_TEST_DATA_DIR) + "/reference";
}

// The fixtures there (directories holding a reference.json), sorted.
inline std::vector<std::string> reference_fixture_names() {
  const std::string root = reference_fixtures_dir();
  std::vector<std::string> names;
  if (DIR* dir = ::opendir(root.c_str())) {
    while (dirent* e = ::readdir(dir)) {
      const std::string name = e->d_name;
      if (name[0] != '.' && file_exists(root + "/" + name + "/reference.json")) names.push_back(name);
    }
    ::closedir(dir);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// `length` token ids below `vocab`, different for each `salt`.
inline std::vector<int64_t> token_sequence(int64_t length, int64_t salt, int64_t vocab) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < length; ++i) out.push_back((i * 37 + salt * 11 + 5) % vocab);
  return out;
}

}  // namespace torchllm::testing
