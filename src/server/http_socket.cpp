#include "server/http_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace torchllm::server {

bool SocketWriter::write(std::string_view data) {
  if (!ok_) return false;
  const size_t skipped = std::min(skip_, data.size());
  data.remove_prefix(skipped);
  skip_ -= skipped;
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  while (!data.empty()) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return ok_ = false;
      pollfd p{fd_, POLLOUT, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno != EINTR) return ok_ = false;
      if (ready > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL))) return ok_ = false;
      continue;
    }
    return ok_ = false;
  }
  return true;
}

bool ClientProbe::gone() {
  if (gone_) return true;
  pollfd p{fd_, POLLIN | POLLRDHUP, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLERR | POLLHUP | POLLNVAL)) return gone_ = true;
  if ((p.revents & POLLRDHUP) && !prefix_sent_) {
    const ssize_t n = ::send(fd_, "H", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n == 1) {
      prefix_sent_ = true;
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      gone_ = true;
    }
  }
  return gone_;
}

std::string response_head(int status, const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) + "\r\n";
  for (const auto& [name, value] : headers) {
    head += name;
    head += ": ";
    // A value never carries a line break into the response (it may echo something the client sent).
    for (char c : value) head += (c == '\r' || c == '\n' || c == '\0') ? ' ' : c;
    head += "\r\n";
  }
  head += "\r\n";
  return head;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 421:
      return "Misdirected Request";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "";
  }
}

}  // namespace torchllm::server
