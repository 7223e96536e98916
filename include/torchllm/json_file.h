#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

namespace torchllm {

// Reads and parses a JSON file; Error(kNotFound / kCorruptInput) names the file and the parse position.
nlohmann::json read_json_file(const std::string& path);

// True when `path` names something readable as a file: anything but a directory (FIFOs and /dev/fd/N too).
bool file_exists(const std::string& path);

// The whole file as bytes; Error(kNotFound) when it cannot be read.
std::string read_text_file(const std::string& path);

}  // namespace torchllm
