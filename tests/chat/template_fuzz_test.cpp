// Random and mutated templates (built with AddressSanitizer): parsing must end in a clean Error or a parsed
// template, never a crash, a hang or unbounded memory; what parses is also rendered under the render limits.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <random>

#include "torchllm/chat_template.h"
#include "torchllm/error.h"

namespace torchllm {
namespace {

const char* const kSeeds[] = {
    R"({%- for message in messages %}{{- '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %})",
    R"({% set ns = namespace(a=0, last=-1) %}{% for m in messages[::-1] if m.role != 'x' %}{% set ns.a = ns.a + loop.index %}{% if loop.last %}{{ ns.a }}{% endif %}{% else %}none{% endfor %})",
    R"({% macro render(m, sep=', ') %}{{ m.role|upper ~ sep ~ (m.content|trim if m.content is string else m.content|tojson) }}{% endmacro %}{% for m in messages %}{{ render(m) }}{% endfor %})",
    R"({{ bos_token }}{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% else %}{% set loop_messages = messages %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate') }}{% endif %}{{ '[INST] ' + message['content'].strip() + ' [/INST]' }}{% endfor %})",
    R"({{ {'a': [1, 2.5, none, true], 'b': {'c': 'd'}}|tojson(indent=2) }}{{ "x,y".split(',')|map('upper')|join('-') }}{{ [3,1]|sort|first }}{% call(x) caller_macro() %}{{ x }}{% endcall %})",
    R"({% set d = {0: 0, 512: 128, (1, 'a'): none} %}{{ d[512] }}{{ ("'%s' %d"|safe) % (messages[0].role, 3) + '<&>' }}{{ ('<b>'|safe).join(['&', 1]) }}{{ messages|map(attribute='role')|max }}{{ messages|groupby('role')|map(attribute='grouper')|join }}{{ [1, 2, 3]|batch(2)|list }}{{ [1, 2, 3]|slice(2, 0)|list }}{{ none|select|list }}{% set j = joiner() %}{{ j() ~ j() }}{% set c = cycler(1, 2) %}{{ c.next() ~ c.current }}{{ 'abc'|truncate(3, true, '') ~ 'x'|center(5) ~ '%-3s|'|format('y') }})",
};

const char* const kFragments[] = {"{{",
                                  "}}",
                                  "{%",
                                  "%}",
                                  "{#",
                                  "#}",
                                  "{%-",
                                  "-%}",
                                  "(",
                                  ")",
                                  "[",
                                  "]",
                                  "{",
                                  "}",
                                  "'",
                                  "\"",
                                  "|",
                                  ".",
                                  ",",
                                  " if ",
                                  " else ",
                                  " for ",
                                  " in ",
                                  " endfor ",
                                  " endif ",
                                  " set ",
                                  " macro ",
                                  " call ",
                                  " not ",
                                  " is ",
                                  "~",
                                  "**",
                                  "//",
                                  "::",
                                  "-",
                                  "+",
                                  "\\",
                                  "\n",
                                  "loop",
                                  "messages",
                                  "range(99999)",
                                  "\xff",
                                  "\xc3",
                                  "0",
                                  "1e309"};

TEST(TemplateFuzz, RandomAndMutatedTemplatesNeverCrashOrHang) {
  std::mt19937_64 rng(1123);
  const auto messages = nlohmann::ordered_json::parse(
      R"([{"role": "system", "content": "s"}, {"role": "user", "content": "u"}, {"role": "assistant", "content": "a"}])");
  int parsed = 0, rejected = 0, rendered = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3000; ++i) {
    std::string source;
    if (i % 3 == 0) {
      for (int k = 0, n = 1 + static_cast<int>(rng() % 30); k < n; ++k)
        source += kFragments[rng() % std::size(kFragments)];
    } else {
      source = kSeeds[rng() % std::size(kSeeds)];
      for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n; ++k) {
        const size_t at = rng() % (source.size() + 1);
        switch (rng() % 3) {
          case 0:
            source.insert(at, kFragments[rng() % std::size(kFragments)]);
            break;
          case 1:
            source.erase(at, 1 + rng() % 8);
            break;
          case 2:
            if (at < source.size()) source[at] = static_cast<char>(rng() % 256);
            break;
        }
      }
    }
    try {
      ChatTemplate t(source, {{"bos_token", "<s>"}});
      ++parsed;
      try {
        t.render(messages);
        ++rendered;
      } catch (const Error&) {
      }
    } catch (const Error& e) {
      ++rejected;
      ASSERT_FALSE(std::string(e.what()).empty());
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "templates: 3000, parsed: " << parsed << ", rejected: " << rejected
            << ", rendered: " << rendered << ", seconds: " << seconds << "\n";
  EXPECT_GT(parsed, 100);
  EXPECT_GT(rejected, 1000);
}

}  // namespace
}  // namespace torchllm
