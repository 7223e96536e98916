// Request framing without sockets: heads, Content-Length, chunked bodies fed in pieces, percent-escapes, and
// JSON bodies with their nesting bounded.
#include "server/http_request_parser.h"

#include <gtest/gtest.h>

#include <string>

#include "server/api_error.h"
#include "server/request_json.h"

namespace torchllm::server {
namespace {

int status_of_head(const std::string& head) {
  try {
    parse_head(head);
    return 0;
  } catch (const HttpError& e) {
    return e.status();
  }
}

TEST(HttpRequestParser, HeadFields) {
  const RequestHead head =
      parse_head("POST /v1/x%20y?a=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\nX-Thing:  v  \r\n\r\n");
  EXPECT_EQ(head.method, "POST");
  EXPECT_EQ(head.path, "/v1/x y");
  EXPECT_EQ(head.query, "a=1");
  EXPECT_EQ(head.content_length, 12u);
  EXPECT_EQ(head.header("x-thing"), "v");
  EXPECT_TRUE(head.keep_alive);
  EXPECT_FALSE(parse_head("GET / HTTP/1.0\r\n\r\n").keep_alive);
  EXPECT_TRUE(parse_head("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
  EXPECT_FALSE(parse_head("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").keep_alive);
}

TEST(HttpRequestParser, BadFramingHasItsStatus) {
  EXPECT_EQ(status_of_head("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n"), 400);
  EXPECT_EQ(status_of_head("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            400);
  EXPECT_EQ(status_of_head("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n"),
            0);
  EXPECT_EQ(status_of_head("GET / HTTP/1.1\r\nHost: h\r\nExpect: magic\r\n\r\n"), 417);
  EXPECT_EQ(status_of_head("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
  EXPECT_EQ(status_of_head("GET http://x/ HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(status_of_head("GET /\x01 HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  std::string many = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 200; ++i) many += "X" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(status_of_head(many + "\r\n"), 431);
}

TEST(HttpRequestParser, FindsTheEndOfTheHead) {
  EXPECT_FALSE(find_head_end("GET / HTTP/1.1\r\nHost: h\r\n").has_value());
  EXPECT_EQ(find_head_end("GET / HTTP/1.1\r\nHost: h\r\n\r\nBODY").value(), 27u);
  EXPECT_EQ(find_head_end("\r\nGET / HTTP/1.1\r\n\r\n").value(), 20u);
  EXPECT_THROW(find_head_end(std::string(kMaxHeadBytes + 1, 'a')), HttpError);
}

TEST(HttpRequestParser, ChunkedBodyInAnyPieces) {
  const std::string wire =
      "4\r\nWiki\r\n5;name=value\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\nNEXT";
  for (size_t piece = 1; piece <= wire.size(); ++piece) {
    ChunkedDecoder decoder(1000);
    std::string body;
    size_t used = 0;
    while (used < wire.size() && !decoder.done()) {
      used += decoder.feed(std::string_view(wire).substr(used, piece), body);
    }
    ASSERT_TRUE(decoder.done()) << piece;
    EXPECT_EQ(body, "Wikipedia in\r\n\r\nchunks.") << piece;
    EXPECT_EQ(wire.substr(used), "NEXT") << piece;
  }
}

TEST(HttpRequestParser, ChunkedBodyErrors) {
  auto status = [](const std::string& wire, uint64_t limit) {
    ChunkedDecoder decoder(limit);
    std::string body;
    try {
      decoder.feed(wire, body);
      return 0;
    } catch (const HttpError& e) {
      return e.status();
    }
  };
  EXPECT_EQ(status("zz\r\n", 100), 400);
  EXPECT_EQ(status("3\r\nabcdef\r\n", 100), 400);
  EXPECT_EQ(status("65\r\n", 100), 413);
  EXPECT_EQ(status("fffffffffffffffffffff\r\n", 100), 400);
  EXPECT_EQ(status("32\r\n" + std::string(50, 'a') + "\r\n32\r\n", 80), 413);
}

TEST(HttpRequestParser, PercentDecoding) {
  EXPECT_EQ(percent_decode("/a%2Fb%00c"), std::string("/a/b\0c", 6));
  EXPECT_THROW(percent_decode("/a%2"), HttpError);
  EXPECT_THROW(percent_decode("/a%g0"), HttpError);
}

TEST(RequestJson, NestingIsBounded) {
  EXPECT_EQ(parse_request_json("{\"a\": [[[1]]]}")["a"][0][0][0], 1);
  const std::string deep = "{\"messages\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
  try {
    parse_request_json(deep);
    FAIL() << "accepted 100000 levels";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_NE(std::string(e.what()).find("deeper than"), std::string::npos);
  }
  std::string objects = "{";
  for (int i = 0; i < 100000; ++i) objects += "\"a\":{";
  EXPECT_THROW(parse_request_json(objects), ApiError);
  std::string ok =
      "{\"x\": " + std::string(kMaxJsonDepth - 2, '[') + std::string(kMaxJsonDepth - 2, ']') + "}";
  EXPECT_NO_THROW(parse_request_json(ok));
  EXPECT_THROW(parse_request_json("[1]"), ApiError);
  EXPECT_THROW(parse_request_json("{"), ApiError);
}

}  // namespace
}  // namespace torchllm::server
