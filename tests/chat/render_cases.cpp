// Renders many chat-template cases in one process, for the conformance harness (one `torchllm template`
// process per case costs libtorch's start-up each time). Same line formats as tools/render_chat_template.py:
//   render_cases CASES.jsonl OUT.jsonl
// Each input line: {"id", "template": path, "messages", "tools"?, "add_generation_prompt"?, "kwargs"?,
// "bos"?, "eos"?}; each output line, in input order: {"id", "ok": true, "output"} or {"id", "ok": false,
// "error"}.
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "torchllm/chat_template.h"
#include "torchllm/error.h"
#include "torchllm/json_file.h"

namespace {

using Json = nlohmann::ordered_json;

std::string render_case(const Json& c, std::map<std::string, std::shared_ptr<torchllm::ChatTemplate>>& cache,
                        std::map<std::string, std::string>& parse_errors) {
  const std::string path = c.at("template");
  const std::map<std::string, std::string> tokens = {{"bos_token", c.value("bos", "")},
                                                     {"eos_token", c.value("eos", "")}};
  const std::string key = path + '\0' + tokens.at("bos_token") + '\0' + tokens.at("eos_token");
  if (parse_errors.count(key)) throw torchllm::Error::invalid_argument(parse_errors[key]);
  auto found = cache.find(key);
  if (found == cache.end()) {
    try {
      found =
          cache.emplace(key, std::make_shared<torchllm::ChatTemplate>(torchllm::read_text_file(path), tokens))
              .first;
    } catch (const torchllm::Error& e) {
      parse_errors[key] = e.what();
      throw;
    }
  }
  torchllm::ChatRenderOptions options;
  options.add_generation_prompt = c.value("add_generation_prompt", true);
  if (c.contains("tools")) options.tools = c["tools"];
  if (c.contains("kwargs") && c["kwargs"].is_object()) options.kwargs = c["kwargs"];
  return found->second->render(c.at("messages"), options);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: render_cases CASES.jsonl OUT.jsonl\n";
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::ofstream out(argv[2], std::ios::binary);
  if (!in || !out) {
    std::cerr << "render_cases: cannot open " << (in ? argv[2] : argv[1]) << "\n";
    return 2;
  }
  std::map<std::string, std::shared_ptr<torchllm::ChatTemplate>> cache;
  std::map<std::string, std::string> parse_errors;
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const Json c = Json::parse(line);
    Json result = {{"id", c.value("id", Json())}};
    try {
      result["output"] = render_case(c, cache, parse_errors);
      result["ok"] = true;
    } catch (const torchllm::Error& e) {
      result["ok"] = false;
      result["error"] = e.what();
    }
    out << result.dump(-1, ' ', false, Json::error_handler_t::replace) << "\n";
  }
  return 0;
}
