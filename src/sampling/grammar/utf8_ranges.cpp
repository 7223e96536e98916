#include "sampling/grammar/utf8_ranges.h"

#include <algorithm>

namespace torchllm::grammar {
namespace {

constexpr uint32_t kMaxCodePoint = 0x10FFFF;

int encoded_length(uint32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

void encode(uint32_t cp, int length, uint8_t* out) {
  if (length == 1) {
    out[0] = static_cast<uint8_t>(cp);
    return;
  }
  static const uint8_t kLead[] = {0, 0, 0xC0, 0xE0, 0xF0};
  for (int i = length - 1; i > 0; --i) {
    out[i] = static_cast<uint8_t>(0x80 | (cp & 0x3F));
    cp >>= 6;
  }
  out[0] = static_cast<uint8_t>(kLead[length] | cp);
}

// [lo, hi] share an encoded length; splits it until every byte position of the encodings of lo and hi
// bounds a contiguous range of bytes (the utf8-ranges construction).
void split(uint32_t lo, uint32_t hi, std::vector<std::vector<ByteRange>>& out) {
  const int n = encoded_length(lo);
  for (int i = 1; i < n; ++i) {
    const uint32_t m = (uint32_t{1} << (6 * i)) - 1;
    if ((lo & ~m) != (hi & ~m)) {
      if ((lo & m) != 0) {
        split(lo, lo | m, out);
        split((lo | m) + 1, hi, out);
        return;
      }
      if ((hi & m) != m) {
        split(lo, (hi & ~m) - 1, out);
        split(hi & ~m, hi, out);
        return;
      }
    }
  }
  uint8_t a[4], b[4];
  encode(lo, n, a);
  encode(hi, n, b);
  std::vector<ByteRange> sequence;
  for (int i = 0; i < n; ++i) sequence.emplace_back(a[i], b[i]);
  out.push_back(std::move(sequence));
}

std::vector<CodePointRange> normalized(std::vector<CodePointRange> ranges) {
  std::vector<CodePointRange> clipped;
  for (auto [lo, hi] : ranges) {
    if (lo > hi || lo > kMaxCodePoint) continue;
    clipped.emplace_back(lo, std::min(hi, kMaxCodePoint));
  }
  std::sort(clipped.begin(), clipped.end());
  std::vector<CodePointRange> merged;
  for (const CodePointRange& r : clipped) {
    if (!merged.empty() && r.first <= merged.back().second + 1) {
      merged.back().second = std::max(merged.back().second, r.second);
    } else {
      merged.push_back(r);
    }
  }
  return merged;
}

}  // namespace

std::vector<CodePointRange> complement(std::vector<CodePointRange> ranges) {
  std::vector<CodePointRange> out;
  uint32_t next = 0;
  for (auto [lo, hi] : normalized(std::move(ranges))) {
    if (lo > next) out.emplace_back(next, lo - 1);
    next = hi + 1;
  }
  if (next <= kMaxCodePoint) out.emplace_back(next, kMaxCodePoint);
  return out;
}

std::vector<std::vector<ByteRange>> utf8_sequences(const std::vector<CodePointRange>& ranges) {
  // Without surrogates, and cut where the encoded length changes.
  std::vector<CodePointRange> pieces;
  for (auto [lo, hi] : normalized(ranges)) {
    for (auto [a, b] :
         {CodePointRange{lo, std::min(hi, 0xD7FFu)}, CodePointRange{std::max(lo, 0xE000u), hi}}) {
      for (uint32_t limit : {0x7Fu, 0x7FFu, 0xFFFFu, kMaxCodePoint}) {
        const uint32_t start = std::max(a, limit == 0x7F     ? 0u
                                           : limit == 0x7FF  ? 0x80u
                                           : limit == 0xFFFF ? 0x800u
                                                             : 0x10000u);
        const uint32_t end = std::min(b, limit);
        if (start <= end) pieces.emplace_back(start, end);
      }
    }
  }
  std::vector<std::vector<ByteRange>> out;
  for (auto [lo, hi] : pieces) split(lo, hi, out);
  return out;
}

void append_utf8(std::vector<uint8_t>& out, uint32_t cp) {
  uint8_t bytes[4];
  const int n = encoded_length(cp);
  encode(cp, n, bytes);
  out.insert(out.end(), bytes, bytes + n);
}

}  // namespace torchllm::grammar
