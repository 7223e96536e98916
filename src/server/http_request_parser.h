#pragma once

// HTTP/1.x request framing, without sockets: the request head (request line and headers) and the chunked
// body decoder. Each error carries the status the server answers with, so that a malformed request is
// refused at once instead of waiting for a read timeout.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace torchllm::server {

class HttpError : public std::runtime_error {
 public:
  HttpError(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

struct RequestHead {
  std::string method;
  std::string path;                                 // percent-decoded, without the query
  std::string query;                                // after '?', as sent
  int minor_version = 1;                            // HTTP/1.<minor>
  std::multimap<std::string, std::string> headers;  // names lower-cased, values trimmed
  bool chunked = false;                             // Transfer-Encoding: chunked
  uint64_t content_length = 0;                      // when not chunked
  bool keep_alive = true;                           // what the client asked for (HTTP/1.0: opt-in)
  bool expect_continue = false;                     // Expect: 100-continue

  // The first value of a header (name lower-case), or "".
  std::string header(const std::string& name) const;
};

constexpr size_t kMaxHeadBytes = 64 * 1024;
constexpr size_t kMaxHeaderCount = 100;

// The length of the head (through the blank line) at the start of `buffer`, or nullopt when it is not
// complete yet. Throws HttpError(431) once more than kMaxHeadBytes arrived without a blank line.
std::optional<size_t> find_head_end(std::string_view buffer);

// Parses a complete head (as delimited by find_head_end). Throws HttpError: 400 for malformed syntax,
// a bad or conflicting Content-Length or Transfer-Encoding; 431 for too many headers; 505 for a version
// other than HTTP/1.0 and 1.1; 501 for a transfer coding other than chunked.
RequestHead parse_head(std::string_view head);

// ASCII lower case (header names, tokens, host names).
std::string ascii_lower(std::string_view text);

// "%41b" -> "Ab". Throws HttpError(400) on a malformed escape.
std::string percent_decode(std::string_view text);

// Decodes a chunked body as it arrives. feed() appends the decoded bytes to `out` and returns how many input
// bytes it consumed (all of them unless the body ended inside `data`: the rest is the next request).
class ChunkedDecoder {
 public:
  explicit ChunkedDecoder(uint64_t max_body_bytes) : max_body_bytes_(max_body_bytes) {}
  // Throws HttpError(400) on malformed framing, HttpError(413) once the body passes max_body_bytes.
  size_t feed(std::string_view data, std::string& out);
  bool done() const { return state_ == State::kDone; }

 private:
  enum class State { kSize, kData, kDataEnd, kTrailer, kDone };
  uint64_t max_body_bytes_;
  State state_ = State::kSize;
  uint64_t chunk_left_ = 0;
  uint64_t total_ = 0;
  std::string line_;  // the size line or a trailer line being read
};

}  // namespace torchllm::server
