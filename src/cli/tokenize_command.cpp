#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "torchllm/error.h"
#include "torchllm/tokenizer.h"

namespace torchllm::cli {
namespace {

struct TokenizeOptions {
  std::string model_dir;
  std::string tokenizer_file;
  bool no_add_special = false;
  bool split_special = false;
  bool skip_special = false;
  bool jsonl = false;
  bool decode = false;
  std::optional<std::string> text;
};

std::vector<TokenId> parse_ids(const std::string& text, const std::string& where) {
  nlohmann::json ids;
  try {
    ids = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error::invalid_argument(where + " is not valid JSON (" + e.what() + ")");
  }
  if (!ids.is_array()) throw Error::invalid_argument(where + " must be a JSON array of token ids");
  std::vector<TokenId> result;
  for (const nlohmann::json& id : ids) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
      throw Error::invalid_argument(where + ": " + id.dump() + " is not a token id");
    }
    result.push_back(static_cast<TokenId>(id.get<int64_t>()));
  }
  return result;
}

std::string parse_text_line(const std::string& line, const std::string& where) {
  try {
    const nlohmann::json text = nlohmann::json::parse(line);
    if (text.is_string()) return text.get<std::string>();
  } catch (const nlohmann::json::parse_error&) {
  }
  throw Error::invalid_argument(where + " must be one JSON string");
}

// JSON output keeps invalid UTF-8 (from a decoded byte that ends mid-character) readable as U+FFFD.
std::string json_string(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void run_tokenize(const TokenizeOptions& o) {
  if (o.model_dir.empty() == o.tokenizer_file.empty()) {
    throw Error::invalid_argument("give exactly one of -m/--model DIR and --tokenizer FILE");
  }
  const std::unique_ptr<Tokenizer> tokenizer =
      load_tokenizer(o.model_dir.empty() ? o.tokenizer_file : o.model_dir);
  EncodeOptions encode_options;
  encode_options.add_special_tokens = !o.no_add_special;
  encode_options.split_special_tokens = o.split_special;

  if (o.jsonl) {
    if (o.text) throw Error::invalid_argument("--jsonl reads its lines from standard input, not from TEXT");
    std::string line;
    for (size_t number = 1; std::getline(std::cin, line); ++number) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const std::string where = "line " + std::to_string(number);
      if (o.decode) {
        std::cout << json_string(tokenizer->decode(parse_ids(line, where), o.skip_special)) << "\n";
      } else {
        std::cout << nlohmann::json(tokenizer->encode(parse_text_line(line, where), encode_options)).dump()
                  << "\n";
      }
    }
    return;
  }
  const std::string input =
      o.text ? *o.text
             : std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  if (o.decode) {
    std::cout << tokenizer->decode(parse_ids(input, o.text ? "TEXT" : "standard input"), o.skip_special);
  } else {
    std::cout << nlohmann::json(tokenizer->encode(input, encode_options)).dump() << "\n";
  }
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
  auto options = std::make_shared<TokenizeOptions>();
  CLI::App* cmd =
      app.add_subcommand("tokenize", "Text to token ids (a JSON array), or ids back to text with --decode");
  cmd->add_option("-m,--model", options->model_dir, "Model directory holding tokenizer.json, or a GGUF file");
  cmd->add_option("--tokenizer", options->tokenizer_file, "A tokenizer.json file");
  cmd->add_flag("--no-add-special", options->no_add_special, "Add no BOS/EOS (add_special_tokens=False)");
  cmd->add_flag("--split-special", options->split_special,
                "Treat special-token text in the input as plain text (split_special_tokens=True)");
  cmd->add_flag(
      "--jsonl", options->jsonl,
      "Read one JSON string per line from standard input, write one JSON array per line (with --decode: "
      "arrays in, strings out)");
  cmd->add_flag("--decode", options->decode, "Read a JSON array of ids and print the text");
  cmd->add_flag("--skip-special", options->skip_special, "With --decode: leave special tokens out");
  cmd->add_option("text", options->text,
                  "The text (or with --decode the JSON array); default: standard input, read as is");
  cmd->callback([options] { run_tokenize(*options); });
}

}  // namespace torchllm::cli
