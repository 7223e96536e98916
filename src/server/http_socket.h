#pragma once

// Writing HTTP responses to a non-blocking socket with a deadline, and noticing a client that went away
// while its (non-streamed) answer is still being computed.

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace torchllm::server {

// Writes to a non-blocking socket, waiting at most `timeout` for the client to take each piece. A client
// that closed its connection makes write() return false (no SIGPIPE).
class SocketWriter {
 public:
  SocketWriter(int fd, std::chrono::milliseconds timeout) : fd_(fd), timeout_(timeout) {}
  bool write(std::string_view data);
  bool ok() const { return ok_; }
  // The next `n` bytes given to write() were already sent (by ClientProbe) and are skipped.
  void skip(size_t n) { skip_ = n; }

 private:
  int fd_;
  std::chrono::milliseconds timeout_;
  size_t skip_ = 0;
  bool ok_ = true;
};

// Tells whether the client of a connection went away. A client that only half-closed (shutdown(SHUT_WR)
// after its request) looks the same from the server's side until something is written: on the first sign of
// end-of-input the probe sends the first byte of the response ("H", which every status line starts with). A
// client that is really gone answers it with a reset; a half-closed one reads it as the start of its answer.
class ClientProbe {
 public:
  explicit ClientProbe(int fd) : fd_(fd) {}
  bool gone();
  // Bytes of the response already sent (0 or 1).
  size_t prefix_sent() const { return prefix_sent_ ? 1 : 0; }

 private:
  int fd_;
  bool prefix_sent_ = false;
  bool gone_ = false;
};

// "HTTP/1.1 200 OK\r\n" + headers + "\r\n"; CR, LF and NUL in values become spaces.
std::string response_head(int status, const std::vector<std::pair<std::string, std::string>>& headers);

// The reason phrase for a status line ("Not Found"), "" when unknown.
const char* reason_phrase(int status);

}  // namespace torchllm::server
