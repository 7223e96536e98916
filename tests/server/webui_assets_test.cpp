// The chat page's embedded files: every URL the page names is served, byte for byte what the source tree
// holds, with its content type, caching headers, the Content-Security-Policy and If-None-Match handling.
#include "server/webui_assets.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <string>

#include "server/api_error.h"
#include "server/webui_routes.h"

namespace torchllm::server {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string header(const HttpResponse& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "";
}

class WebAssets : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!web_assets_embedded()) GTEST_SKIP() << "built with -DTORCHLLM_WEBUI=OFF";
  }
};

TEST_F(WebAssets, ThePageNamesOnlyEmbeddedFilesByTheirHash) {
  const WebAsset* page = find_web_asset("/");
  ASSERT_NE(page, nullptr);
  EXPECT_EQ(page->content_type, "text/html; charset=utf-8");
  const std::string html(page->body);
  EXPECT_EQ(html.find("@ASSET:"), std::string::npos);
  const std::regex url(R"re((?:src|href)="(/assets/([0-9a-f]{16})/([\w.-]+))")re");
  int count = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), url); it != std::sregex_iterator(); ++it) {
    const WebAsset* asset = find_web_asset((*it)[1].str());
    ASSERT_NE(asset, nullptr) << (*it)[1];
    EXPECT_EQ(asset->etag, "\"" + (*it)[2].str() + "\"");
    EXPECT_FALSE(asset->body.empty());
    const std::string name = (*it)[3];
    const std::string type = name.size() > 3 && name.substr(name.size() - 3) == ".js" ? "text/javascript"
                             : name.substr(name.size() - 4) == ".css"                 ? "text/css"
                                                                                      : "image/svg+xml";
    EXPECT_EQ(asset->content_type.substr(0, type.size()), type) << name;
    ++count;
  }
  EXPECT_EQ(count, 12);
}

TEST_F(WebAssets, OwnFilesAreEmbeddedByteForByte) {
  for (const char* name : {"app.js", "api.js", "store.js", "messages.js", "markdown.js", "style.css"}) {
    const std::string source = read_file(std::string(TORCHLLM_SOURCE_DIR "/src/server/webui/") + name);
    const std::string html(find_web_asset("/")->body);
    const std::smatch m = [&] {
      std::smatch match;
      std::regex_search(html, match, std::regex("\"(/assets/[0-9a-f]{16}/" + std::string(name) + ")\""));
      return match;
    }();
    ASSERT_FALSE(m.empty()) << name;
    EXPECT_EQ(find_web_asset(m[1].str())->body, source) << name;
  }
}

TEST_F(WebAssets, ResponsesCarryTypeCachingAndPolicy) {
  const HttpResponse page = web_asset_response("/", "");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(header(page, "Cache-Control"), "no-cache");
  EXPECT_EQ(header(page, "Content-Security-Policy"), kWebContentSecurityPolicy);
  EXPECT_EQ(header(page, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(header(page, "X-Frame-Options"), "DENY");
  const std::string csp = kWebContentSecurityPolicy;
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos);
  EXPECT_NE(csp.find("script-src 'self';"), std::string::npos);
  EXPECT_NE(csp.find("connect-src 'self';"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe"), std::string::npos);

  const std::string html(find_web_asset("/")->body);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(html, m, std::regex("\"(/assets/[0-9a-f]{16}/app.js)\"")));
  const HttpResponse script = web_asset_response(m[1].str(), "");
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(script.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(header(script, "Cache-Control"), "public, max-age=31536000, immutable");
}

TEST_F(WebAssets, IfNoneMatchGives304) {
  const std::string etag(find_web_asset("/")->etag);
  for (const std::string& sent : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
    const HttpResponse r = web_asset_response("/", sent);
    EXPECT_EQ(r.status, 304) << sent;
    EXPECT_TRUE(r.body.empty());
    EXPECT_EQ(header(r, "ETag"), etag);
  }
  EXPECT_EQ(web_asset_response("/", "\"other\"").status, 200);
  EXPECT_EQ(web_asset_response("/", etag.substr(1, etag.size() - 2)).status, 200)
      << "an unquoted tag is no tag";
}

TEST_F(WebAssets, UnknownPathsAre404) {
  for (const char* path : {"/assets/0000000000000000/app.js", "/assets/", "/index.html", "/assets/../"}) {
    try {
      web_asset_response(path, "");
      ADD_FAILURE() << path << " was served";
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status(), 404) << path;
    }
  }
}

}  // namespace
}  // namespace torchllm::server
