#pragma once

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "torchllm/error.h"

namespace torchllm::cli {

// A size for people to read, in binary units: "512 B", "1.0 KiB", "118.4 MiB", "1.40 GiB".
inline std::string human_bytes(uint64_t bytes) {
  static const char* const kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes) / 1024;
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < sizeof kUnits / sizeof kUnits[0]) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, value < 10 ? "%.2f %s" : "%.1f %s", value, kUnits[unit]);
  return text;
}

// A size as people type it: plain bytes ("1073741824"), or a number with a unit, case-insensitive, with or
// without a space: KiB/MiB/GiB/TiB and K/M/G/T are powers of 1024 (as GNU tools read them), KB/MB/GB/TB
// powers of 1000, B bytes ("4GiB", "1.5 GiB", "512M"). Throws Error(kInvalidArgument) naming `flag`.
inline uint64_t parse_byte_size(const std::string& text, const std::string& flag) {
  const auto invalid = [&] {
    return Error::invalid_argument(
        flag + " must be a size such as 4GiB, 512MiB or 1073741824 (bytes), got '" + text + "'");
  };
  size_t used = 0;
  double value = 0;
  if (text.empty() || !(std::isdigit(static_cast<unsigned char>(text[0])) || text[0] == '.')) throw invalid();
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    throw invalid();
  }
  std::string unit;
  for (size_t i = used; i < text.size(); ++i) {
    if (text[i] != ' ') unit += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
  }
  double scale = 1;  // "" and "b": bytes
  if (!unit.empty() && unit != "b") {
    const size_t power = std::string("kmgt").find(unit[0]);
    const std::string rest = unit.substr(1);
    if (power == std::string::npos || !(rest.empty() || rest == "ib" || rest == "b")) throw invalid();
    scale = std::pow(rest == "b" ? 1000.0 : 1024.0, static_cast<double>(power + 1));
  }
  const double bytes = std::floor(value * scale);
  if (!std::isfinite(bytes) || bytes < 0 || bytes > 1.8e19) throw invalid();
  return static_cast<uint64_t>(bytes);
}

}  // namespace torchllm::cli
