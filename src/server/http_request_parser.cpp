#include "server/http_request_parser.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <vector>

namespace torchllm::server {
namespace {

constexpr size_t kMaxLineBytes = 8 * 1024;  // a chunk-size or trailer line

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool is_token_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (std::isalnum(u)) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_token_char);
}

// Splits the head into lines ending in CRLF (a bare LF is accepted, as most servers do).
std::vector<std::string_view> head_lines(std::string_view head) {
  std::vector<std::string_view> lines;
  while (!head.empty()) {
    const size_t lf = head.find('\n');
    std::string_view line = head.substr(0, lf);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (lf == std::string_view::npos) break;
    head.remove_prefix(lf + 1);
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

uint64_t parse_content_length(std::string_view value) {
  if (value.empty() ||
      !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    throw HttpError(400, "invalid Content-Length '" + std::string(value.substr(0, 40)) + "'");
  }
  uint64_t n = 0;
  for (char c : value) {
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (n > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
      throw HttpError(400, "invalid Content-Length (too large)");
    }
    n = n * 10 + digit;
  }
  return n;
}

bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    if (ascii_lower(trim(list.substr(0, comma))) == token) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string RequestHead::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

std::optional<size_t> find_head_end(std::string_view buffer) {
  // A request may be preceded by empty lines (RFC 9112 2.2); they are part of no request.
  size_t lf = buffer.find('\n');
  while (lf != std::string_view::npos) {
    const size_t next = buffer.find('\n', lf + 1);
    if (next == std::string_view::npos) break;
    const std::string_view between = buffer.substr(lf + 1, next - lf - 1);
    if (between.empty() || between == "\r") {
      if (buffer.substr(0, lf + 1).find_first_not_of("\r\n") != std::string_view::npos) {
        if (next + 1 > kMaxHeadBytes) break;
        return next + 1;
      }
    }
    lf = next;
  }
  if (buffer.size() > kMaxHeadBytes) {
    throw HttpError(431, "the request head is larger than " + std::to_string(kMaxHeadBytes) + " bytes");
  }
  return std::nullopt;
}

RequestHead parse_head(std::string_view head) {
  std::vector<std::string_view> lines = head_lines(head);
  while (!lines.empty() && lines.front().empty()) lines.erase(lines.begin());
  if (lines.empty()) throw HttpError(400, "empty request");
  if (lines.size() - 1 > kMaxHeaderCount) {
    throw HttpError(431, "more than " + std::to_string(kMaxHeaderCount) + " request headers");
  }

  RequestHead request;
  const std::string_view line = lines.front();
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    throw HttpError(400, "malformed request line");
  }
  request.method = std::string(line.substr(0, sp1));
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!is_token(request.method)) throw HttpError(400, "malformed request method");
  if (version == "HTTP/1.1") {
    request.minor_version = 1;
  } else if (version == "HTTP/1.0") {
    request.minor_version = 0;
  } else if (version.substr(0, 5) == "HTTP/") {
    throw HttpError(505, "HTTP version '" + std::string(version.substr(0, 16)) + "' is not supported");
  } else {
    throw HttpError(400, "malformed request line");
  }
  if (target.empty() || target.front() != '/') throw HttpError(400, "the request target must be a path");
  if (std::any_of(target.begin(), target.end(),
                  [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; })) {
    throw HttpError(400, "control characters in the request target");
  }
  const size_t question = target.find('?');
  request.path = percent_decode(target.substr(0, question));
  if (question != std::string_view::npos) request.query = std::string(target.substr(question + 1));

  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string_view header = lines[i];
    if (header.front() == ' ' || header.front() == '\t') throw HttpError(400, "obsolete header line folding");
    const size_t colon = header.find(':');
    if (colon == std::string_view::npos || !is_token(header.substr(0, colon))) {
      throw HttpError(400, "malformed header line");
    }
    const std::string_view value = trim(header.substr(colon + 1));
    if (std::any_of(value.begin(), value.end(), [](char c) { return c == '\0' || c == '\r' || c == '\n'; })) {
      throw HttpError(400, "control characters in a header value");
    }
    request.headers.emplace(ascii_lower(header.substr(0, colon)), std::string(value));
  }

  const auto lengths = request.headers.equal_range("content-length");
  const auto codings = request.headers.equal_range("transfer-encoding");
  if (codings.first != codings.second) {
    if (lengths.first != lengths.second) {
      throw HttpError(400, "a request may not have both Content-Length and Transfer-Encoding");
    }
    std::string all;
    for (auto it = codings.first; it != codings.second; ++it) all += (all.empty() ? "" : ",") + it->second;
    if (ascii_lower(trim(all)) != "chunked") {
      throw HttpError(501, "unsupported Transfer-Encoding '" + all.substr(0, 40) + "' (only chunked)");
    }
    if (request.minor_version == 0) throw HttpError(400, "Transfer-Encoding in an HTTP/1.0 request");
    request.chunked = true;
  } else if (lengths.first != lengths.second) {
    request.content_length = parse_content_length(lengths.first->second);
    for (auto it = std::next(lengths.first); it != lengths.second; ++it) {
      if (parse_content_length(it->second) != request.content_length) {
        throw HttpError(400, "conflicting Content-Length headers");
      }
    }
  }

  const std::string connection = request.header("connection");
  request.keep_alive =
      request.minor_version == 1 ? !has_token(connection, "close") : has_token(connection, "keep-alive");
  const std::string expect = ascii_lower(request.header("expect"));
  if (!expect.empty()) {
    if (expect != "100-continue") throw HttpError(417, "unsupported Expect '" + expect.substr(0, 40) + "'");
    request.expect_continue = request.minor_version == 1;
  }
  if (request.minor_version == 1 && request.headers.count("host") != 1) {
    throw HttpError(400, "an HTTP/1.1 request needs exactly one Host header");
  }
  return request;
}

std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    const int hi = i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
    const int lo = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
    if (hi < 0 || lo < 0) throw HttpError(400, "malformed percent-escape in the request path");
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

size_t ChunkedDecoder::feed(std::string_view data, std::string& out) {
  size_t used = 0;
  auto take_line = [&](std::string& line) {
    while (used < data.size()) {
      const char c = data[used++];
      if (c == '\n') {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return true;
      }
      line += c;
      if (line.size() > kMaxLineBytes) throw HttpError(400, "a chunk-size or trailer line is too long");
    }
    return false;
  };
  while (used < data.size() && state_ != State::kDone) {
    switch (state_) {
      case State::kSize: {
        if (!take_line(line_)) break;
        std::string_view size = line_;
        size = trim(size.substr(0, size.find(';')));
        if (size.empty() || size.size() > 15) throw HttpError(400, "malformed chunk size");
        uint64_t n = 0;
        for (char c : size) {
          const int v = hex_value(c);
          if (v < 0) throw HttpError(400, "malformed chunk size");
          n = n * 16 + static_cast<uint64_t>(v);
        }
        line_.clear();
        if (n == 0) {
          state_ = State::kTrailer;
        } else {
          if (total_ + n > max_body_bytes_) {
            throw HttpError(413,
                            "the request body is larger than " + std::to_string(max_body_bytes_) + " bytes");
          }
          total_ += n;
          chunk_left_ = n;
          state_ = State::kData;
        }
        break;
      }
      case State::kData: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk_left_, data.size() - used));
        out.append(data.substr(used, n));
        used += n;
        chunk_left_ -= n;
        if (chunk_left_ == 0) state_ = State::kDataEnd;
        break;
      }
      case State::kDataEnd:
        if (!take_line(line_)) break;
        if (!line_.empty()) throw HttpError(400, "a chunk is longer than its size");
        state_ = State::kSize;
        break;
      case State::kTrailer:
        if (!take_line(line_)) break;
        if (line_.empty()) state_ = State::kDone;
        total_ += line_.size();  // trailers count against the limit too
        if (total_ > max_body_bytes_) throw HttpError(413, "the request body is too large");
        line_.clear();
        break;
      case State::kDone:
        break;
    }
  }
  return used;
}

}  // namespace torchllm::server
