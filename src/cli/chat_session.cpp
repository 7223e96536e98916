#include "cli/chat_session.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "cli/generation_options.h"
#include "cli/generation_report.h"
#include "torchllm/error.h"
#include "torchllm/json_file.h"

namespace torchllm::cli {
namespace {

constexpr const char* kWhitespace = " \t\r\n";

std::string trim(const std::string& s) {
  const size_t first = s.find_first_not_of(kWhitespace);
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(kWhitespace) - first + 1);
}

// "~/x" as a shell would expand it; commands take paths typed at the prompt, where no shell did that.
std::string expand_home(const std::string& path) {
  const char* home = std::getenv("HOME");
  if (path.rfind("~/", 0) == 0 && home && *home) return std::string(home) + path.substr(1);
  return path;
}

std::optional<bool> parse_switch(const std::string& value) {
  if (value == "on" || value == "true" || value == "1" || value == "yes") return true;
  if (value == "off" || value == "false" || value == "0" || value == "no") return false;
  return std::nullopt;
}

std::string thinking_name(const std::optional<bool>& thinking) {
  if (!thinking) return "default";
  return *thinking ? "on" : "off";
}

// A conversation file: a JSON array of {role, content} (what /save writes and `torchllm template --messages`
// reads), or an object with such a "messages" array (an OpenAI request). Throws Error(kInvalidArgument).
void parse_conversation(const nlohmann::ordered_json& json, std::string& system,
                        std::vector<ChatMessage>& turns) {
  const nlohmann::ordered_json& messages =
      json.is_object() && json.contains("messages") ? json["messages"] : json;
  if (!messages.is_array()) throw Error::invalid_argument("expected a JSON array of messages");
  for (size_t i = 0; i < messages.size(); ++i) {
    const nlohmann::ordered_json& m = messages[i];
    const std::string where = "message " + std::to_string(i + 1) + ": ";
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) {
      throw Error::invalid_argument(where + "expected an object with a string \"role\"");
    }
    if (!m.contains("content") || !m["content"].is_string()) {
      throw Error::invalid_argument(where + "expected a string \"content\"");
    }
    const std::string role = m["role"].get<std::string>();
    const std::string content = m["content"].get<std::string>();
    if (role == "system" && i == 0) {
      system = content;
    } else if (role == "user" || role == "assistant") {
      turns.push_back({role, content});
    } else {
      throw Error::invalid_argument(
          where + "role \"" + role +
          "\" is not one chat keeps (a system message first, then user and assistant)");
    }
  }
}

}  // namespace

ChatSession::ChatSession(ChatSettings settings) : settings_(std::move(settings)) {}

const char* ChatSession::help_text() {
  return "/help               this list\n"
         "/clear              start a new conversation (the system message and settings stay)\n"
         "/system [TEXT]      show or set the system message\n"
         "/set PARAM VALUE    temperature, top_k, top_p, min_p, repetition_penalty, presence_penalty,\n"
         "                    frequency_penalty, seed (or none), max_tokens (or none)\n"
         "/params             show the sampling parameters\n"
         "/think [on|off]     show or set the template's enable_thinking (Qwen3 reasoning)\n"
         "/save FILE          write the conversation as JSON messages\n"
         "/load FILE          continue a conversation written by /save\n"
         "/regen              replace the last reply with a new one\n"
         "/stats              prompt and generation speed of each reply, and the KV cache's use\n"
         "/exit               leave (also /quit, /bye, Ctrl-D)\n"
         "A line ending in \\ continues on the next; \"\"\" starts and ends a block of lines.\n"
         "Start a message with // to send it with a leading /.\n"
         "Ctrl-C during a reply stops it; what it said so far stays in the conversation (/regen replaces "
         "it).";
}

ChatSession::Outcome ChatSession::handle(const std::string& input, bool literal) {
  std::string text = input;
  if (!literal && text.rfind("//", 0) == 0) {
    text.erase(0, 1);
  } else if (!literal && !text.empty() && text[0] == '/') {
    const size_t end = text.find_first_of(kWhitespace);
    const std::string name = text.substr(1, end == std::string::npos ? std::string::npos : end - 1);
    return command(name, end == std::string::npos ? "" : trim(text.substr(end)));
  }
  if (trim(text).empty()) return {};
  turns_.push_back({"user", text});
  unanswered_message_ = true;
  return {Action::kReply, ""};
}

ChatSession::Outcome ChatSession::command(const std::string& name, const std::string& argument) {
  if (name == "help" || name == "?") return {Action::kNone, help_text()};
  if (name == "exit" || name == "quit" || name == "bye") return {Action::kExit, ""};
  if (name == "clear") {
    turns_.clear();
    first_turn_ = 0;
    replies_.clear();
    unanswered_message_ = false;
    return {Action::kNone,
            settings_.system.empty() ? "new conversation" : "new conversation (same system message)"};
  }
  if (name == "system") return {Action::kNone, system(argument)};
  if (name == "set") return {Action::kNone, set(argument)};
  if (name == "params") return {Action::kNone, params()};
  if (name == "think") return {Action::kNone, think(argument)};
  if (name == "save") return {Action::kNone, save(argument)};
  if (name == "load") return {Action::kNone, load(argument)};
  if (name == "regen") return regen();
  if (name == "stats") return {Action::kNone, stats()};
  return {Action::kNone, "unknown command /" + name + " (/help lists the commands)"};
}

std::string ChatSession::set(const std::string& argument) {
  const size_t space = argument.find_first_of(kWhitespace);
  if (space == std::string::npos) return "usage: /set PARAM VALUE (/params shows them)";
  std::string name = argument.substr(0, space);
  const std::string value = trim(argument.substr(space));
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  if (name == "max_tokens") {
    if (value == "none") {
      settings_.max_tokens.reset();
    } else {
      char* end = nullptr;
      errno = 0;
      const long long n = std::strtoll(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || errno != 0 || n < 1) {
        return "max_tokens must be a whole number of at least 1, or none; got '" + value + "'";
      }
      settings_.max_tokens = n;
    }
    return "max_tokens=" + value;
  }
  try {
    set_sampling_param(settings_.sampling, name, value);
  } catch (const Error& e) {
    return e.what();
  }
  return name + "=" + value;
}

std::string ChatSession::params() const {
  return describe_sampling(settings_.sampling) +
         " max_tokens=" + (settings_.max_tokens ? std::to_string(*settings_.max_tokens) : "none") +
         " thinking=" + thinking_name(settings_.enable_thinking);
}

std::string ChatSession::think(const std::string& argument) {
  if (!argument.empty()) {
    const std::optional<bool> on = parse_switch(argument);
    if (!on) return "usage: /think on|off";
    settings_.enable_thinking = on;
  }
  return "thinking " + thinking_name(settings_.enable_thinking) +
         (settings_.enable_thinking
              ? std::string(" (enable_thinking=") + (*settings_.enable_thinking ? "true" : "false") +
                    " from the next reply on)"
              : " (as the chat template decides)");
}

std::string ChatSession::system(const std::string& argument) {
  if (argument.empty()) return settings_.system.empty() ? "no system message" : "system: " + settings_.system;
  settings_.system = argument;
  return "system message set (from the next reply on)";
}

std::string ChatSession::save(const std::string& argument) const {
  if (argument.empty()) return "usage: /save FILE";
  const std::string path = expand_home(argument);
  std::ofstream out(path);
  const nlohmann::ordered_json all = messages_from(0);  // the turns left out of the prompt too
  if (out) out << all.dump(2) << "\n";
  out.close();
  if (!out) return "cannot write " + path + ": " + std::strerror(errno);
  const size_t n = all.size();
  return "saved " + std::to_string(n) + (n == 1 ? " message to " : " messages to ") + path;
}

std::string ChatSession::load(const std::string& argument) {
  if (argument.empty()) return "usage: /load FILE";
  const std::string path = expand_home(argument);
  std::string system;
  std::vector<ChatMessage> turns;
  try {
    nlohmann::ordered_json json;
    try {
      json = nlohmann::ordered_json::parse(read_text_file(path));
    } catch (const nlohmann::json::parse_error& e) {
      throw Error::invalid_argument(std::string("not JSON: ") + e.what());
    }
    parse_conversation(json, system, turns);
  } catch (const Error& e) {
    return "cannot load " + path + ": " + e.what();
  }
  settings_.system = system;
  turns_ = std::move(turns);
  first_turn_ = 0;
  replies_.clear();
  unanswered_message_ = false;
  const size_t n = messages().size();
  return "loaded " + std::to_string(n) + (n == 1 ? " message from " : " messages from ") + path;
}

ChatSession::Outcome ChatSession::regen() {
  const size_t n = turns_.size();
  if (n >= 2 && turns_[n - 1].role == "assistant" && turns_[n - 2].role == "user") {
    turns_.pop_back();
  } else if (n == 0 || turns_.back().role != "user") {
    return {Action::kNone, "nothing to regenerate"};
  }
  unanswered_message_ = false;  // a failed regeneration keeps the message, which still wants a reply
  return {Action::kReply, ""};
}

std::string ChatSession::stats() const {
  // The cache outlives conversations (/clear keeps what it holds), so its line comes either way.
  const std::string kv = kv_stats_ ? "\n" + kv_cache_summary(kv_stats_()) : "";
  if (replies_.empty()) return "no replies in this conversation yet" + kv;
  std::string out;
  int64_t prompt = 0, cached = 0, generated = 0;
  for (size_t i = 0; i < replies_.size(); ++i) {
    GenerationResult result;
    result.stats = replies_[i].stats;
    result.finish_reason = replies_[i].finish_reason;
    out += "reply " + std::to_string(i + 1) + ": " + generation_summary(result) + "\n";
    prompt += result.stats.prompt_tokens;
    cached += result.stats.cached_prompt_tokens;
    generated += result.stats.generated_tokens;
  }
  return out + "total: prompt " + std::to_string(prompt) + " tokens (" + std::to_string(cached) +
         " cached) | generated " + std::to_string(generated) + " tokens" + kv;
}

nlohmann::ordered_json ChatSession::messages() const { return messages_from(first_turn_); }

nlohmann::ordered_json ChatSession::messages_from(size_t first_turn) const {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  if (!settings_.system.empty()) messages.push_back({{"role", "system"}, {"content", settings_.system}});
  for (size_t i = first_turn; i < turns_.size(); ++i) {
    messages.push_back({{"role", turns_[i].role}, {"content", turns_[i].content}});
  }
  return messages;
}

bool ChatSession::leave_out_oldest() {
  size_t newest_user = turns_.size();  // stays, whatever else goes
  for (size_t i = first_turn_; i < turns_.size(); ++i) {
    if (turns_[i].role == "user") newest_user = i;
  }
  if (newest_user == turns_.size() || newest_user == first_turn_) return false;
  size_t first = first_turn_ + 1;
  while (first < newest_user && turns_[first].role != "user") ++first;  // templates want a user message first
  first_turn_ = first;
  return true;
}

nlohmann::ordered_json ChatSession::template_kwargs() const {
  nlohmann::ordered_json kwargs = nlohmann::ordered_json::object();
  if (settings_.enable_thinking) kwargs["enable_thinking"] = *settings_.enable_thinking;
  return kwargs;
}

void ChatSession::add_reply(const GenerationResult& result) {
  turns_.push_back({"assistant", result.text});
  replies_.push_back({result.stats, result.finish_reason});
  unanswered_message_ = false;
}

void ChatSession::drop_unanswered() {
  if (unanswered_message_ && !turns_.empty() && turns_.back().role == "user") turns_.pop_back();
  unanswered_message_ = false;
}

}  // namespace torchllm::cli
