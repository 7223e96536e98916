#include "server/http_server.h"

#include <fcntl.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>

#include "server/http_request_parser.h"
#include "server/http_socket.h"
#include "server/listening_socket.h"
#include "server/worker_pool.h"

namespace torchllm::server {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kLargeBody = 1 << 20;

std::chrono::milliseconds millis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(std::max(seconds, 0.0) * 1000));
}

// A client's X-Request-Id is echoed only when it is short and plain (it lands in logs and headers).
bool plain_request_id(const std::string& id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ':';
  });
}

std::string new_request_id() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  static const char* digits = "0123456789abcdef";
  std::string id(16, '0');
  uint64_t bits = random();
  for (char& c : id) {
    c = digits[bits & 15];
    bits >>= 4;
  }
  return id;
}

std::string address_text(const sockaddr_storage& address) {
  char host[NI_MAXHOST] = "";
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&address), sizeof(address), host, sizeof(host), nullptr,
                  0, NI_NUMERICHOST) != 0) {
    return "?";
  }
  return host;
}

bool has_no_body(int status) { return status < 200 || status == 204 || status == 304; }

// Writes a whole (not streamed) response.
bool write_whole(SocketWriter& writer, const HttpResponse& response, bool keep_alive) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!has_no_body(response.status)) {
    if (!response.body.empty()) headers.emplace_back("Content-Type", response.content_type);
    headers.emplace_back("Content-Length", std::to_string(response.body.size()));
  }
  headers.emplace_back("Connection", keep_alive ? "keep-alive" : "close");
  headers.insert(headers.end(), response.headers.begin(), response.headers.end());
  std::string data = response_head(response.status, headers);
  if (!has_no_body(response.status)) data += response.body;
  return writer.write(data);
}

// A stream's writes as chunks (HTTP/1.1) or as they are (HTTP/1.0, delimited by closing the connection).
class ChunkedSink : public StreamSink {
 public:
  ChunkedSink(SocketWriter& writer, bool chunked) : writer_(writer), chunked_(chunked) {}
  bool write(std::string_view data) override {
    if (data.empty()) return writer_.ok();
    if (!chunked_) return writer_.write(data);
    char size[32];
    std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
    std::string chunk = size;
    chunk.append(data);
    chunk += "\r\n";
    return writer_.write(chunk);
  }

 private:
  SocketWriter& writer_;
  bool chunked_;
};

}  // namespace

std::string HttpRequest::header(std::string_view name) const {
  auto it = headers.find(ascii_lower(name));
  return it == headers.end() ? std::string() : it->second;
}

struct HttpServer::Connection {
  enum class Phase { kIdle, kHead, kBody, kBusy };

  int fd = -1;
  std::string peer;
  std::string in;  // received and not yet parsed (the rest of a body, pipelined requests)
  Phase phase = Phase::kIdle;
  Clock::time_point deadline;
  Clock::time_point started;  // the request's first byte
  RequestHead head;
  HttpRequest request;
  const Route* route = nullptr;
  std::optional<ChunkedDecoder> chunked;
  uint64_t body_left = 0;
};

HttpServer::HttpServer(const HttpServerOptions& options, ErrorResponder on_error, Finisher finish)
    : options_(options), on_error_(std::move(on_error)), finish_(std::move(finish)) {
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

HttpServer::~HttpServer() {
  stop();
  if (workers_) workers_->join();
  if (probe_workers_) probe_workers_->join();
  for (auto& [fd, connection] : connections_) ::close(fd);
  for (auto& connection : returned_) ::close(connection->fd);
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void HttpServer::route(const std::string& method, const std::string& pattern, Handler handler,
                       RouteKind kind) {
  routes_.push_back(Route{method, std::regex(pattern), std::move(handler), kind});
}

bool HttpServer::bind(const std::string& host, int port) {
  listen_fd_ = open_listening_socket(host, port, bind_error_, port_);
  return listen_fd_ >= 0;
}

void HttpServer::listen() {
  if (listen_fd_ < 0) return;
  workers_ = std::make_unique<WorkerPool>(options_.threads);
  probe_workers_ = std::make_unique<WorkerPool>(options_.probe_threads);
  io_loop();
  ::close(listen_fd_);
  listen_fd_ = -1;
  for (auto& [fd, connection] : connections_) {
    ::close(fd);
    --open_connections_;
  }
  connections_.clear();
  workers_->join();
  probe_workers_->join();
  std::lock_guard<std::mutex> lock(returned_mutex_);
  for (auto& connection : returned_) {
    ::close(connection->fd);
    --open_connections_;
  }
  returned_.clear();
}

void HttpServer::stop() {
  stopping_.store(true);
  wake();
}

void HttpServer::wake() {
  if (wake_fd_ < 0) return;
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof(one));
}

void HttpServer::io_loop() {
  std::vector<pollfd> fds;
  std::vector<std::shared_ptr<Connection>> polled;
  Clock::time_point accept_paused_until{};
  while (!stopping_.load()) {
    std::vector<std::shared_ptr<Connection>> back;
    {
      std::lock_guard<std::mutex> lock(returned_mutex_);
      back.swap(returned_);
    }
    for (auto& connection : back) {
      connection->phase = Connection::Phase::kIdle;
      connection->deadline = Clock::now() + millis(options_.keep_alive_timeout_s);
      connections_[connection->fd] = connection;
      if (!connection->in.empty()) advance(connection);  // a pipelined request
    }

    const Clock::time_point now = Clock::now();
    fds.assign(
        {pollfd{wake_fd_, POLLIN, 0}, pollfd{now >= accept_paused_until ? listen_fd_ : -1, POLLIN, 0}});
    polled.clear();
    Clock::time_point next = now + std::chrono::seconds(1);
    for (auto& [fd, connection] : connections_) {
      fds.push_back(pollfd{fd, POLLIN, 0});
      polled.push_back(connection);
      next = std::min(next, connection->deadline);
    }
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count() + 1;
    if (::poll(fds.data(), fds.size(), static_cast<int>(std::max<int64_t>(wait, 0))) < 0 && errno != EINTR) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    if (fds[0].revents) {
      uint64_t count = 0;
      [[maybe_unused]] ssize_t n = ::read(wake_fd_, &count, sizeof(count));
    }
    // Out of file descriptors: the pending connections stay queued; polling the socket again at once would
    // spin.
    if ((fds[1].revents & POLLIN) && !accept_connections()) {
      accept_paused_until = Clock::now() + std::chrono::milliseconds(100);
    }
    for (size_t i = 0; i < polled.size(); ++i) {
      if (fds[i + 2].revents && polled[i]->phase != Connection::Phase::kBusy && polled[i]->fd >= 0 &&
          connections_.count(polled[i]->fd)) {
        read_from(polled[i]);
      }
    }
    const Clock::time_point after = Clock::now();
    std::vector<std::shared_ptr<Connection>> expired;
    for (auto& [fd, connection] : connections_) {
      if (connection->deadline <= after) expired.push_back(connection);
    }
    for (auto& connection : expired) {
      if (connection->phase == Connection::Phase::kIdle) {
        close_connection(connection);
      } else {
        refuse(connection, 408,
               connection->phase == Connection::Phase::kHead ? "the request head did not arrive in time"
                                                             : "the request body did not arrive in time",
               false);
      }
    }
  }
}

bool HttpServer::accept_connections() {
  while (true) {
    sockaddr_storage address{};
    socklen_t length = sizeof(address);
    const int fd =
        ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return errno != EMFILE && errno != ENFILE;
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto connection = std::make_shared<Connection>();
    connection->fd = fd;
    connection->peer = address_text(address);
    ++open_connections_;
    if (open_connections_.load() > options_.max_connections) {
      connection->request.id = new_request_id();
      connections_[fd] = connection;
      refuse(connection, 503,
             "the server has too many open connections (" + std::to_string(options_.max_connections) +
                 "); try again later",
             false);
      continue;
    }
    // A new connection must send its first request within the head deadline.
    connection->deadline = Clock::now() + millis(options_.header_timeout_s);
    connections_[fd] = connection;
  }
}

void HttpServer::read_from(const std::shared_ptr<Connection>& connection) {
  char buffer[64 * 1024];
  while (true) {
    const ssize_t n = ::recv(connection->fd, buffer, sizeof(buffer), 0);
    if (n > 0) {
      connection->in.append(buffer, static_cast<size_t>(n));
      if (!advance(connection) || connection->phase == Connection::Phase::kBusy) return;
      if (static_cast<size_t>(n) < sizeof(buffer)) return;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    // End of input or an error. A request cut short gets no answer: nobody is left to read it.
    close_connection(connection);
    return;
  }
}

bool HttpServer::advance(const std::shared_ptr<Connection>& connection) {
  Connection& c = *connection;
  try {
    // Several requests may be buffered (pipelining): they are answered one after another, in order.
    while (c.fd >= 0 && c.phase != Connection::Phase::kBusy) {
      if (c.phase == Connection::Phase::kIdle || c.phase == Connection::Phase::kHead) {
        if (c.in.find_first_not_of("\r\n") == std::string::npos) {
          c.in.clear();  // empty lines between requests
          return true;
        }
        if (c.phase == Connection::Phase::kIdle) {
          c.phase = Connection::Phase::kHead;
          c.started = Clock::now();
          c.deadline = c.started + millis(options_.header_timeout_s);
          c.head = RequestHead{};
          c.request = HttpRequest{};
          c.request.peer = c.peer;
          c.request.id = new_request_id();
        }
        const std::optional<size_t> end = find_head_end(c.in);
        if (!end) return true;
        c.head = parse_head(std::string_view(c.in).substr(0, *end));
        c.in.erase(0, *end);
        if (!start_request(connection)) return false;
        continue;
      }
      // The body.
      if (c.chunked) {
        c.in.erase(0, c.chunked->feed(c.in, c.request.body));
        if (!c.chunked->done()) return true;
      } else {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(c.body_left, c.in.size()));
        c.request.body.append(c.in, 0, n);
        c.in.erase(0, n);
        c.body_left -= n;
        if (c.body_left > 0) return true;
      }
      dispatch(connection);
    }
    return c.fd >= 0;
  } catch (const HttpError& e) {
    refuse(connection, e.status(), e.what(), false);
    return false;
  }
}

bool HttpServer::start_request(const std::shared_ptr<Connection>& connection) {
  Connection& c = *connection;
  const RequestHead& head = c.head;
  HttpRequest& request = c.request;
  request.method = head.method;
  request.path = head.path;
  request.query = head.query;
  request.headers = head.headers;
  request.minor_version = head.minor_version;
  const std::string client_id = head.header("x-request-id");
  if (plain_request_id(client_id)) request.id = client_id;
  const bool has_body = head.chunked || head.content_length > 0;

  c.route = nullptr;
  std::string allowed;
  for (const Route& route : routes_) {
    std::smatch match;
    if (!std::regex_match(request.path, match, route.pattern)) continue;
    if (route.method == request.method) {
      c.route = &route;
      for (size_t i = 1; i < match.size(); ++i) request.path_params.push_back(match[i].str());
      break;
    }
    if (route.method != "OPTIONS" && allowed.find(route.method) == std::string::npos) {
      allowed += (allowed.empty() ? "" : ", ") + route.method;
    }
  }
  if (!c.route) {
    if (allowed.empty()) {
      refuse(connection, 404, "", !has_body);
    } else {
      refuse(connection, 405, "", !has_body, {{"Allow", allowed}});
    }
    return !has_body;
  }
  const std::string encoding = ascii_lower(head.header("content-encoding"));
  if (!encoding.empty() && encoding != "identity") {
    refuse(connection, 415,
           "Content-Encoding '" + encoding.substr(0, 40) + "' is not supported; send the body uncompressed",
           false);
    return false;
  }
  if (!head.chunked && head.content_length > options_.max_body_bytes) {
    refuse(connection, 413, "", false);
    return false;
  }
  if (admission_) {
    std::optional<HttpResponse> refusal;
    try {
      refusal = admission_(request);
    } catch (...) {
      refusal = error_response(500, request, "internal error");
    }
    if (refusal) {
      try {
        finish_(request, *refusal);
      } catch (...) {
      }
      respond_inline(connection, std::move(*refusal), !has_body);
      return c.fd >= 0;
    }
  }
  if (!has_body) {
    dispatch(connection);
    return true;
  }
  if (head.expect_continue && c.in.empty()) {
    SocketWriter writer(c.fd, std::chrono::milliseconds(200));
    writer.write("HTTP/1.1 100 Continue\r\n\r\n");
  }
  c.phase = Connection::Phase::kBody;
  c.deadline = Clock::now() + millis(options_.read_timeout_s);
  c.body_left = head.content_length;
  if (head.chunked) {
    c.chunked.emplace(options_.max_body_bytes);
  } else {
    c.chunked.reset();
    request.body.reserve(static_cast<size_t>(head.content_length));
  }
  return true;
}

void HttpServer::dispatch(const std::shared_ptr<Connection>& connection) {
  connection->phase = Connection::Phase::kBusy;
  connections_.erase(connection->fd);
  WorkerPool& pool = connection->route->kind == RouteKind::kProbe ? *probe_workers_ : *workers_;
  pool.post([this, connection] { serve(connection); });
}

void HttpServer::serve(const std::shared_ptr<Connection>& connection) {
  Connection& c = *connection;
  HttpRequest& request = c.request;
  ClientProbe probe(c.fd);
  request.client_gone = [&probe] { return probe.gone(); };
  HttpResponse response;
  try {
    response = c.route->handler(request);
  } catch (const std::exception& e) {
    response = error_response(500, request, e.what());
  } catch (...) {
    response = error_response(500, request, "internal error");
  }
  try {
    finish_(request, response);
  } catch (...) {
  }
  response.headers.emplace_back("X-Request-Id", request.id);
  request.client_gone = [] { return false; };

  SocketWriter writer(c.fd, millis(options_.write_timeout_s));
  writer.skip(probe.prefix_sent());
  bool keep = c.head.keep_alive && !stopping_.load();
  if (response.stream) {
    const bool chunked = request.minor_version >= 1;
    keep = keep && chunked;
    std::vector<std::pair<std::string, std::string>> headers = {{"Content-Type", response.content_type}};
    if (chunked) headers.emplace_back("Transfer-Encoding", "chunked");
    headers.emplace_back("Connection", keep ? "keep-alive" : "close");
    headers.insert(headers.end(), response.headers.begin(), response.headers.end());
    bool complete = writer.write(response_head(response.status, headers));
    if (complete) {
      ChunkedSink sink(writer, chunked);
      try {
        response.stream(sink);
      } catch (...) {
        complete = false;  // the client sees a stream cut short
      }
    }
    if (complete && chunked) writer.write("0\r\n\r\n");
    keep = keep && complete;
  } else {
    write_whole(writer, response, keep);
  }
  if (access_log_) {
    try {
      access_log_(request, response.status, std::chrono::duration<double>(Clock::now() - c.started).count());
    } catch (...) {
    }
  }
  // A large body (and what the handler built from it) was freed on this worker thread: give the memory back
  // to the system, or glibc keeps it in this thread's arena and every worker ends up holding its own peak.
  const bool large = request.body.size() > kLargeBody;
  request = HttpRequest{};
  if (large) malloc_trim(0);
  if (keep && writer.ok()) {
    hand_back(connection);
  } else {
    close_connection(connection);
  }
}

void HttpServer::refuse(const std::shared_ptr<Connection>& connection, int status, const std::string& what,
                        bool keep_open,
                        const std::vector<std::pair<std::string, std::string>>& extra_headers) {
  HttpResponse response = error_response(status, connection->request, what);
  response.headers.insert(response.headers.end(), extra_headers.begin(), extra_headers.end());
  respond_inline(connection, std::move(response), keep_open);
}

void HttpServer::respond_inline(const std::shared_ptr<Connection>& connection, HttpResponse response,
                                bool keep_open) {
  Connection& c = *connection;
  if (!c.request.id.empty()) response.headers.emplace_back("X-Request-Id", c.request.id);
  keep_open = keep_open && c.head.keep_alive && !stopping_.load();
  // Written by the I/O thread: small, and bounded in time so that no client can hold it.
  SocketWriter writer(c.fd, std::chrono::milliseconds(200));
  const bool written = write_whole(writer, response, keep_open);
  if (access_log_ && !c.request.method.empty()) {
    try {
      access_log_(c.request, response.status,
                  std::chrono::duration<double>(Clock::now() - c.started).count());
    } catch (...) {
    }
  }
  if (!keep_open || !written) {
    close_connection(connection);
    return;
  }
  c.phase = Connection::Phase::kIdle;
  c.deadline = Clock::now() + millis(options_.keep_alive_timeout_s);
}

void HttpServer::close_connection(const std::shared_ptr<Connection>& connection) {
  if (connection->fd < 0) return;
  if (connection->phase != Connection::Phase::kBusy) connections_.erase(connection->fd);
  ::close(connection->fd);
  connection->fd = -1;
  --open_connections_;
}

void HttpServer::hand_back(const std::shared_ptr<Connection>& connection) {
  {
    std::lock_guard<std::mutex> lock(returned_mutex_);
    returned_.push_back(connection);
  }
  wake();
}

HttpResponse HttpServer::error_response(int status, const HttpRequest& request,
                                        const std::string& what) const {
  HttpResponse response;
  try {
    response = on_error_(status, request, what);
    finish_(request, response);
  } catch (...) {
    response = HttpResponse{status, "application/json", "{\"error\":{\"message\":\"error\"}}", {}, {}};
  }
  response.status = status;
  response.stream = nullptr;
  return response;
}

}  // namespace torchllm::server
