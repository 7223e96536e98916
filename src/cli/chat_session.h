#pragma once

// What `torchllm chat` remembers apart from the model and the terminal: the conversation, the settings that
// slash commands change, and the statistics of each reply. Kept apart from both so it can be tested alone.

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "torchllm/generation.h"
#include "torchllm/sampler.h"
#include "torchllm/scheduler.h"

namespace torchllm::cli {

struct ChatSettings {
  SamplingParams sampling;
  std::optional<int64_t> max_tokens;    // none: until the end of the reply or of the context
  std::string system;                   // empty: no system message
  std::optional<bool> enable_thinking;  // none: the template's default
};

struct ChatMessage {
  std::string role;  // "user" or "assistant"
  std::string content;
};

class ChatSession {
 public:
  enum class Action { kNone, kReply, kExit };
  struct Outcome {
    Action action = Action::kNone;
    std::string output;  // for the user (one or more lines, no final newline); empty when there is nothing
  };

  explicit ChatSession(ChatSettings settings);

  // One complete input: a slash command, or else a message, which joins the conversation and asks for a
  // reply. `literal` sends text starting with '/' as a message; so does a leading "//" (one slash is
  // dropped). A command that fails (an unknown parameter, an unreadable file) says so in the output and
  // changes nothing.
  Outcome handle(const std::string& input, bool literal = false);

  // The conversation as the chat template wants it: the system message first, when there is one, then the
  // turns not left out (see leave_out_oldest).
  nlohmann::ordered_json messages() const;
  // When the conversation no longer fits the context: leaves the oldest exchange out of messages() (the
  // system message stays, and what is left starts with a user message). The turns are kept, for /save. False
  // when only the newest message is left. /clear and /load bring everything back.
  bool leave_out_oldest();
  size_t turns_left_out() const { return first_turn_; }
  // Extra template variables: enable_thinking once /think or --no-think set it.
  nlohmann::ordered_json template_kwargs() const;
  const ChatSettings& settings() const { return settings_; }
  const std::vector<ChatMessage>& turns() const { return turns_; }

  // Stores a reply as generated (the template decides what of it, e.g. reasoning, the model sees again). A
  // cancelled reply is stored too, as far as it got; /regen replaces it.
  void add_reply(const GenerationResult& result);
  // The reply could not be made: the message that asked for it leaves the conversation again (after /regen
  // it stays, as it was answered before).
  void drop_unanswered();

  static const char* help_text();

  // Where /stats reads the generator's KV cache (blocks in use, prefix-cache hits); without one, /stats
  // shows only the replies.
  void set_kv_stats(std::function<KvCacheStats()> source) { kv_stats_ = std::move(source); }

 private:
  struct ReplyStats {
    GenerationStats stats;
    FinishReason finish_reason;
  };

  Outcome command(const std::string& name, const std::string& argument);
  std::string set(const std::string& argument);
  std::string params() const;
  std::string think(const std::string& argument);
  std::string system(const std::string& argument);
  std::string save(const std::string& path) const;
  std::string load(const std::string& path);
  Outcome regen();
  std::string stats() const;
  nlohmann::ordered_json messages_from(size_t first_turn) const;

  ChatSettings settings_;
  std::vector<ChatMessage> turns_;
  std::vector<ReplyStats> replies_;  // of this conversation, for /stats
  bool unanswered_message_ = false;  // the last turn is a message handle() added and no reply answered yet
  size_t first_turn_ = 0;            // turns_ before it are left out of messages()
  std::function<KvCacheStats()> kv_stats_;
};

}  // namespace torchllm::cli
