// Our ids against golden ids from Hugging Face tokenizers (Python), made by tools/make_tokenizer_goldens.py
// and kept under tests/data/tokenizer-goldens/<name>/goldens.jsonl.gz. Skips, saying why, when the goldens or
// the tokenizer files (fetched by npm into the build tree) are absent.
#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_corpus.h"
#include "torchllm/json_file.h"
#include "torchllm/tokenizer.h"

namespace torchllm::tokenizer {
namespace {

const std::string kGoldenDir = std::string(TORCHLLM_TEST_DATA_DIR) + "/tokenizer-goldens";

std::vector<std::string> read_gzip_lines(const std::string& path) {
  std::vector<std::string> lines;
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) return lines;
  std::string current;
  char buffer[1 << 16];
  int read;
  while ((read = gzread(file, buffer, sizeof(buffer))) > 0) {
    for (int i = 0; i < read; ++i) {
      if (buffer[i] == '\n') {
        lines.push_back(std::move(current));
        current.clear();
      } else {
        current += buffer[i];
      }
    }
  }
  gzclose(file);
  if (!current.empty()) lines.push_back(std::move(current));
  return lines;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

// Keeps ctest's test names free of the quotes gtest prints around a string parameter.
struct GoldenName {
  std::string operator()(const ::testing::TestParamInfo<std::string>& info) const { return info.param; }
};

TEST_P(GoldenTest, MatchesHuggingFaceTokenizers) {
  const std::string& name = GetParam();
  const std::string golden_path = kGoldenDir + "/" + name + "/goldens.jsonl.gz";
  const std::string tokenizer_path =
      std::string(TORCHLLM_TOKENIZER_REFERENCE_DIR) + "/" + name + "/package/models/tokenizer.json";
  if (!file_exists(golden_path)) {
    GTEST_SKIP() << "no goldens at " << golden_path
                 << "; make them with tools/make_tokenizer_goldens.py on a machine with Python tokenizers";
  }
  if (!file_exists(tokenizer_path)) GTEST_SKIP() << tokenizer_path << " not fetched (npm unavailable?)";

  const std::vector<std::string> lines = read_gzip_lines(golden_path);
  ASSERT_FALSE(lines.empty()) << golden_path << " is empty or not gzip";
  const nlohmann::json header = nlohmann::json::parse(lines[0]);
  ASSERT_EQ(header.value("tokenizer_fnv", ""), testing::fnv1a_hex(read_file(tokenizer_path)))
      << "the goldens were made from a different " << name << " tokenizer.json; regenerate them";

  const auto tokenizer = load_tokenizer(tokenizer_path);
  const auto corpus = testing::make_test_corpus();
  size_t compared = 0, mismatches = 0;
  for (size_t line = 1; line < lines.size(); ++line) {
    const nlohmann::json golden = nlohmann::json::parse(lines[line]);
    const size_t i = golden["i"].get<size_t>();
    ASSERT_LT(i, corpus.size()) << "the goldens know more strings than the corpus; regenerate them";
    ASSERT_EQ(golden["fnv"].get<std::string>(), testing::fnv1a_hex(corpus[i].text))
        << "string " << i << " of the corpus changed since the goldens were made; regenerate them";
    ++compared;
    const std::vector<TokenId> expected = golden["ids"].get<std::vector<TokenId>>();
    if (tokenizer->encode(corpus[i].text) != expected && ++mismatches <= 5) {
      ADD_FAILURE() << name << " string " << i << " (" << corpus[i].category
                    << ") differs from the golden ids";
    }
  }
  std::cout << name << ": " << compared << " strings compared with goldens from tokenizers "
            << header.value("tokenizers_version", "?") << ", " << mismatches << " mismatches" << std::endl;
  EXPECT_EQ(mismatches, 0u);
}

INSTANTIATE_TEST_SUITE_P(RealTokenizers, GoldenTest,
                         ::testing::Values("qwen3", "llama3", "llama3_1", "llama2", "gemma3", "deepseek_v3",
                                           "gptoss"),
                         GoldenName());

}  // namespace
}  // namespace torchllm::tokenizer
