// Random corruptions of a small checkpoint (built under AddressSanitizer): every one must end in a
// torchllm::Error or in a model that loads and runs — never a crash, a foreign exception or a memory error.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "tiny_checkpoint.h"
#include "torchllm/error.h"
#include "torchllm/model.h"

namespace torchllm {
namespace {

constexpr int kIterations = 1200;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

size_t header_end(const std::string& file) {
  uint64_t len = 0;
  for (int i = 7; i >= 0; --i) len = (len << 8) | static_cast<uint8_t>(file[i]);
  return static_cast<size_t>(8 + len);
}

// Replaces one random digit of `text` in [begin, end) with another digit, keeping JSON well formed.
bool change_digit(std::string& text, size_t begin, size_t end, std::mt19937_64& rng) {
  std::vector<size_t> digits;
  for (size_t i = begin; i < end; ++i) {
    if (text[i] >= '0' && text[i] <= '9') digits.push_back(i);
  }
  if (digits.empty()) return false;
  text[digits[rng() % digits.size()]] = static_cast<char>('0' + rng() % 10);
  return true;
}

struct Mutation {
  std::string safetensors;
  std::string config;
  std::string description;
};

Mutation mutate(const std::string& st, const std::string& config, std::mt19937_64& rng) {
  Mutation m{st, config, ""};
  const size_t hend = header_end(st);
  switch (rng() % 9) {
    case 0: {
      const size_t at = rng() % hend;
      m.safetensors[at] = static_cast<char>(rng() % 256);
      m.description = "random byte in header at " + std::to_string(at);
      break;
    }
    case 1: {
      const size_t at = rng() % 8;
      m.safetensors[at] = static_cast<char>(rng() % 256);
      m.description = "header length byte " + std::to_string(at);
      break;
    }
    case 2: {
      const size_t len = rng() % st.size();
      m.safetensors.resize(len);
      m.description = "truncated to " + std::to_string(len);
      break;
    }
    case 3:
    case 4: {
      for (int i = 0, n = 1 + static_cast<int>(rng() % 3); i < n; ++i)
        change_digit(m.safetensors, 8, hend, rng);
      m.description = "digits changed in header JSON";
      break;
    }
    case 5: {
      const size_t at = 8 + rng() % (hend - 8);
      const size_t len = 1 + rng() % 16;
      m.safetensors.erase(at, std::min(len, hend - at));
      m.description = "header span erased at " + std::to_string(at);
      break;
    }
    case 6: {
      const size_t at = hend + rng() % (st.size() - hend);
      m.safetensors[at] = static_cast<char>(rng() % 256);
      m.description = "data byte changed at " + std::to_string(at);
      break;
    }
    case 7: {
      change_digit(m.config, 0, m.config.size(), rng);
      m.description = "digit changed in config.json";
      break;
    }
    case 8: {
      const size_t at = rng() % m.config.size();
      m.config[at] = static_cast<char>(rng() % 256);
      m.description = "random byte in config.json at " + std::to_string(at);
      break;
    }
  }
  return m;
}

TEST(CheckpointMutation, EveryCorruptionEndsInACleanErrorOrAWorkingModel) {
  const std::string base = testing::make_temp_dir("mutation-base");
  testing::write_tiny_checkpoint(base, testing::tiny_config_json("qwen3"), 11, "BF16");
  const std::string st = read_file(base + "/model.safetensors");
  const std::string config = read_file(base + "/config.json");
  const std::string dir = testing::make_temp_dir("mutation");
  std::mt19937_64 rng(20261123);
  int errors = 0, loaded = 0;
  for (int i = 0; i < kIterations; ++i) {
    const Mutation m = mutate(st, config, rng);
    write_file(dir + "/model.safetensors", m.safetensors);
    write_file(dir + "/config.json", m.config);
    try {
      auto model = Transformer::load(dir, LoadOptions{"cpu", "fp32"});
      KvCache cache = model->make_cache(1, 8);
      model->forward({{0, 0, {1, 2, 3}}}, cache);
      ++loaded;
    } catch (const Error& e) {
      ++errors;
      ASSERT_GT(std::string(e.what()).size(), 10u) << "iteration " << i << " (" << m.description << ")";
    } catch (const std::exception& e) {
      FAIL() << "iteration " << i << " (" << m.description << "): not a torchllm::Error: " << e.what();
    }
  }
  std::cout << "mutations: " << kIterations << ", clean errors: " << errors << ", loaded: " << loaded << "\n";
  EXPECT_GT(errors, kIterations / 4);
  EXPECT_GT(loaded, 10);
}

}  // namespace
}  // namespace torchllm
