// The HTTP server against clients that misbehave, over raw sockets on loopback: malformed framing, bodies
// over the limit (chunked too), compressed bodies, slow heads, too many connections, pipelining, half-closed
// and vanished clients, HTTP/1.0, refusals before the body is read, and a second server on the same port.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "server/http_server.h"

namespace torchllm::server {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A blocking loopback client socket.
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~RawClient() { close(); }
  bool connected() const { return connected_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool send(const std::string& data) {
    size_t sent = 0;
    while (sent < data.size()) {
      const ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }
  // Everything until the server closes, or until `timeout` passes.
  std::string read_all(double timeout = 5) { return read_until("", timeout); }
  // Reads until `marker` has arrived `count` times (or the connection closes, or `timeout` passes).
  std::string read_until(const std::string& marker, double timeout = 5, int count = 1) {
    std::string data;
    const auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<int>(timeout * 1000));
    while (Clock::now() < deadline) {
      if (!marker.empty() && occurrences(data, marker) >= count) break;
      pollfd p{fd_, POLLIN, 0};
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(left, 1))) <= 0) continue;
      char buffer[4096];
      const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      data.append(buffer, static_cast<size_t>(n));
    }
    return data;
  }
  bool closed_by_server() const { return closed_; }

  static int occurrences(const std::string& text, const std::string& marker) {
    int n = 0;
    for (size_t at = text.find(marker); at != std::string::npos; at = text.find(marker, at + 1)) ++n;
    return n;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
};

int status_of(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return -1;
  return std::stoi(response.substr(9, 3));
}

class HttpHostileTest : public ::testing::Test {
 protected:
  void start(HttpServerOptions options) {
    auto on_error = [](int status, const HttpRequest&, const std::string& what) {
      HttpResponse response;
      response.status = status;
      response.body = nlohmann::json{{"error", {{"message", what}}}}.dump();
      return response;
    };
    server_ = std::make_unique<HttpServer>(options, on_error, [](const HttpRequest&, HttpResponse&) {});
    server_->set_admission([](const HttpRequest& request) -> std::optional<HttpResponse> {
      if (request.path == "/guarded" && request.header("authorization") != "Bearer k") {
        return HttpResponse{401, "application/json", "{\"error\":\"key\"}", {}, {}};
      }
      return std::nullopt;
    });
    server_->route("GET", "/ok", [](const HttpRequest& r) {
      return HttpResponse{200, "text/plain", "ok " + r.id, {}, {}};
    });
    server_->route("POST", "/echo", [](const HttpRequest& r) {
      return HttpResponse{200, "text/plain", r.body, {}, {}};
    });
    server_->route("POST", "/guarded", [](const HttpRequest& r) {
      return HttpResponse{200, "text/plain", std::to_string(r.body.size()), {}, {}};
    });
    server_->route(
        "GET", "/health",
        [](const HttpRequest&) {
          return HttpResponse{200, "text/plain", "up", {}, {}};
        },
        RouteKind::kProbe);
    server_->route("GET", "/stream", [](const HttpRequest&) {
      HttpResponse response;
      response.content_type = "text/event-stream";
      response.stream = [](StreamSink& sink) {
        for (int i = 0; i < 3; ++i) sink.write("data: " + std::to_string(i) + "\n\n");
      };
      return response;
    });
    // Blocks until released; notes whether it saw its client leave.
    server_->route("GET", "/wait", [this](const HttpRequest& request) {
      const auto start = Clock::now();
      while (seconds_since(start) < 10) {
        if (request.client_gone()) {
          saw_gone_.store(true);
          return HttpResponse{499, "text/plain", "", {}, {}};
        }
        std::unique_lock<std::mutex> lock(mutex_);
        if (released_.wait_for(lock, std::chrono::milliseconds(50), [this] { return release_; })) break;
      }
      return HttpResponse{200, "text/plain", "waited", {}, {}};
    });
    ASSERT_TRUE(server_->bind("127.0.0.1", 0));
    thread_ = std::thread([this] { server_->listen(); });
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      release_ = true;
    }
    released_.notify_all();
  }
  void TearDown() override {
    release();
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  static HttpServerOptions small_options() {
    HttpServerOptions options;
    options.threads = 4;
    options.max_body_bytes = 1000;
    return options;
  }
  int port() const { return server_->bound_port(); }

  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable released_;
  bool release_ = false;
  std::atomic<bool> saw_gone_{false};
};

const std::string kHost = "Host: 127.0.0.1\r\n";

TEST_F(HttpHostileTest, InvalidContentLengthIs400AtOnce) {
  start(small_options());
  for (const char* length : {"-1", "abc", "1e3", "99999999999999999999999"}) {
    RawClient client(port());
    const auto begin = Clock::now();
    client.send("POST /echo HTTP/1.1\r\n" + kHost + "Content-Length: " + length + "\r\n\r\n");
    const std::string response = client.read_all();
    EXPECT_EQ(status_of(response), 400) << length << ": " << response;
    EXPECT_LT(seconds_since(begin), 1.0) << length;
  }
}

TEST_F(HttpHostileTest, ContentLengthOverTheLimitIs413BeforeTheBody) {
  start(small_options());
  RawClient client(port());
  const auto begin = Clock::now();
  client.send("POST /echo HTTP/1.1\r\n" + kHost + "Content-Length: 100000000\r\n\r\n");
  EXPECT_EQ(status_of(client.read_all()), 413);
  EXPECT_LT(seconds_since(begin), 1.0);
}

TEST_F(HttpHostileTest, ChunkedBodyIsCountedAgainstTheLimit) {
  start(small_options());
  RawClient client(port());
  client.send("POST /echo HTTP/1.1\r\n" + kHost + "Transfer-Encoding: chunked\r\n\r\n");
  // 100 chunks of 100 bytes: 10 times the limit. The server answers 413 and closes once it passes 1000.
  for (int i = 0; i < 100 && client.send("64\r\n" + std::string(100, 'x') + "\r\n"); ++i) {
  }
  const std::string response = client.read_all();
  EXPECT_EQ(status_of(response), 413) << response;

  RawClient small(port());
  small.send("POST /echo HTTP/1.1\r\n" + kHost +
             "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n");
  const std::string echoed = small.read_until("hello world");
  EXPECT_EQ(status_of(echoed), 200) << echoed;
  EXPECT_NE(echoed.find("\r\n\r\nhello world"), std::string::npos) << echoed;
}

TEST_F(HttpHostileTest, CompressedBodiesAreRefused) {
  start(small_options());
  RawClient client(port());
  client.send("POST /echo HTTP/1.1\r\n" + kHost +
              "Content-Encoding: gzip\r\nContent-Length: 10\r\n\r\n0123456789");
  EXPECT_EQ(status_of(client.read_all()), 415);
}

TEST_F(HttpHostileTest, AdmissionRefusesBeforeTheBodyIsRead) {
  start(small_options());
  RawClient client(port());
  const auto begin = Clock::now();
  client.send("POST /guarded HTTP/1.1\r\n" + kHost + "Content-Length: 900\r\n\r\n");
  EXPECT_EQ(status_of(client.read_all()), 401);
  EXPECT_LT(seconds_since(begin), 1.0);
  RawClient allowed(port());
  allowed.send("POST /guarded HTTP/1.1\r\n" + kHost +
               "Authorization: Bearer k\r\nContent-Length: 3\r\n\r\nabc");
  const std::string response = allowed.read_until("\r\n\r\n3");
  EXPECT_EQ(status_of(response), 200) << response;
}

TEST_F(HttpHostileTest, Expect100ContinueIsAnswered) {
  start(small_options());
  RawClient client(port());
  client.send("POST /echo HTTP/1.1\r\n" + kHost + "Expect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  EXPECT_EQ(status_of(client.read_until("\r\n\r\n")), 100);
  client.send("hi");
  const std::string response = client.read_until("hi");
  EXPECT_NE(response.find("200 OK"), std::string::npos) << response;
}

TEST_F(HttpHostileTest, SlowHeadGets408AtTheDeadline) {
  HttpServerOptions options = small_options();
  options.header_timeout_s = 0.5;
  start(options);
  RawClient client(port());
  const auto begin = Clock::now();
  std::string response;
  for (char c : std::string("GET /ok HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaa")) {
    if (!client.send(std::string(1, c))) break;
    response += client.read_until("", 0.05);
    if (client.closed_by_server()) break;
  }
  response += client.read_all(2);
  EXPECT_EQ(status_of(response), 408) << response;
  EXPECT_LT(seconds_since(begin), 2.0);
}

TEST_F(HttpHostileTest, IdleConnectionsAreClosed) {
  HttpServerOptions options = small_options();
  options.header_timeout_s = 0.3;
  start(options);
  RawClient client(port());
  const auto begin = Clock::now();
  EXPECT_EQ(client.read_all(3), "");
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_LT(seconds_since(begin), 2.0);
}

TEST_F(HttpHostileTest, ConnectionsOverTheCapGet503) {
  HttpServerOptions options = small_options();
  options.max_connections = 3;
  start(options);
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < 3; ++i) held.push_back(std::make_unique<RawClient>(port()));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  RawClient extra(port());
  EXPECT_EQ(status_of(extra.read_all()), 503);
  held.clear();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  RawClient later(port());
  later.send("GET /ok HTTP/1.1\r\n" + kHost + "\r\n");
  EXPECT_EQ(status_of(later.read_until("ok ")), 200);
}

TEST_F(HttpHostileTest, ProbesAnswerWhileEveryWorkerIsBusy) {
  HttpServerOptions options = small_options();
  options.threads = 2;
  start(options);
  std::vector<std::unique_ptr<RawClient>> busy;
  for (int i = 0; i < 4; ++i) {
    busy.push_back(std::make_unique<RawClient>(port()));
    busy.back()->send("GET /wait HTTP/1.1\r\n" + kHost + "\r\n");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  RawClient probe(port());
  const auto begin = Clock::now();
  probe.send("GET /health HTTP/1.1\r\n" + kHost + "\r\n");
  EXPECT_EQ(status_of(probe.read_until("up", 2)), 200);
  EXPECT_LT(seconds_since(begin), 0.5);
  release();
  for (auto& client : busy) EXPECT_NE(client->read_until("waited").find("waited"), std::string::npos);
}

TEST_F(HttpHostileTest, PipelinedRequestsAreAnsweredInOrder) {
  start(small_options());
  RawClient client(port());
  client.send("POST /echo HTTP/1.1\r\n" + kHost + "Content-Length: 5\r\n\r\nfirstGET /nope HTTP/1.1\r\n" +
              kHost + "\r\nPOST /echo HTTP/1.1\r\n" + kHost + "Content-Length: 6\r\n\r\nsecond");
  const std::string response = client.read_until("HTTP/1.1 ", 5, 3);
  const std::string all = response + client.read_until("second", 1);
  const size_t first = all.find("first"), missing = all.find("404"), second = all.find("second");
  ASSERT_NE(first, std::string::npos) << all;
  ASSERT_NE(missing, std::string::npos) << all;
  ASSERT_NE(second, std::string::npos) << all;
  EXPECT_LT(first, missing);
  EXPECT_LT(missing, second);
}

TEST_F(HttpHostileTest, HalfClosedClientGetsItsResponse) {
  start(small_options());
  RawClient client(port());
  client.send("GET /wait HTTP/1.1\r\n" + kHost + "\r\n");
  client.shutdown_write();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  release();
  const std::string response = client.read_all();
  EXPECT_EQ(status_of(response), 200) << response;
  EXPECT_NE(response.find("waited"), std::string::npos);
  EXPECT_FALSE(saw_gone_.load());
}

TEST_F(HttpHostileTest, HandlerSeesAClientThatLeft) {
  start(small_options());
  {
    RawClient client(port());
    client.send("GET /wait HTTP/1.1\r\n" + kHost + "\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const auto begin = Clock::now();
  while (!saw_gone_.load() && seconds_since(begin) < 3)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(saw_gone_.load());
}

TEST_F(HttpHostileTest, Http10StreamIsDelimitedByClose) {
  start(small_options());
  RawClient client(port());
  client.send("GET /stream HTTP/1.0\r\n\r\n");
  const std::string response = client.read_all();
  EXPECT_EQ(status_of(response), 200) << response;
  EXPECT_EQ(response.find("chunked"), std::string::npos) << response;
  EXPECT_NE(response.find("\r\n\r\ndata: 0\n\ndata: 1\n\ndata: 2\n\n"), std::string::npos) << response;
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(HttpHostileTest, MalformedHeadsAreRefused) {
  start(small_options());
  const std::vector<std::pair<std::string, int>> cases = {
      {"GET /ok HTTP/1.1\r\n\r\n", 400},                                // no Host
      {"GET /ok HTTP/2.0\r\n" + kHost + "\r\n", 505},                   // version
      {"GET  /ok HTTP/1.1\r\n" + kHost + "\r\n", 400},                  // request line
      {"GET /ok%zz HTTP/1.1\r\n" + kHost + "\r\n", 400},                // escape
      {"GET /ok HTTP/1.1\r\n" + kHost + "Bad Header: x\r\n\r\n", 400},  // header name
      {"POST /echo HTTP/1.1\r\n" + kHost + "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"POST /echo HTTP/1.1\r\n" + kHost + "Transfer-Encoding: gzip\r\n\r\n", 501},
      {"GET /ok HTTP/1.1\r\n" + kHost + "X: " + std::string(70000, 'a') + "\r\n\r\n", 431},
  };
  for (const auto& [request, status] : cases) {
    RawClient client(port());
    client.send(request);
    EXPECT_EQ(status_of(client.read_all()), status) << request.substr(0, 80);
  }
}

TEST_F(HttpHostileTest, RequestIdIsEchoedWhenPlainAndGeneratedOtherwise) {
  start(small_options());
  RawClient client(port());
  client.send("GET /ok HTTP/1.1\r\n" + kHost + "X-Request-Id: abc-123\r\n\r\n");
  EXPECT_NE(client.read_until("ok abc-123").find("X-Request-Id: abc-123\r\n"), std::string::npos);
  RawClient odd(port());
  odd.send("GET /ok HTTP/1.1\r\n" + kHost + "X-Request-Id: a b\"c\r\n\r\n");
  const std::string response = odd.read_until("ok ");
  EXPECT_EQ(response.find("a b\"c"), std::string::npos) << response;
  EXPECT_NE(response.find("X-Request-Id: "), std::string::npos) << response;
}

TEST_F(HttpHostileTest, SecondServerOnTheSamePortFails) {
  start(small_options());
  HttpServer second(
      small_options(), [](int, const HttpRequest&, const std::string&) { return HttpResponse{}; },
      [](const HttpRequest&, HttpResponse&) {});
  EXPECT_FALSE(second.bind("127.0.0.1", port()));
  EXPECT_NE(second.bind_error().find("in use"), std::string::npos) << second.bind_error();
}

}  // namespace
}  // namespace torchllm::server
