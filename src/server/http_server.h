#pragma once

// cpp-httplib behind one class: routes take an HttpRequest and return an HttpResponse (a body, or a stream
// written from the handler's thread), so that no other file sees httplib. Handlers may throw; the wrapper
// catches everything and answers with the error body the server gives it.

#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace httplib {
class Server;
}

namespace torchllm::server {

struct HttpRequest {
  std::string method;
  std::string path;
  std::string body;
  std::vector<std::string> path_params;             // the route pattern's capture groups
  std::multimap<std::string, std::string> headers;  // names lower-cased

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
  // When set, the body is streamed (chunked transfer encoding): called once on the request's thread, it
  // writes until it returns.
  std::function<void(StreamSink&)> stream;
};

struct HttpServerOptions {
  size_t threads = 32;  // each open connection holds one while its request runs (streams included)
  size_t max_body_bytes = 8u * 1024 * 1024;
  double read_timeout_s = 60;
  double write_timeout_s = 60;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  // Builds the body of an error response (status >= 400) the server itself answers: an unknown route (404),
  // a known route with another method (405), a body over the limit (413), a malformed request (400), or a
  // handler that threw (`what` holds its message).
  using ErrorResponder = std::function<HttpResponse(int status, const HttpRequest&, const std::string& what)>;
  // Runs on every response before it is sent (e.g. CORS headers).
  using Finisher = std::function<void(const HttpRequest&, HttpResponse&)>;

  HttpServer(const HttpServerOptions& options, ErrorResponder on_error, Finisher finish);
  ~HttpServer();

  // `pattern` is a regular expression over the whole path.
  void route(const std::string& method, const std::string& pattern, Handler handler);

  // Binds the listening socket; false when the address cannot be bound. port 0 picks a free one.
  bool bind(const std::string& host, int port);
  int bound_port() const { return port_; }
  // Serves until stop(); blocks.
  void listen();
  // Closes the listening socket and ends listen() once the connections in progress are done. Call it only
  // once listen() has been called (on another thread): it waits for listen() to start.
  void stop();

 private:
  void handle(const Handler& handler, const void* raw_request, void* raw_response) const;
  std::vector<std::string> methods_for(const std::string& path) const;

  HttpServerOptions options_;
  ErrorResponder on_error_;
  Finisher finish_;
  std::vector<std::pair<std::string, std::string>> routes_;  // (method, pattern), for 405
  std::unique_ptr<httplib::Server> server_;
  std::atomic<bool> listen_returned_{false};
  int port_ = 0;
};

}  // namespace torchllm::server
