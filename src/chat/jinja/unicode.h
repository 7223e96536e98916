#pragma once

// The few Unicode facts Python's str methods depend on, over UTF-8 strings (via utf8proc).

#include <cstdint>
#include <string>
#include <vector>

namespace torchllm::jinja {

// Code points of a UTF-8 string; invalid bytes decode as U+FFFD each.
std::vector<char32_t> decode_utf8(const std::string& s);
std::string encode_utf8(const std::vector<char32_t>& cps);
void append_utf8(std::string& out, char32_t cp);

bool is_python_space(char32_t cp);      // str.isspace
bool is_python_printable(char32_t cp);  // str.isprintable
bool is_cased_letter(char32_t cp);
bool is_alnum(char32_t cp);
std::string to_upper(const std::string& s);
std::string to_lower(const std::string& s);
char32_t upper_cp(char32_t cp);
char32_t lower_cp(char32_t cp);
bool is_line_break(char32_t cp);  // the boundaries of str.splitlines

}  // namespace torchllm::jinja
