#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "cli/generation_options.h"
#include "cli/human_bytes.h"
#include "cli/model_options.h"
#include "torchllm/error.h"
#include "torchllm/json_file.h"
#include "torchllm/model_config.h"
#include "torchllm/server.h"

namespace torchllm::cli {
namespace {

struct ServeOptions {
  ModelOptions model;
  ServerOptions server;
  std::string api_key_file;
  bool api_key_given = false;
  std::string kv_cache_memory;  // a size as typed ("4GiB"); empty: not given
};

// The KV flags, before anything loads: a bad value is a usage error (exit code 2).
void check_kv_options(ServeOptions& o) {
  ServerOptions& s = o.server;
  if (s.parallel < 1) throw Error::invalid_argument("--parallel must be at least 1");
  if (s.kv_block_size < 1)
    throw Error::invalid_argument("--kv-block-size must be at least 1, got " +
                                  std::to_string(s.kv_block_size));
  if (!(s.gpu_memory_utilization > 0 && s.gpu_memory_utilization <= 1)) {
    std::ostringstream got;
    got << s.gpu_memory_utilization;
    throw Error::invalid_argument("--gpu-memory-utilization must be in (0, 1], got " + got.str());
  }
  if (!o.kv_cache_memory.empty()) {
    s.kv_cache_memory = parse_byte_size(o.kv_cache_memory, "--kv-cache-memory");
    if (s.kv_cache_memory == 0) throw Error::invalid_argument("--kv-cache-memory must be more than 0 bytes");
  }
}

// The first line of the file, without surrounding whitespace (so that `echo KEY > file` works).
std::string read_key_file(const std::string& path) {
  std::string text = read_text_file(path);
  const size_t end = text.find_first_of("\r\n");
  if (end != std::string::npos) text.resize(end);
  const size_t first = text.find_first_not_of(" \t");
  const size_t last = text.find_last_not_of(" \t");
  if (first == std::string::npos) throw Error::invalid_argument(path + ": the API key file is empty");
  return text.substr(first, last - first + 1);
}

void run_serve(ServeOptions& o) {
  check_kv_options(o);
  ServerOptions server = o.server;
  server.model_dir = o.model.resolved_model_dir();
  server.context =
      capped_context(server.context, read_model_config(server.model_dir).max_position_embeddings, std::cerr);
  server.load = o.model.load;
  if (!o.api_key_file.empty()) server.api_key = read_key_file(o.api_key_file);
  if (server.port < 0 || server.port > 65535) throw Error::invalid_argument("--port must be in [0, 65535]");
  if (server.timeout_s <= 0) throw Error::invalid_argument("--timeout must be positive");
  if (o.api_key_given && server.api_key.empty()) {
    throw Error::invalid_argument(
        "--api-key is empty; give a key, or leave the option out to serve without one");
  }
  if (server.max_connections < 1) throw Error::invalid_argument("--max-connections must be at least 1");
  if (server.header_timeout_s <= 0) throw Error::invalid_argument("--header-timeout must be positive");
  o.model.apply_threads();
  run_server(server);
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "Serve the model over an OpenAI-compatible HTTP API (chat/completions, completions, models)");
  o->model.add_to(*cmd);
  ServerOptions& s = o->server;
  cmd->add_option("--host", s.host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", s.port, "Port to listen on (0: any free port)")->capture_default_str();
  auto* key =
      cmd->add_option("--api-key", s.api_key, "Require 'Authorization: Bearer KEY' on /v1/* and /tokenize");
  cmd->add_option("--api-key-file", o->api_key_file, "Read the API key from the first line of a file")
      ->excludes(key);
  cmd->add_option("--served-model-name", s.served_model_name,
                  "Model id clients use (default: the model directory's name)");
  cmd->add_option("--parallel", s.parallel,
                  "Most sequences generated at once; they are admitted while KV blocks are free")
      ->capture_default_str();
  cmd->add_option("--context", s.context,
                  "Most tokens per sequence, prompt and completion (default: min(model's, 4096))")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--kv-block-size", s.kv_block_size, "Tokens per KV cache block")->capture_default_str();
  cmd->add_flag_function(
      "--no-prefix-cache", [&s](int64_t) { s.prefix_caching = false; },
      "Compute every prompt in full instead of reusing the KV blocks of a prefix computed before");
  cmd->add_option("--gpu-memory-utilization", s.gpu_memory_utilization,
                  "On CUDA, the fraction of the device's memory the weights and the KV cache may use; the KV "
                  "cache gets what the weights leave of it (on the CPU it does not apply: the KV cache gets "
                  "half of the available RAM)")
      ->capture_default_str();
  cmd->add_option("--kv-cache-memory", o->kv_cache_memory,
                  "Memory for the KV cache on any device, e.g. 4GiB, 512MiB or plain bytes (overrides "
                  "--gpu-memory-utilization and the CPU's default)");
  cmd->add_option("--prefill-chunk", s.prefill_chunk,
                  "Prompt tokens computed per step, so decoding never stalls")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-queue", s.max_queue, "Requests that may wait to run; beyond them requests get 503")
      ->capture_default_str();
  cmd->add_option("--max-body-bytes", s.max_body_bytes, "Largest request body; larger ones get 413")
      ->capture_default_str();
  cmd->add_option("--timeout", s.timeout_s, "Seconds a request may take before it is cancelled")
      ->capture_default_str();
  cmd->add_option("--shutdown-grace", s.shutdown_grace_s,
                  "Seconds running requests get to finish after SIGINT/SIGTERM before they are cancelled")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--cors-origin", s.cors_origins,
                  "Allow browser requests from this origin ('*': any); repeatable. Other origins get 403");
  cmd->add_option("--allowed-host", s.allowed_hosts,
                  "Accept this Host header besides localhost/127.0.0.1/[::1] while listening on loopback; "
                  "repeatable");
  cmd->add_option("--max-connections", s.max_connections, "Open connections at once; more are answered 503")
      ->capture_default_str();
  cmd->add_option("--header-timeout", s.header_timeout_s,
                  "Seconds a request's head may take to arrive; slower clients get 408")
      ->capture_default_str();
  cmd->add_option("--log-format", s.log_format, "Access log on stderr, one line per request: text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->add_flag("--quiet", s.quiet, "No access log");
  cmd->add_flag("--no-webui{false}", s.webui, "Do not serve the chat page at /");
  cmd->callback([o, key] {
    o->api_key_given = key->count() > 0;
    run_serve(*o);
  });
}

}  // namespace torchllm::cli
