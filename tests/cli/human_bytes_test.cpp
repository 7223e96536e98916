#include "cli/human_bytes.h"

#include <gtest/gtest.h>

#include "torchllm/error.h"

namespace torchllm::cli {
namespace {

TEST(ParseByteSize, PlainBytesAndUnits) {
  EXPECT_EQ(parse_byte_size("1073741824", "--x"), 1073741824u);
  EXPECT_EQ(parse_byte_size("512B", "--x"), 512u);
  EXPECT_EQ(parse_byte_size("1KiB", "--x"), 1024u);
  EXPECT_EQ(parse_byte_size("512MiB", "--x"), 512u << 20);
  EXPECT_EQ(parse_byte_size("4GiB", "--x"), 4ull << 30);
  EXPECT_EQ(parse_byte_size("4gib", "--x"), 4ull << 30);
  EXPECT_EQ(parse_byte_size("1.5 GiB", "--x"), 3ull << 29);
  EXPECT_EQ(parse_byte_size("2T", "--x"), 2ull << 40);
  EXPECT_EQ(parse_byte_size("512M", "--x"), 512u << 20);
  EXPECT_EQ(parse_byte_size("2GB", "--x"), 2000000000u);
  EXPECT_EQ(parse_byte_size("3kb", "--x"), 3000u);
}

TEST(ParseByteSize, RefusesWhatIsNotASize) {
  for (const char* bad : {"", "GiB", "-1GiB", "4 gigs", "4GiBs", "nan", "inf", "1e30TiB", "four"}) {
    try {
      parse_byte_size(bad, "--kv-cache-memory");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), Error::Kind::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find("--kv-cache-memory must be a size such as 4GiB"),
                std::string::npos)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace torchllm::cli
