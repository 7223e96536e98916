#pragma once

// The HTTP/1.1 server: one I/O thread reads every request head and body with deadlines (so slow or idle
// clients hold a file descriptor, never a worker), then hands the complete request to a pool of workers that
// run the handler and write the response. Probe routes (/health, /metrics) have their own small pool, so
// they answer while every worker streams. Handlers may throw; the server catches everything and answers with
// the error body the ErrorResponder gives it.
//
// Written here rather than taken from cpp-httplib 0.11 (Debian 12's), which reads whole bodies before any
// handler sees the headers, applies no limit to chunked or compressed bodies, has no deadline for a request
// head, holds a thread per connection, reports no disconnect for plain responses and sets SO_REUSEPORT.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace torchllm::server {

class WorkerPool;

// What a handler notes about its request for the access log (token counts; -1: none).
struct RequestNotes {
  std::atomic<int64_t> prompt_tokens{-1};
  std::atomic<int64_t> completion_tokens{-1};
};

struct HttpRequest {
  std::string method;
  std::string path;   // percent-decoded, without the query
  std::string query;  // as sent, after '?'
  std::string body;
  std::vector<std::string> path_params;             // the route pattern's capture groups
  std::multimap<std::string, std::string> headers;  // names lower-cased
  int minor_version = 1;                            // HTTP/1.<minor>
  std::string id;                                   // X-Request-Id: the client's, or generated
  std::string peer;                                 // the client's address
  std::shared_ptr<RequestNotes> notes = std::make_shared<RequestNotes>();
  // True once the client has closed its connection; a handler that waits long before answering polls it
  // (from its own thread) to stop work nobody will read. Never set for requests built without a socket.
  std::function<bool()> client_gone = [] { return false; };

  // The first value of a header (name in any case), or "".
  std::string header(std::string_view name) const;
};

// Where a streaming response writes. write() returns false once the client is gone.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  virtual bool write(std::string_view data) = 0;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the body is streamed (chunked transfer encoding; HTTP/1.0: until the connection closes):
  // called once on the request's worker thread, it writes until it returns.
  std::function<void(StreamSink&)> stream;
};

struct HttpServerOptions {
  size_t threads = 32;           // workers: each runs one request at a time, streams included
  size_t probe_threads = 4;      // workers for probe routes
  size_t max_connections = 512;  // open connections; more are answered 503 and closed
  size_t max_body_bytes = 8u * 1024 * 1024;
  double header_timeout_s = 10;      // from a request's first byte to the end of its head
  double read_timeout_s = 60;        // from the end of the head to the end of the body
  double write_timeout_s = 60;       // longest a response write may wait for the client
  double keep_alive_timeout_s = 30;  // idle connections are closed after this long
};

enum class RouteKind {
  kWork,   // runs on the worker pool
  kProbe,  // cheap and never blocking (health, metrics): runs on the probe pool
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  // Builds the body of an error response (status >= 400) the server itself answers: an unknown route (404),
  // a known route with another method (405), a malformed request (400, 411, 431, 501, 505), a body over the
  // limit (413), an unsupported Content-Encoding (415), a request too slow to arrive (408), too many
  // connections (503), or a handler that threw (500, `what` holds its message). `what` says what was wrong.
  using ErrorResponder = std::function<HttpResponse(int status, const HttpRequest&, const std::string& what)>;
  // Runs on every response before it is sent (e.g. CORS headers).
  using Finisher = std::function<void(const HttpRequest&, HttpResponse&)>;
  // Runs once a request's head has arrived and matched a route, before its body is read: a response refuses
  // the request (a missing API key, a foreign Host) without reading the body.
  using Admission = std::function<std::optional<HttpResponse>(const HttpRequest&)>;
  // Runs once per answered request, after the response was written (or the client went away).
  using AccessLogger = std::function<void(const HttpRequest&, int status, double seconds)>;

  HttpServer(const HttpServerOptions& options, ErrorResponder on_error, Finisher finish);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void set_admission(Admission admission) { admission_ = std::move(admission); }
  void set_access_logger(AccessLogger logger) { access_log_ = std::move(logger); }

  // `pattern` is a regular expression over the whole path.
  void route(const std::string& method, const std::string& pattern, Handler handler,
             RouteKind kind = RouteKind::kWork);

  // Binds the listening socket (no SO_REUSEPORT: a second server on the same port fails); false when the
  // address cannot be bound, with the reason in bind_error(). port 0 picks a free one.
  bool bind(const std::string& host, int port);
  int bound_port() const { return port_; }
  const std::string& bind_error() const { return bind_error_; }
  // Serves until stop(); blocks. Returns once the requests in progress are answered.
  void listen();
  // Stops accepting and makes listen() return once the requests in progress are done. Any thread.
  void stop();

 private:
  struct Route {
    std::string method;
    std::regex pattern;
    Handler handler;
    RouteKind kind;
  };
  struct Connection;

  void io_loop();
  // False when the process is out of file descriptors.
  bool accept_connections();
  void read_from(const std::shared_ptr<Connection>& connection);
  // Parses what the connection has buffered; false when the connection was closed.
  bool advance(const std::shared_ptr<Connection>& connection);
  // A head has arrived: route, refuse or prepare to read the body. False when the connection was closed.
  bool start_request(const std::shared_ptr<Connection>& connection);
  void dispatch(const std::shared_ptr<Connection>& connection);
  void serve(const std::shared_ptr<Connection>& connection);
  void refuse(const std::shared_ptr<Connection>& connection, int status, const std::string& what,
              bool keep_open, const std::vector<std::pair<std::string, std::string>>& extra_headers = {});
  // Writes a small response from the I/O thread; keeps the connection for the next request if asked and
  // possible, else closes it.
  void respond_inline(const std::shared_ptr<Connection>& connection, HttpResponse response, bool keep_open);
  void close_connection(const std::shared_ptr<Connection>& connection);
  void hand_back(const std::shared_ptr<Connection>& connection);
  void wake();
  HttpResponse error_response(int status, const HttpRequest& request, const std::string& what) const;

  HttpServerOptions options_;
  ErrorResponder on_error_;
  Finisher finish_;
  Admission admission_;
  AccessLogger access_log_;
  std::vector<Route> routes_;

  int listen_fd_ = -1;
  int wake_fd_ = -1;
  int port_ = 0;
  std::string bind_error_;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> open_connections_{0};
  std::map<int, std::shared_ptr<Connection>> connections_;  // the ones the I/O thread reads (owned by it)
  std::mutex returned_mutex_;
  std::vector<std::shared_ptr<Connection>> returned_;  // keep-alive connections workers are done with
  std::unique_ptr<WorkerPool> workers_;
  std::unique_ptr<WorkerPool> probe_workers_;
};

}  // namespace torchllm::server
