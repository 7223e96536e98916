#include <cmath>
#include <sstream>
#include <string>

#include "torchllm/error.h"
#include "torchllm/sampler.h"

namespace torchllm {
namespace {

std::string number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

// Written as a negated "inside" test so that NaN is out of every range.
void check_range(const char* field, double value, double lo, bool lo_open, double hi) {
  const bool above_lo = lo_open ? value > lo : value >= lo;
  if (!(above_lo && value <= hi)) {
    throw Error::invalid_argument(std::string(field) + " must be in " + (lo_open ? "(" : "[") + number(lo) +
                                  ", " + number(hi) + "], got " + number(value));
  }
}

}  // namespace

void SamplingParams::validate(int64_t vocab_size) const {
  check_range("temperature", temperature, 0, false, 100);
  if (top_k < 0)
    throw Error::invalid_argument("top_k must be >= 0 (0 turns it off), got " + std::to_string(top_k));
  check_range("top_p", top_p, 0, true, 1);
  check_range("min_p", min_p, 0, false, 1);
  check_range("repetition_penalty", repetition_penalty, 0, true, 100);
  check_range("presence_penalty", presence_penalty, -2, false, 2);
  check_range("frequency_penalty", frequency_penalty, -2, false, 2);
  for (const auto& [token, bias] : logit_bias) {
    if (token < 0 || token >= vocab_size) {
      throw Error::invalid_argument("logit_bias: token id " + std::to_string(token) +
                                    " is outside the vocabulary [0, " + std::to_string(vocab_size) + ")");
    }
    if (!(bias >= -100 && bias <= 100)) {
      throw Error::invalid_argument("logit_bias: the bias of token " + std::to_string(token) +
                                    " must be in [-100, 100], got " + number(bias));
    }
  }
  if (top_logprobs < 0 || top_logprobs > 20) {
    throw Error::invalid_argument("top_logprobs must be in [0, 20], got " + std::to_string(top_logprobs));
  }
  // As OpenAI does: alternatives without the sampled token's own log-probability are never what was meant.
  if (top_logprobs > 0 && !logprobs) throw Error::invalid_argument("top_logprobs needs logprobs set to true");
}

}  // namespace torchllm
