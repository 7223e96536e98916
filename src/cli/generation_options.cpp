#include "cli/generation_options.h"

#include <algorithm>
#include <sstream>

#include "cli/command_failed.h"
#include "torchllm/error.h"

namespace torchllm::cli {
namespace {

double parse_double(const std::string& name, const std::string& value) {
  try {
    size_t used = 0;
    const double d = std::stod(value, &used);
    if (used == value.size()) return d;
  } catch (const std::exception&) {
  }
  throw Error::invalid_argument(name + " must be a number, got '" + value + "'");
}

int64_t parse_int(const std::string& name, const std::string& value) {
  try {
    size_t used = 0;
    const long long i = std::stoll(value, &used);
    if (used == value.size()) return i;
  } catch (const std::exception&) {
  }
  throw Error::invalid_argument(name + " must be an integer, got '" + value + "'");
}

}  // namespace

void GenerationOptions::add_to(CLI::App& command) {
  const std::string group = "Sampling (default: the model's generation_config.json, else the fallback shown)";
  command.add_option("--temperature", temperature, "Softmax temperature; 0 = greedy (fallback: 1)")
      ->group(group);
  command.add_option("--top-k", top_k, "Keep the k most likely tokens; 0 = off (fallback: 0)")->group(group);
  command
      .add_option("--top-p", top_p,
                  "Nucleus sampling: keep tokens up to this cumulative probability (fallback: 1 = off)")
      ->group(group);
  command
      .add_option("--min-p", min_p,
                  "Drop tokens below min_p x the most likely token's probability (fallback: 0 = off)")
      ->group(group);
  command
      .add_option("--repetition-penalty,--repeat-penalty", repetition_penalty,
                  "Penalize tokens of the prompt and the output (fallback: 1 = off)")
      ->group(group);
  command.add_option("--presence-penalty", presence_penalty, "OpenAI presence penalty, -2..2 (fallback: 0)")
      ->group(group);
  command
      .add_option("--frequency-penalty", frequency_penalty, "OpenAI frequency penalty, -2..2 (fallback: 0)")
      ->group(group);
  command.add_option("--logit-bias", logit_bias, "ID=BIAS added to a token's logit (repeatable)")
      ->group(group);
  command.add_option("--seed", seed, "Random seed for reproducible sampling (default: a new one each run)")
      ->group(group);
  command
      .add_option("-n,--max-tokens", max_tokens,
                  "Most tokens to generate (default: until the end or the context)")
      ->group(group);
  command.add_option("--stop", stop, "Stop when this text is generated; not printed (repeatable)")
      ->group(group);
  command.add_flag("--ignore-eos", ignore_eos, "Keep generating past end-of-sequence tokens")->group(group);
  command
      .add_option("-c,--context", context,
                  "KV cache length in tokens, prompt included (0 = the model's maximum up to " +
                      std::to_string(kDefaultContext) + "; capped at the model's maximum)")
      ->capture_default_str();
  command.add_option("--kv-block-size", kv_block_size, "Tokens per KV cache block")->capture_default_str();
  command.add_flag_function(
      "--no-prefix-cache", [this](int64_t) { prefix_caching = false; },
      "Compute every prompt in full instead of reusing the K/V of a prefix computed before (the "
      "conversation so far, in chat)");
}

SamplingParams GenerationOptions::sampling(const std::string& model_dir, int64_t vocab_size) const {
  SamplingParams params = load_sampling_defaults(model_dir);
  if (temperature) params.temperature = *temperature;
  if (top_k) params.top_k = *top_k;
  if (top_p) params.top_p = *top_p;
  if (min_p) params.min_p = *min_p;
  if (repetition_penalty) params.repetition_penalty = *repetition_penalty;
  if (presence_penalty) params.presence_penalty = *presence_penalty;
  if (frequency_penalty) params.frequency_penalty = *frequency_penalty;
  if (seed) params.seed = *seed;
  try {
    for (const std::string& entry : logit_bias) {
      const size_t eq = entry.find('=');
      if (eq == std::string::npos)
        throw Error::invalid_argument("--logit-bias wants ID=BIAS, got '" + entry + "'");
      params.logit_bias[parse_int("--logit-bias id", entry.substr(0, eq))] =
          parse_double("--logit-bias value", entry.substr(eq + 1));
    }
    if (max_tokens && *max_tokens < 1) throw Error::invalid_argument("--max-tokens must be at least 1");
    for (const std::string& s : stop) {
      if (s.empty()) throw Error::invalid_argument("--stop strings must not be empty");
    }
    if (context < 0) throw Error::invalid_argument("--context must not be negative");
    if (kv_block_size < 1)
      throw Error::invalid_argument("--kv-block-size must be at least 1, got " +
                                    std::to_string(kv_block_size));
    params.validate(vocab_size);
  } catch (const Error& e) {
    throw CommandFailed(e.what(), 2);
  }
  return params;
}

int64_t GenerationOptions::resolved_context(int64_t max_position_embeddings, std::ostream& warnings) const {
  if (context > 0) return capped_context(context, max_position_embeddings, warnings);
  return std::min(max_position_embeddings, kDefaultContext);
}

int64_t capped_context(int64_t requested, int64_t max_position_embeddings, std::ostream& warnings) {
  if (requested <= max_position_embeddings) return requested;
  warnings << "torchllm: warning: --context " << requested << " is more than the model's maximum of "
           << max_position_embeddings << " tokens (max_position_embeddings); using "
           << max_position_embeddings << "\n";
  return max_position_embeddings;
}

SchedulerOptions GenerationOptions::kv_options(int64_t resolved_context) const {
  if (kv_block_size < 1) {
    throw CommandFailed("--kv-block-size must be at least 1, got " + std::to_string(kv_block_size), 2);
  }
  SchedulerOptions options;
  options.max_seq = resolved_context;
  options.kv_block_size = kv_block_size;
  options.prefix_caching = prefix_caching;
  return options;
}

GenerationRequest GenerationOptions::request(std::vector<TokenId> prompt,
                                             const SamplingParams& sampling) const {
  GenerationRequest request;
  request.prompt = std::move(prompt);
  request.sampling = sampling;
  request.max_tokens = max_tokens;
  request.stop = stop;
  request.ignore_eos = ignore_eos;
  return request;
}

void set_sampling_param(SamplingParams& params, const std::string& name, const std::string& value) {
  SamplingParams next = params;
  if (name == "temperature") {
    next.temperature = parse_double(name, value);
  } else if (name == "top_k") {
    next.top_k = parse_int(name, value);
  } else if (name == "top_p") {
    next.top_p = parse_double(name, value);
  } else if (name == "min_p") {
    next.min_p = parse_double(name, value);
  } else if (name == "repetition_penalty") {
    next.repetition_penalty = parse_double(name, value);
  } else if (name == "presence_penalty") {
    next.presence_penalty = parse_double(name, value);
  } else if (name == "frequency_penalty") {
    next.frequency_penalty = parse_double(name, value);
  } else if (name == "seed") {
    if (value == "none") {
      next.seed.reset();
    } else {
      next.seed = static_cast<uint64_t>(parse_int(name, value));
    }
  } else {
    throw Error::invalid_argument(
        "unknown parameter '" + name +
        "' (temperature, top_k, top_p, min_p, repetition_penalty, presence_penalty, "
        "frequency_penalty, seed)");
  }
  next.validate(std::numeric_limits<int64_t>::max());
  params = next;
}

std::string describe_sampling(const SamplingParams& p) {
  std::ostringstream out;
  out << "temperature=" << p.temperature << " top_k=" << p.top_k << " top_p=" << p.top_p
      << " min_p=" << p.min_p << " repetition_penalty=" << p.repetition_penalty
      << " presence_penalty=" << p.presence_penalty << " frequency_penalty=" << p.frequency_penalty
      << " seed=";
  if (p.seed) {
    out << *p.seed;
  } else {
    out << "none";
  }
  return out.str();
}

}  // namespace torchllm::cli
