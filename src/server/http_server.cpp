#include "server/http_server.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <exception>
#include <regex>
#include <thread>

namespace torchllm::server {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

HttpRequest convert(const httplib::Request& req) {
  HttpRequest request;
  request.method = req.method;
  request.path = req.path;
  request.body = req.body;
  for (const auto& [name, value] : req.headers) request.headers.emplace(lower(name), value);
  for (size_t i = 1; i < req.matches.size(); ++i) request.path_params.push_back(req.matches[i].str());
  return request;
}

class DataSinkAdapter : public StreamSink {
 public:
  explicit DataSinkAdapter(httplib::DataSink& sink) : sink_(sink) {}
  bool write(std::string_view data) override {
    if (!ok_) return false;
    if (!data.empty()) ok_ = sink_.write(data.data(), data.size());
    return ok_;
  }
  bool ok() const { return ok_; }

 private:
  httplib::DataSink& sink_;
  bool ok_ = true;
};

void apply(HttpResponse response, httplib::Response& res) {
  res.status = response.status;
  for (const auto& [name, value] : response.headers) res.set_header(name, value);
  if (response.stream) {
    auto stream = std::make_shared<std::function<void(StreamSink&)>>(std::move(response.stream));
    res.set_chunked_content_provider(response.content_type, [stream](size_t, httplib::DataSink& sink) {
      DataSinkAdapter adapter(sink);
      try {
        (*stream)(adapter);
      } catch (...) {
        // A stream that breaks off ends the response; the client sees a truncated stream.
        return false;
      }
      if (adapter.ok()) sink.done();
      return adapter.ok();
    });
  } else if (!response.body.empty()) {
    res.set_content(response.body, response.content_type);
  }
}

std::pair<time_t, time_t> seconds_and_micros(double seconds) {
  const double whole = std::floor(seconds);
  return {static_cast<time_t>(whole), static_cast<time_t>((seconds - whole) * 1e6)};
}

}  // namespace

std::string HttpRequest::header(std::string_view name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? std::string() : it->second;
}

HttpServer::HttpServer(const HttpServerOptions& options, ErrorResponder on_error, Finisher finish)
    : options_(options),
      on_error_(std::move(on_error)),
      finish_(std::move(finish)),
      server_(std::make_unique<httplib::Server>()) {
  const size_t threads = std::max<size_t>(options_.threads, 4);
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_->set_payload_max_length(options_.max_body_bytes);
  auto [read_s, read_us] = seconds_and_micros(options_.read_timeout_s);
  server_->set_read_timeout(read_s, read_us);
  auto [write_s, write_us] = seconds_and_micros(options_.write_timeout_s);
  server_->set_write_timeout(write_s, write_us);
  server_->set_keep_alive_max_count(1000);

  // httplib calls this for every response with status >= 400, including the handlers' own: those already
  // carry their body and are left alone.
  server_->set_error_handler(
      httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty() || res.content_provider_) return httplib::Server::HandlerResponse::Unhandled;
        const HttpRequest request = convert(req);
        int status = res.status;
        std::vector<std::pair<std::string, std::string>> extra;
        if (status == 404) {
          const std::vector<std::string> allowed = methods_for(req.path);
          if (!allowed.empty()) {
            status = 405;
            std::string allow;
            for (const std::string& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
            extra.emplace_back("Allow", allow);
          }
        }
        HttpResponse response;
        try {
          response = on_error_(status, request, "");
          finish_(request, response);
        } catch (...) {
          response = HttpResponse{status, "application/json", "{\"error\":{\"message\":\"error\"}}", {}, {}};
        }
        response.status = status;
        response.headers.insert(response.headers.end(), extra.begin(), extra.end());
        response.stream = nullptr;
        apply(std::move(response), res);
        return httplib::Server::HandlerResponse::Handled;
      }));
  server_->set_exception_handler(
      [this](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
        HttpResponse response;
        try {
          const HttpRequest request = convert(req);
          response = on_error_(500, request, "internal error");
          finish_(request, response);
        } catch (...) {
          response =
              HttpResponse{500, "application/json", "{\"error\":{\"message\":\"internal error\"}}", {}, {}};
        }
        response.stream = nullptr;
        apply(std::move(response), res);
      });
}

HttpServer::~HttpServer() = default;

void HttpServer::route(const std::string& method, const std::string& pattern, Handler handler) {
  routes_.emplace_back(method, pattern);
  auto fn = [this, handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
    handle(handler, &req, &res);
  };
  if (method == "GET") {
    server_->Get(pattern, fn);
  } else if (method == "POST") {
    server_->Post(pattern, fn);
  } else if (method == "OPTIONS") {
    server_->Options(pattern, fn);
  } else if (method == "DELETE") {
    server_->Delete(pattern, fn);
  } else if (method == "PUT") {
    server_->Put(pattern, fn);
  }
}

void HttpServer::handle(const Handler& handler, const void* raw_request, void* raw_response) const {
  const auto& req = *static_cast<const httplib::Request*>(raw_request);
  auto& res = *static_cast<httplib::Response*>(raw_response);
  const HttpRequest request = convert(req);
  HttpResponse response;
  try {
    response = handler(request);
  } catch (const std::exception& e) {
    try {
      response = on_error_(500, request, e.what());
    } catch (...) {
      response =
          HttpResponse{500, "application/json", "{\"error\":{\"message\":\"internal error\"}}", {}, {}};
    }
  } catch (...) {
    response = HttpResponse{500, "application/json", "{\"error\":{\"message\":\"internal error\"}}", {}, {}};
  }
  try {
    finish_(request, response);
  } catch (...) {
  }
  apply(std::move(response), res);
}

std::vector<std::string> HttpServer::methods_for(const std::string& path) const {
  std::vector<std::string> methods;
  for (const auto& [method, pattern] : routes_) {
    if (method == "OPTIONS") continue;
    if (std::regex_match(path, std::regex(pattern)) &&
        std::find(methods.begin(), methods.end(), method) == methods.end()) {
      methods.push_back(method);
    }
  }
  return methods;
}

bool HttpServer::bind(const std::string& host, int port) {
  if (port == 0) {
    port_ = server_->bind_to_any_port(host);
    return port_ > 0;
  }
  if (!server_->bind_to_port(host, port)) return false;
  port_ = port;
  return true;
}

void HttpServer::listen() {
  server_->listen_after_bind();
  listen_returned_.store(true);
}

void HttpServer::stop() {
  // httplib's stop() does nothing until listen() has started running, so a stop that comes right after the
  // listening thread was started (a model that fails to load at once) waits for it.
  while (!server_->is_running() && !listen_returned_.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  server_->stop();
}

}  // namespace torchllm::server
