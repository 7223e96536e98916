#include "cli/load_progress.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace torchllm::cli {
namespace {

// The bar's output for a sequence of (seconds, done) updates of a `total`-byte load with a 0.5 s delay.
std::string draw(const std::vector<std::pair<double, uint64_t>>& updates, uint64_t total) {
  char* buffer = nullptr;
  size_t size = 0;
  std::FILE* out = open_memstream(&buffer, &size);
  double now = 0;
  {
    LoadProgressBar bar(out, 0.5, [&] { return now; });
    for (const auto& [seconds, done] : updates) {
      now = seconds;
      bar.update(done, total);
    }
  }
  std::fclose(out);
  std::string text(buffer, size);
  std::free(buffer);
  return text;
}

TEST(LoadProgressBar, AQuickLoadDrawsNothing) { EXPECT_EQ(draw({{0.1, 500}, {0.2, 1000}}, 1000), ""); }

TEST(LoadProgressBar, DrawsAfterTheDelayAndErasesAtTheEnd) {
  const std::string out = draw({{0.1, 100}, {0.6, 300'000'000}, {0.7, 1'000'000'000}}, 1'000'000'000);
  EXPECT_EQ(out,
            "\rloading [############                            ]  30% 0.3/1.0 GB"
            "\rloading [########################################] 100% 1.0/1.0 GB\r\033[K");
}

TEST(LoadProgressBar, RedrawsOnlyWhenThePercentageChanges) {
  const std::string out = draw({{1.0, 10}, {1.1, 11}, {1.2, 19}, {1.3, 20}}, 1000);
  EXPECT_EQ(out,
            "\rloading [                                        ]   1% 0.0/0.0 GB"
            "\rloading [                                        ]   2% 0.0/0.0 GB");
}

TEST(LoadProgressBar, NothingToLoadDrawsNothing) { EXPECT_EQ(draw({{1.0, 0}}, 0), ""); }

}  // namespace
}  // namespace torchllm::cli
