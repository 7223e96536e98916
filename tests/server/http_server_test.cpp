// The httplib wrapper on a loopback port: routing, the error paths httplib answers itself (404, 405, 413),
// handlers that throw, and streams.
#include "server/http_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

namespace torchllm::server {
namespace {

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions options;
    options.threads = 4;
    options.max_body_bytes = 1000;
    auto on_error = [](int status, const HttpRequest& request, const std::string& what) {
      HttpResponse response;
      response.status = status;
      response.body = nlohmann::json{{"error", {{"message", what.empty() ? request.path : what}}}}.dump();
      return response;
    };
    auto finish = [](const HttpRequest&, HttpResponse& response) {
      response.headers.emplace_back("X-Seen", "1");
    };
    server_ = std::make_unique<HttpServer>(options, on_error, finish);
    server_->route("GET", "/ok", [](const HttpRequest&) {
      return HttpResponse{200, "text/plain", "fine", {}, {}};
    });
    server_->route("POST", "/echo", [](const HttpRequest& request) {
      return HttpResponse{201, "application/json", request.header("X-Thing") + ":" + request.body, {}, {}};
    });
    server_->route("GET", "/items/([a-z]+)", [](const HttpRequest& request) {
      return HttpResponse{200, "text/plain", request.path_params.at(0), {}, {}};
    });
    server_->route("GET", "/throw",
                   [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("boom"); });
    server_->route("GET", "/stream", [](const HttpRequest&) {
      HttpResponse response;
      response.content_type = "text/event-stream";
      response.stream = [](StreamSink& sink) {
        for (int i = 0; i < 3; ++i) sink.write("data: " + std::to_string(i) + "\n\n");
      };
      return response;
    });
    ASSERT_TRUE(server_->bind("127.0.0.1", 0));
    thread_ = std::thread([this] { server_->listen(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->bound_port());
    for (int i = 0; i < 100 && !client_->Get("/ok"); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  void TearDown() override {
    server_->stop();
    thread_.join();
  }

  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(HttpServerTest, Routes) {
  auto ok = client_->Get("/ok");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "fine");
  EXPECT_EQ(ok->get_header_value("X-Seen"), "1");
  auto echo = client_->Post("/echo", {{"X-Thing", "t"}}, "body!", "text/plain");
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->status, 201);
  EXPECT_EQ(echo->body, "t:body!");
  auto item = client_->Get("/items/abc");
  ASSERT_TRUE(item);
  EXPECT_EQ(item->body, "abc");
}

TEST_F(HttpServerTest, UnknownRouteIs404WithTheErrorBody) {
  auto r = client_->Get("/nope");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(nlohmann::json::parse(r->body)["error"]["message"], "/nope");
  EXPECT_EQ(r->get_header_value("X-Seen"), "1");
}

TEST_F(HttpServerTest, KnownRouteWithAnotherMethodIs405) {
  auto r = client_->Post("/ok", "x", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->get_header_value("Allow"), "GET");
  EXPECT_TRUE(nlohmann::json::parse(r->body).contains("error"));
}

TEST_F(HttpServerTest, BodyOverTheLimitIs413) {
  auto r = client_->Post("/echo", std::string(5000, 'x'), "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(nlohmann::json::parse(r->body).contains("error"));
}

TEST_F(HttpServerTest, HandlerThatThrowsIs500WithItsMessage) {
  auto r = client_->Get("/throw");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(nlohmann::json::parse(r->body)["error"]["message"], "boom");
  EXPECT_TRUE(client_->Get("/ok")) << "the server survives";
}

TEST_F(HttpServerTest, Stream) {
  auto r = client_->Get("/stream");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/event-stream");
  EXPECT_EQ(r->get_header_value("Transfer-Encoding"), "chunked");
  EXPECT_EQ(r->body, "data: 0\n\ndata: 1\n\ndata: 2\n\n");
}

}  // namespace
}  // namespace torchllm::server
