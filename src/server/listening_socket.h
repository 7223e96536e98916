#pragma once

// The server's listening socket.

#include <string>

namespace torchllm::server {

// A non-blocking socket listening on host:port (port 0: any free one) with the kernel's largest backlog and
// SO_REUSEADDR but not SO_REUSEPORT, so that a second server on the same port fails instead of sharing it.
// Returns the descriptor and sets `bound_port`, or returns -1 with the reason in `error`.
int open_listening_socket(const std::string& host, int port, std::string& error, int& bound_port);

}  // namespace torchllm::server
