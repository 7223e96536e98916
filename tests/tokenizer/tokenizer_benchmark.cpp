// Encode throughput on a >= 10 MB mixed corpus (the test corpus repeated), single thread, plus pathological
// inputs that must stay far from quadratic. A benchmark, not a test:
//   tokenizer_benchmark TOKENIZER_DIR_OR_JSON [MEGABYTES [mixed|all [CORPUS_OUT]]]
// "mixed" skips the pathological inputs; CORPUS_OUT receives the mixed corpus, for reference_benchmark.js.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>

#include "test_corpus.h"
#include "torchllm/error.h"
#include "torchllm/tokenizer.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Wall time, and CPU time of this thread: on a shared machine the second is the steadier measure.
void measure(const torchllm::Tokenizer& tokenizer, const char* label, const std::string& text) {
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = thread_cpu_seconds();
  const size_t tokens = tokenizer.encode(text).size();
  const double cpu = thread_cpu_seconds() - cpu_start;
  const double elapsed = seconds_since(start);
  std::printf("%-28s %7.2f MB %9zu tokens  wall %6.3f s %7.2f MB/s  cpu %6.3f s %7.2f MB/s\n", label,
              text.size() / 1e6, tokens, elapsed, text.size() / 1e6 / elapsed, cpu, text.size() / 1e6 / cpu);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s TOKENIZER_DIR_OR_JSON [MEGABYTES]\n", argv[0]);
    return 2;
  }
  try {
    const double megabytes = argc > 2 ? std::atof(argv[2]) : 10.0;
    const auto load_start = std::chrono::steady_clock::now();
    const auto tokenizer = torchllm::load_tokenizer(argv[1]);
    std::printf("loaded %s in %.2f s\n", argv[1], seconds_since(load_start));

    std::string mixed;
    const auto corpus = torchllm::tokenizer::testing::make_test_corpus();
    while (mixed.size() < megabytes * 1e6) {
      for (const auto& entry : corpus) {
        if (entry.category == "invalid_utf8") continue;
        mixed += entry.text;
        mixed += '\n';
      }
    }
    measure(*tokenizer, "mixed corpus", mixed);
    if (argc > 4) std::ofstream(argv[4], std::ios::binary) << mixed;
    if (argc > 3 && std::string(argv[3]) == "mixed") return 0;

    const size_t mb = 1000000;
    measure(*tokenizer, "1 MB of 'a'", std::string(mb, 'a'));
    measure(*tokenizer, "1 MB of spaces", std::string(mb, ' '));
    measure(*tokenizer, "1 MB of '!'", std::string(mb, '!'));
    std::string no_spaces;
    uint64_t state = 1;
    while (no_spaces.size() < mb) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      no_spaces.push_back(static_cast<char>('a' + (state >> 59) % 26));
    }
    measure(*tokenizer, "1 MB of letters, no spaces", no_spaces);
    std::string digits;
    while (digits.size() < mb) digits.push_back(static_cast<char>('0' + digits.size() * 7 % 10));
    measure(*tokenizer, "1 MB of digits", digits);
    std::string cjk;
    while (cjk.size() < mb) cjk += "\xE7\x9A\x84";
    measure(*tokenizer, "1 MB of one CJK character", cjk);
  } catch (const torchllm::Error& e) {
    std::fprintf(stderr, "tokenizer_benchmark: %s\n", e.what());
    return 1;
  }
  return 0;
}
