// A fuzz loop against a live HTTP server on loopback, built with AddressSanitizer and UBSan: mutated request
// heads, random chunked framing, oversized and deeply nested JSON bodies, pipelined and abandoned requests.
// The route parses the body as the API does (bounded nesting) and renders it through a chat template (the
// recursive walks over request JSON and the Jinja values built from it). Every answer must be a status line,
// the server must keep answering /health, and the sanitizers must stay quiet.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>

#include "server/api_error.h"
#include "server/http_server.h"
#include "server/request_json.h"
#include "torchllm/chat_template.h"
#include "torchllm/error.h"

namespace torchllm::server {
namespace {

using Clock = std::chrono::steady_clock;

// Sends `data` on a new connection and returns what comes back within `timeout_ms` (or until the server
// closes). `half_close`: shut our side after sending, as a client with nothing more to say; otherwise the
// connection is simply dropped after the wait.
std::string exchange(int port, const std::string& data, bool half_close, int timeout_ms) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) {
    size_t sent = 0;
    while (sent < data.size()) {
      const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    if (half_close) ::shutdown(fd, SHUT_WR);
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char buffer[8192];
      const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
      if (n <= 0) break;
      reply.append(buffer, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return reply;
}

std::string nested(std::mt19937& rng, int depth) {
  const bool arrays = rng() % 2 == 0;
  std::string open = arrays ? "[" : "{\"a\":";
  std::string close = arrays ? "]" : "}";
  std::string text;
  for (int i = 0; i < depth; ++i) text += open;
  text += "1";
  if (rng() % 4 != 0) {  // sometimes left unclosed
    for (int i = 0; i < depth; ++i) text += close;
  }
  return text;
}

std::string random_body(std::mt19937& rng) {
  const int depths[] = {1, 8, 62, 63, 64, 65, 500, 100000};
  const std::string value = nested(rng, depths[rng() % 8]);
  switch (rng() % 5) {
    case 0:
      return R"({"messages": [{"role": "user", "content": )" + value + "}]}";
    case 1:
      return R"({"messages": [{"role": "assistant", "content": "x", "tool_calls": )" + value + "}]}";
    case 2:
      return R"({"messages": [{"role": "user", "content": "hi"}], "chat_template_kwargs": {"k": )" + value +
             "}}";
    case 3: {
      std::string junk(rng() % 3000, ' ');
      for (char& c : junk) c = static_cast<char>(rng() % 256);
      return junk;
    }
    default:
      return R"({"messages": [{"role": "user", "content": ")" + std::string(rng() % 20000, 'x') + R"("}]})";
  }
}

std::string chunked(std::mt19937& rng, const std::string& body) {
  std::string out;
  size_t at = 0;
  while (at < body.size()) {
    const size_t n = std::min<size_t>(body.size() - at, 1 + rng() % 700);
    char size[32];
    std::snprintf(size, sizeof(size), rng() % 50 == 0 ? "%zX;x=y\r\n" : "%zx\r\n", n);
    out += size + body.substr(at, n) + "\r\n";
    at += n;
  }
  if (rng() % 10 != 0) out += "0\r\n\r\n";
  return out;
}

std::string mutate(std::mt19937& rng, std::string text) {
  const int edits = 1 + static_cast<int>(rng() % 6);
  for (int i = 0; i < edits && !text.empty(); ++i) {
    const size_t at = rng() % text.size();
    switch (rng() % 5) {
      case 0:
        text[at] = static_cast<char>(rng() % 256);
        break;
      case 1:
        text.erase(at, 1 + rng() % 8);
        break;
      case 2:
        text.insert(at, rng() % 2 ? "\r\n" : ":");
        break;
      case 3:
        text.insert(at, std::string(1 + rng() % 100, static_cast<char>('0' + rng() % 10)));
        break;
      default:
        text.resize(at);
        break;
    }
  }
  return text;
}

std::string random_request(std::mt19937& rng) {
  const std::string body = random_body(rng);
  const bool use_chunked = rng() % 3 == 0;
  std::string head = std::string(rng() % 8 == 0 ? "GET" : "POST") + " /chat HTTP/1." +
                     (rng() % 6 ? "1" : "0") + "\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
  if (rng() % 10 == 0) head += "Expect: 100-continue\r\n";
  if (rng() % 15 == 0) head += "Content-Encoding: gzip\r\n";
  std::string request;
  if (use_chunked) {
    request = head + "Transfer-Encoding: chunked\r\n\r\n" + chunked(rng, body);
  } else {
    const size_t length = rng() % 20 == 0 ? body.size() + rng() % 100 : body.size();  // sometimes too long
    request = head + "Content-Length: " + std::to_string(length) + "\r\n\r\n" + body;
  }
  if (rng() % 4 == 0) request = mutate(rng, request);
  if (rng() % 6 == 0) request += "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";  // pipelined
  return request;
}

TEST(HttpFuzz, RandomRequestsNeverHurtTheServer) {
  HttpServerOptions options;
  options.threads = 4;
  options.max_body_bytes = 400000;
  options.header_timeout_s = 0.5;
  options.read_timeout_s = 0.5;
  auto on_error = [](int status, const HttpRequest&, const std::string& what) {
    return HttpResponse{status, "application/json", nlohmann::json{{"error", what}}.dump(), {}, {}};
  };
  HttpServer server(options, on_error, [](const HttpRequest&, HttpResponse&) {});
  const ChatTemplate chat(
      "{% for m in messages %}{{ m.role }}: {{ m.content if m.content is string else m.content|tojson }}"
      "{% if m.tool_calls %}{{ m.tool_calls|tojson }}{% endif %}\n{% endfor %}{{ k|tojson }}");
  server.route("POST", "/chat", [&chat](const HttpRequest& request) {
    const nlohmann::json body = parse_request_json(request.body);
    ChatRenderOptions render;
    if (body.contains("chat_template_kwargs") && body["chat_template_kwargs"].is_object()) {
      render.kwargs = nlohmann::ordered_json::parse(body["chat_template_kwargs"].dump());
    }
    const auto messages =
        nlohmann::ordered_json::parse(body.value("messages", nlohmann::json::array()).dump());
    try {
      return HttpResponse{200, "text/plain", chat.render(messages, render), {}, {}};
    } catch (const Error& e) {
      throw ApiError::bad_request(e.what());
    }
  });
  server.route(
      "GET", "/health",
      [](const HttpRequest&) {
        return HttpResponse{200, "text/plain", "up", {}, {}};
      },
      RouteKind::kProbe);
  ASSERT_TRUE(server.bind("127.0.0.1", 0));
  std::thread listener([&server] { server.listen(); });
  const int port = server.bound_port();

  std::mt19937 rng(20261202);
  const int iterations = 1500;
  int answered = 0;
  for (int i = 0; i < iterations; ++i) {
    const std::string request = random_request(rng);
    const bool half_close = rng() % 2 == 0;
    const std::string reply = exchange(port, request, half_close, half_close ? 600 : 5);
    if (!reply.empty()) {
      ++answered;
      ASSERT_EQ(reply.rfind("HTTP/1.1 ", 0), 0u) << "iteration " << i << ": " << reply.substr(0, 200);
    }
    if (i % 100 == 99) {
      const std::string health =
          exchange(port, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false, 2000);
      ASSERT_NE(health.find("200 OK"), std::string::npos) << "after iteration " << i << ": " << health;
    }
  }
  EXPECT_GT(answered, iterations / 4);
  server.stop();
  listener.join();
}

}  // namespace
}  // namespace torchllm::server
