#include "server/listening_socket.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace torchllm::server {
namespace {

// The kernel's limit for pending connections (net.core.somaxconn); listen() with less drops SYNs under a
// burst of clients.
int listen_backlog() {
  std::ifstream file("/proc/sys/net/core/somaxconn");
  int value = 0;
  if (file >> value && value > 0) return value;
  return SOMAXCONN;
}

}  // namespace

int open_listening_socket(const std::string& host, int port, std::string& error, int& bound_port) {
  int listen_fd = -1;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found)) {
    error = gai_strerror(rc);
    return -1;
  }
  for (addrinfo* ai = found; ai; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      error = std::strerror(errno);
      continue;
    }
    // SO_REUSEADDR only lets a restarted server bind over connections in TIME_WAIT; it does not let two
    // servers listen on one port (SO_REUSEPORT would, and the kernel would split clients between them).
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, listen_backlog()) == 0) {
      listen_fd = fd;
      break;
    }
    error = std::strerror(errno);
    ::close(fd);
  }
  freeaddrinfo(found);
  if (listen_fd < 0) return -1;
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  getsockname(listen_fd, reinterpret_cast<sockaddr*>(&address), &length);
  bound_port = ntohs(address.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&address)->sin6_port
                                                   : reinterpret_cast<sockaddr_in*>(&address)->sin_port);
  return listen_fd;
}

}  // namespace torchllm::server
