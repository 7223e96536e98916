// Random corruptions of the gguf-py fixtures (built under AddressSanitizer and UBSan): each must end in a
// torchllm::Error or in a parse whose every tensor lies inside the file — never a crash, a foreign exception,
// an over-read or undefined behaviour. Images are parsed from heap buffers of their exact size, so any read
// past the end is an ASan report; every tenth also goes through the memory-mapped GgufFile.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "torchllm/error.h"
#include "torchllm/gguf.h"

namespace torchllm {
namespace {

constexpr int kIterations = 3000;
const std::string kDir = std::string(TORCHLLM_TEST_DATA_DIR) + "/gguf/";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Lengths and counts are 64-bit little-endian fields; these are the values that break naive readers.
uint64_t interesting_u64(std::mt19937_64& rng, size_t file_size) {
  const uint64_t choices[] = {0,
                              1,
                              2,
                              0x7f,
                              0xff,
                              file_size,
                              file_size + 1,
                              UINT64_MAX,
                              UINT64_MAX / 2,
                              uint64_t{1} << 32,
                              uint64_t{1} << 61,
                              static_cast<uint64_t>(rng() % 4096)};
  return choices[rng() % (sizeof(choices) / sizeof(choices[0]))];
}

std::string mutate(const std::string& file, size_t header_end, std::mt19937_64& rng,
                   std::string& description) {
  std::string m = file;
  switch (rng() % 7) {
    case 0: {
      const int n = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < n; ++k) m[rng() % header_end] = static_cast<char>(rng() % 256);
      description = std::to_string(n) + " random header bytes";
      break;
    }
    case 1: {
      const size_t at = rng() % header_end;
      m[at] = static_cast<char>(m[at] ^ (1 << (rng() % 8)));
      description = "bit flip at " + std::to_string(at);
      break;
    }
    case 2: {
      const size_t len = rng() % file.size();
      m.resize(len);
      description = "truncated to " + std::to_string(len);
      break;
    }
    case 3:
    case 4: {
      const size_t at = rng() % (header_end - 8);
      const uint64_t v = interesting_u64(rng, file.size());
      std::memcpy(&m[at], &v, 8);
      description = "u64 " + std::to_string(v) + " written at " + std::to_string(at);
      break;
    }
    case 5: {
      const size_t at = rng() % header_end;
      const size_t n = 1 + rng() % 9;
      std::string junk(n, '\0');
      for (char& c : junk) c = static_cast<char>(rng() % 256);
      m.insert(at, junk);
      description = std::to_string(n) + " bytes inserted at " + std::to_string(at);
      break;
    }
    case 6: {
      const size_t at = rng() % header_end;
      const size_t n = 1 + rng() % 9;
      m.erase(at, n);
      description = std::to_string(n) + " bytes deleted at " + std::to_string(at);
      break;
    }
  }
  return m;
}

uint64_t checksum(const GgufHeader& h, const uint8_t* bytes, size_t size) {
  uint64_t sum = 0;
  for (const GgufTensorInfo& t : h.tensors) {
    EXPECT_LE(h.data_offset + t.offset + t.size, size) << t.name;
    EXPECT_EQ(t.size % t.type->type_size, 0u) << t.name;
    const uint8_t* p = bytes + h.data_offset + t.offset;
    for (uint64_t i = 0; i < t.size; ++i) sum += p[i];
  }
  return sum;
}

TEST(GgufMutation, EveryCorruptionEndsInAnErrorOrAValidParse) {
  std::mt19937_64 rng(20250117);
  const std::string tmp = ::testing::TempDir() + "gguf_mutation.gguf";
  int errors = 0, loads = 0;
  const char* fixtures[] = {"v3_align64.gguf", "v3_default.gguf", "v2.gguf"};
  for (int it = 0; it < kIterations; ++it) {
    const std::string name = fixtures[it % 3];
    const std::string original = read_file(kDir + name);
    ASSERT_FALSE(original.empty()) << name;
    const size_t header_end =
        parse_gguf(reinterpret_cast<const uint8_t*>(original.data()), original.size(), name).data_offset;
    std::string description;
    const std::string m = mutate(original, header_end, rng, description);
    SCOPED_TRACE(name + ", iteration " + std::to_string(it) + ": " + description);
    std::vector<uint8_t> image(m.begin(), m.end());  // exactly sized on the heap: ASan sees any over-read
    try {
      const GgufHeader h = parse_gguf(image.data(), image.size(), name);
      checksum(h, image.data(), image.size());
      ++loads;
    } catch (const Error&) {
      ++errors;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "foreign exception: " << e.what();
    }
    if (it % 10 == 0) {
      std::ofstream(tmp, std::ios::binary | std::ios::trunc) << m;
      try {
        GgufFile file(tmp);
        volatile uint8_t sink = 0;
        for (const GgufTensorInfo& t : file.tensors()) {
          EXPECT_LE(file.data_offset() + t.offset + t.size, file.file_size());
          if (t.size > 0)
            sink = sink + file.data(t)[0] + file.data(t)[t.size - 1];  // faults if outside the map
        }
      } catch (const Error&) {
      }
    }
  }
  std::remove(tmp.c_str());
  std::printf("%d corruptions: %d errors, %d successful parses\n", kIterations, errors, loads);
  EXPECT_GT(errors, kIterations / 2);
}

}  // namespace
}  // namespace torchllm
