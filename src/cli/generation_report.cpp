#include "cli/generation_report.h"

#include <cstdio>

namespace torchllm::cli {

std::string generation_summary(const GenerationResult& r) {
  const GenerationStats& s = r.stats;
  char line[512];
  std::snprintf(
      line, sizeof(line),
      "prompt %lld tokens (%lld cached), %.1f tok/s | generated %lld tokens, %.1f tok/s | first token "
      "%.0f ms | %s",
      static_cast<long long>(s.prompt_tokens), static_cast<long long>(s.cached_prompt_tokens),
      s.prefill_tok_s, static_cast<long long>(s.generated_tokens), s.decode_tok_s, s.ttft_ms,
      finish_reason_name(r.finish_reason));
  return line;
}

std::string kv_cache_summary(const KvCacheStats& s) {
  std::string line = "KV cache: " + std::to_string(s.blocks_used) + "/" + std::to_string(s.blocks_total) +
                     " blocks of " + std::to_string(s.block_size) + " tokens in use, " +
                     std::to_string(s.blocks_cached) +
                     " cached; prefix cache: " + std::to_string(s.prefix_hit_tokens) + " of " +
                     std::to_string(s.prompt_tokens) + " prompt tokens from the cache";
  if (s.preemptions > 0) line += ", " + std::to_string(s.preemptions) + " preemptions";
  return line;
}

nlohmann::ordered_json generation_json(const GenerationResult& r, const Tokenizer& tokenizer,
                                       bool with_logprobs) {
  const GenerationStats& s = r.stats;
  nlohmann::ordered_json out = {
      {"text", r.text},
      {"tokens", r.tokens},
      {"finish_reason", finish_reason_name(r.finish_reason)},
      {"stop", r.stop_string ? nlohmann::ordered_json(*r.stop_string) : nlohmann::ordered_json()},
      {"usage",
       {{"prompt_tokens", s.prompt_tokens},
        {"completion_tokens", s.generated_tokens},
        {"total_tokens", s.prompt_tokens + s.generated_tokens}}},
      {"stats",
       {{"cached_prompt_tokens", s.cached_prompt_tokens},
        {"ttft_ms", s.ttft_ms},
        {"prefill_tok_s", s.prefill_tok_s},
        {"decode_tok_s", s.decode_tok_s}}}};
  if (with_logprobs) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    auto token_text = [&](int64_t id) { return tokenizer.decode({static_cast<TokenId>(id)}); };
    for (const SampledToken& t : r.token_logprobs) {
      nlohmann::ordered_json top = nlohmann::ordered_json::array();
      for (const TokenLogprob& alt : t.top) {
        top.push_back({{"id", alt.token}, {"token", token_text(alt.token)}, {"logprob", alt.logprob}});
      }
      list.push_back(
          {{"id", t.token}, {"token", token_text(t.token)}, {"logprob", t.logprob}, {"top_logprobs", top}});
    }
    out["logprobs"] = list;
  }
  return out;
}

}  // namespace torchllm::cli
