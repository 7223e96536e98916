#include "server/routes.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <optional>
#include <string>

#include "server/access_log.h"
#include "server/api_error.h"
#include "server/auth.h"
#include "server/completion_handler.h"
#include "server/http_request_parser.h"
#include "server/request_json.h"
#include "server/webui_routes.h"

namespace torchllm::server {
namespace {

using json = nlohmann::json;

HttpResponse json_response(const json& body, int status = 200) {
  HttpResponse response;
  response.status = status;
  response.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return response;
}

HttpResponse error_response(const ApiError& error) {
  HttpResponse response = json_response(error.to_json(), error.status());
  // Every 503 (loading, shutting down, queue full, too many connections) is worth retrying.
  if (error.status() == 503) response.headers.emplace_back("Retry-After", "1");
  return response;
}

json model_card(const ModelService& model) {
  return {{"id", model.name()},
          {"object", "model"},
          {"created", model.created()},
          {"owned_by", "torchllm"},
          {"root", model.name()},
          {"parent", nullptr},
          {"max_model_len", model.context()}};
}

// POST /tokenize (vLLM's shape): {"prompt": "..."} or {"messages": [...]} -> {"count", "max_model_len",
// "tokens"}.
HttpResponse tokenize(ServerState& state, const HttpRequest& request) {
  ModelService& model = state.ready_model();
  const json body = parse_request_json(request.body);
  bool add_special_tokens = true;
  bool add_generation_prompt = true;
  std::optional<json> prompt, messages;
  nlohmann::ordered_json kwargs = nlohmann::ordered_json::object();
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& key = it.key();
    if (it.value().is_null()) continue;
    if (key == "model") {
      if (!it.value().is_string() || it.value() != model.name()) {
        throw ApiError::model_not_found(it.value().is_string() ? it.value().get<std::string>()
                                                               : it.value().dump());
      }
    } else if (key == "prompt") {
      prompt = it.value();
    } else if (key == "messages") {
      messages = it.value();
    } else if (key == "add_special_tokens" || key == "add_generation_prompt") {
      if (!it.value().is_boolean()) throw ApiError::bad_request("'" + key + "' must be a boolean", key);
      (key == "add_special_tokens" ? add_special_tokens : add_generation_prompt) = it.value().get<bool>();
    } else if (key == "chat_template_kwargs" && it.value().is_object()) {
      kwargs = nlohmann::ordered_json::parse(it.value().dump());
    } else {
      throw ApiError::bad_request("Unrecognized request argument supplied: " + key, key,
                                  "unsupported_parameter");
    }
  }
  if (prompt.has_value() == messages.has_value()) {
    throw ApiError::bad_request("give exactly one of 'prompt' and 'messages'", "prompt");
  }
  std::vector<TokenId> ids;
  if (prompt) {
    if (!prompt->is_string()) throw ApiError::bad_request("'prompt' must be a string", "prompt");
    EncodeOptions options;
    options.add_special_tokens = add_special_tokens;
    ids = model.tokenizer().encode(prompt->get<std::string>(), options);
  } else {
    json chat = {{"messages", *messages}};
    const CompletionCall call = parse_chat_request(chat);
    ids = model.encode_chat(call.messages, kwargs, add_generation_prompt);
  }
  request.notes->prompt_tokens = static_cast<int64_t>(ids.size());
  return json_response({{"count", ids.size()}, {"max_model_len", model.context()}, {"tokens", ids}});
}

// POST /detokenize: {"tokens": [...]} -> {"prompt": "..."}.
HttpResponse detokenize(ServerState& state, const HttpRequest& request) {
  ModelService& model = state.ready_model();
  const json body = parse_request_json(request.body);
  std::vector<TokenId> ids;
  bool has_tokens = false;
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& key = it.key();
    if (it.value().is_null()) continue;
    if (key == "model") {
      if (it.value() != model.name()) throw ApiError::model_not_found(it.value().dump());
    } else if (key == "tokens") {
      if (!it.value().is_array())
        throw ApiError::bad_request("'tokens' must be an array of token ids", "tokens");
      for (const json& id : it.value()) {
        if (!id.is_number_integer() || id.get<int64_t>() < 0 ||
            id.get<int64_t>() >= static_cast<int64_t>(model.tokenizer().vocab_size()) + 1024) {
          throw ApiError::bad_request("'tokens' must hold token ids of this model, got " + id.dump(),
                                      "tokens");
        }
        ids.push_back(id.get<TokenId>());
      }
      has_tokens = true;
    } else {
      throw ApiError::bad_request("Unrecognized request argument supplied: " + key, key,
                                  "unsupported_parameter");
    }
  }
  if (!has_tokens) throw ApiError::bad_request("'tokens' is required", "tokens");
  return json_response({{"prompt", model.tokenizer().decode(ids)}});
}

bool origin_allowed(const ServerOptions& options, const std::string& origin) {
  if (origin.empty()) return false;
  return std::any_of(options.cors_origins.begin(), options.cors_origins.end(),
                     [&](const std::string& allowed) { return allowed == "*" || allowed == origin; });
}

// The API routes need the key; /health and /metrics stay open for probes and scrapers (as in vLLM).
bool needs_key(const std::string& path) {
  return path.rfind("/v1/", 0) == 0 || path == "/tokenize" || path == "/detokenize";
}

bool is_loopback_name(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1" || host == "[::1]";
}

// "Example.com:8080" -> "example.com", "[::1]:80" -> "::1".
std::string host_name(const std::string& host_header) {
  if (!host_header.empty() && host_header.front() == '[') {
    const size_t close = host_header.find(']');
    return close == std::string::npos ? std::string() : ascii_lower(host_header.substr(1, close - 1));
  }
  return ascii_lower(host_header.substr(0, host_header.find(':')));
}

// While listening on loopback, only the loopback names (and --allowed-host) reach the server: a web page
// whose name an attacker points at 127.0.0.1 (DNS rebinding) still sends its own name as Host.
bool host_allowed(const ServerOptions& options, const HttpRequest& request) {
  if (!is_loopback_name(ascii_lower(options.host))) return true;
  const std::string header = request.header("host");
  if (header.empty()) return request.minor_version == 0;  // HTTP/1.1 without Host is refused by the parser
  const std::string name = host_name(header);
  if (is_loopback_name(name)) return true;
  return std::any_of(options.allowed_hosts.begin(), options.allowed_hosts.end(),
                     [&](const std::string& allowed) {
                       return ascii_lower(allowed) == name || ascii_lower(allowed) == ascii_lower(header);
                     });
}

// A browser names the page's origin on cross-site requests (and on same-origin POSTs): only origins listed in
// --cors-origin, and the server's own, may drive it.
bool origin_refused(const ServerOptions& options, const HttpRequest& request) {
  const std::string origin = request.header("origin");
  if (origin.empty() || origin_allowed(options, origin)) return false;
  const std::string host = request.header("host");
  return host.empty() || (ascii_lower(origin) != "http://" + ascii_lower(host) &&
                          ascii_lower(origin) != "https://" + ascii_lower(host));
}

bool json_endpoint(const std::string& path) {
  return path == "/v1/chat/completions" || path == "/v1/completions" || path == "/tokenize" ||
         path == "/detokenize";
}

// application/json, with or without parameters (charset).
bool is_json_media_type(const std::string& content_type) {
  std::string type = ascii_lower(content_type.substr(0, content_type.find(';')));
  type.erase(type.find_last_not_of(" \t") + 1);
  type.erase(0, type.find_first_not_of(" \t"));
  return type == "application/json";
}

// Checks made on the head alone, before the body is read (so a refused client cannot make the server read,
// or inflate, a large body): Host, Origin, API key, Content-Type.
std::optional<ApiError> refusal(const ServerOptions& options, const HttpRequest& request) {
  if (request.method == "OPTIONS") return std::nullopt;
  if (!host_allowed(options, request)) {
    return ApiError(
        403,
        "Host '" + request.header("host") +
            "' is not allowed: the server listens on a loopback address; start it with --allowed-host "
            "NAME to accept this name",
        "invalid_request_error", std::nullopt, "host_not_allowed");
  }
  if (origin_refused(options, request)) {
    return ApiError(403,
                    "requests from the web origin '" + request.header("origin") +
                        "' are not allowed; start the server with --cors-origin ORIGIN to allow it",
                    "invalid_request_error", std::nullopt, "origin_not_allowed");
  }
  if (needs_key(request.path) && !authorized(request.header("authorization"), options.api_key)) {
    return ApiError(401, "Incorrect API key provided.", "invalid_request_error", std::nullopt,
                    "invalid_api_key");
  }
  if (request.method == "POST" && json_endpoint(request.path) &&
      !is_json_media_type(request.header("content-type"))) {
    const std::string sent = request.header("content-type");
    return ApiError(415,
                    "the request body must be sent with 'Content-Type: application/json' (got " +
                        (sent.empty() ? std::string("none") : "'" + sent + "'") + ")",
                    "invalid_request_error", std::nullopt, "unsupported_media_type");
  }
  return std::nullopt;
}

// Endpoint label for metrics.
std::string endpoint_label(const std::string& path) {
  if (path == "/v1/chat/completions") return "chat";
  if (path == "/v1/completions") return "completions";
  if (path.rfind("/v1/models", 0) == 0) return "models";
  if (path == "/health" || path == "/metrics" || path == "/tokenize" || path == "/detokenize")
    return path.substr(1);
  if (path == "/" || path.rfind("/assets/", 0) == 0) return "webui";
  return "other";
}

}  // namespace

std::unique_ptr<HttpServer> make_http_server(ServerState& state) {
  const ServerOptions& options = state.options;
  HttpServerOptions http;
  // A connection holds a thread while its request runs, streams included: enough for every slot and queue
  // place, and a few for probes and for refusing the rest.
  http.threads = static_cast<size_t>(std::max<int64_t>(options.parallel, 16)) + options.max_queue + 16;
  http.max_body_bytes = options.max_body_bytes;
  http.read_timeout_s = std::min(options.timeout_s, 60.0);
  http.write_timeout_s = std::min(options.timeout_s, 60.0);
  http.header_timeout_s = options.header_timeout_s;
  http.max_connections = options.max_connections;

  auto on_error = [&state](int status, const HttpRequest& request, const std::string& what) {
    std::string message;
    std::optional<std::string> code;
    if (status == 404) {
      message = "no route " + request.method + " " + request.path;
      code = "not_found";
    } else if (status == 405) {
      message = "method " + request.method + " is not allowed on " + request.path;
      code = "method_not_allowed";
    } else if (status == 413) {
      message = "the request body is larger than the server's limit of " +
                std::to_string(state.options.max_body_bytes) + " bytes (--max-body-bytes)";
      code = "request_too_large";
    } else if (status == 503) {
      message = what.empty() ? "the server is busy; try again later" : what;
      code = "service_unavailable";
    } else if (status >= 500) {
      message = what.empty() ? "internal error" : what;
    } else {
      message = what.empty() ? std::string(status_text(status)) : what;
    }
    const std::string type = status >= 500 ? "server_error" : "invalid_request_error";
    state.metrics.count_request(endpoint_label(request.path), status);
    return error_response(ApiError(status, message, type, std::nullopt, code));
  };
  auto finish = [&state](const HttpRequest& request, HttpResponse& response) {
    const std::string origin = request.header("origin");
    if (!origin_allowed(state.options, origin)) return;
    const bool any = std::find(state.options.cors_origins.begin(), state.options.cors_origins.end(), "*") !=
                     state.options.cors_origins.end();
    response.headers.emplace_back("Access-Control-Allow-Origin", any ? "*" : origin);
    if (!any) response.headers.emplace_back("Vary", "Origin");
    response.headers.emplace_back("Access-Control-Expose-Headers", "*");
  };
  auto server = std::make_unique<HttpServer>(http, on_error, finish);
  server->set_admission([&state](const HttpRequest& request) -> std::optional<HttpResponse> {
    std::optional<ApiError> refused = refusal(state.options, request);
    if (!refused) return std::nullopt;
    state.metrics.count_request(endpoint_label(request.path), refused->status());
    return error_response(*refused);
  });
  if (!state.options.quiet) {
    server->set_access_logger([format = parse_access_log_format(state.options.log_format)](
                                  const HttpRequest& request, int status, double seconds) {
      const std::string line = access_log_line(format, request, status, seconds) + "\n";
      std::fwrite(line.data(), 1, line.size(), stderr);  // one write per line: lines never interleave
    });
  }

  // Every route: the key check, errors as OpenAI JSON, and a count per endpoint and status.
  auto wrap = [&state](std::function<HttpResponse(const HttpRequest&)> handler) {
    return [&state, handler = std::move(handler)](const HttpRequest& request) {
      HttpResponse response;
      try {
        response = handler(request);
      } catch (const ApiError& e) {
        response = error_response(e);
      } catch (const Error& e) {
        response = error_response(ApiError::from(e));
      } catch (const std::exception& e) {
        response = error_response(ApiError::internal(e.what()));
      }
      state.metrics.count_request(endpoint_label(request.path), response.status);
      return response;
    };
  };

  server->route("GET", "/health", wrap([&state](const HttpRequest&) {
                  if (state.draining.load()) return error_response(ApiError::unavailable("shutting down"));
                  if (!state.model.load()) return error_response(ApiError::unavailable("model is loading"));
                  return json_response({{"status", "ok"}});
                }),
                RouteKind::kProbe);
  server->route("GET", "/metrics", wrap([&state](const HttpRequest&) {
                  HttpResponse response;
                  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
                  response.body = state.metrics.render(state.gauges());
                  return response;
                }),
                RouteKind::kProbe);
  server->route("GET", "/v1/models", wrap([&state](const HttpRequest&) {
                  const ModelService& model = state.ready_model();
                  return json_response({{"object", "list"}, {"data", json::array({model_card(model)})}});
                }));
  server->route("GET", "/v1/models/(.+)", wrap([&state](const HttpRequest& request) {
                  const ModelService& model = state.ready_model();
                  if (request.path_params.at(0) != model.name()) {
                    throw ApiError::model_not_found(request.path_params.at(0));
                  }
                  return json_response(model_card(model));
                }));
  server->route("POST", "/v1/chat/completions", wrap([&state](const HttpRequest& request) {
                  return handle_completion(state, request, Endpoint::kChat);
                }));
  server->route("POST", "/v1/completions", wrap([&state](const HttpRequest& request) {
                  return handle_completion(state, request, Endpoint::kCompletion);
                }));
  server->route("POST", "/tokenize",
                wrap([&state](const HttpRequest& request) { return tokenize(state, request); }));
  server->route("POST", "/detokenize",
                wrap([&state](const HttpRequest& request) { return detokenize(state, request); }));
  if (state.options.webui) {
    // The chat page: open like /health (it holds no secret; with --api-key it asks for the key).
    server->route("GET", "/(assets/.+)?", wrap([](const HttpRequest& request) {
                    return web_asset_response(request.path, request.header("if-none-match"));
                  }));
  }
  // CORS preflight: allowed origins learn what they may send; others get no CORS headers (the browser
  // refuses).
  server->route("OPTIONS", ".*", [&state](const HttpRequest& request) {
    HttpResponse response;
    response.status = 204;
    if (origin_allowed(state.options, request.header("origin"))) {
      const std::string asked = request.header("access-control-request-headers");
      response.headers = {
          {"Access-Control-Allow-Methods", "GET, POST, OPTIONS"},
          {"Access-Control-Allow-Headers", asked.empty() ? "Authorization, Content-Type" : asked},
          {"Access-Control-Max-Age", "600"}};
    }
    return response;
  });
  return server;
}

}  // namespace torchllm::server
