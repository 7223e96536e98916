// GBNF text to a byte-level ByteGrammar: a recursive-descent parser that builds rules of alternatives,
// expands repetitions into helper rules, and checks the result (every rule defined, a root, no left
// recursion).
#include <functional>
#include <map>
#include <optional>

#include "sampling/grammar/grammar.h"
#include "sampling/grammar/utf8_ranges.h"
#include "torchllm/error.h"

namespace torchllm::grammar {
namespace {

using Sequence = std::vector<Symbol>;
using Alternatives = std::vector<Sequence>;

// Bound on {m,n}: a schema's maxLength of a million would otherwise unroll a million rules.
constexpr uint32_t kMaxRepetition = 10000;

class Parser {
 public:
  explicit Parser(const std::string& text) : text_(text) {}

  ByteGrammar parse() {
    skip_space(true);
    while (pos_ < text_.size()) {
      parse_rule();
      skip_space(true);
    }
    return finish();
  }

 private:
  [[noreturn]] void fail(const std::string& message) const {
    size_t line = 1, column = 1;
    for (size_t i = 0; i < pos_ && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    throw Error::invalid_argument("grammar: line " + std::to_string(line) + ", column " +
                                  std::to_string(column) + ": " + message);
  }

  bool at_end() const { return pos_ >= text_.size(); }
  char peek(size_t ahead = 0) const { return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0'; }

  static bool word_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  }

  void skip_space(bool newline_ok) {
    while (!at_end()) {
      const char c = peek();
      if (c == ' ' || c == '\t' || (newline_ok && (c == '\n' || c == '\r'))) {
        ++pos_;
      } else if (c == '#') {
        while (!at_end() && peek() != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  std::string parse_name() {
    const size_t start = pos_;
    while (!at_end() && word_char(peek())) ++pos_;
    if (pos_ == start) fail("expected a rule name");
    return text_.substr(start, pos_ - start);
  }

  uint32_t rule_index(const std::string& name) {
    auto [it, added] = names_.emplace(name, static_cast<uint32_t>(rules_.size()));
    if (added) {
      rules_.emplace_back();
      defined_.push_back(false);
      rule_names_.push_back(name);
    }
    return it->second;
  }

  uint32_t new_rule(const std::string& base, Alternatives alternatives) {
    std::string name;
    do {
      name = base + "-" + std::to_string(++helpers_);
    } while (names_.count(name));
    const uint32_t index = rule_index(name);
    rules_[index] = std::move(alternatives);
    defined_[index] = true;
    return index;
  }

  void parse_rule() {
    const std::string name = parse_name();
    skip_space(false);
    if (text_.compare(pos_, 3, "::=") != 0) fail("expected ::= after '" + name + "'");
    pos_ += 3;
    skip_space(true);
    const uint32_t index = rule_index(name);
    if (defined_[index]) fail("rule '" + name + "' is defined twice");
    current_ = name;
    Alternatives alternatives = parse_alternatives(false);
    rules_[index] = std::move(alternatives);
    defined_[index] = true;
    if (!at_end() && peek() != '\n' && peek() != '\r') fail("expected the end of the rule's line");
  }

  Alternatives parse_alternatives(bool nested) {
    Alternatives alternatives;
    alternatives.push_back(parse_sequence(nested));
    while (peek() == '|') {
      ++pos_;
      skip_space(true);
      alternatives.push_back(parse_sequence(nested));
    }
    return alternatives;
  }

  uint32_t parse_hex(int digits) {
    uint32_t value = 0;
    for (int i = 0; i < digits; ++i) {
      const char c = peek();
      int v;
      if (c >= '0' && c <= '9')
        v = c - '0';
      else if (c >= 'a' && c <= 'f')
        v = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        v = c - 'A' + 10;
      else
        fail("expected " + std::to_string(digits) + " hex digits");
      value = value * 16 + static_cast<uint32_t>(v);
      ++pos_;
    }
    return value;
  }

  // One character of a literal or a class: an escape or a UTF-8 sequence, as a code point.
  uint32_t parse_char() {
    if (at_end()) fail("unexpected end of the grammar");
    const auto c = static_cast<unsigned char>(text_[pos_]);
    if (c == '\\') {
      ++pos_;
      const char e = peek();
      ++pos_;
      switch (e) {
        case 'n':
          return '\n';
        case 'r':
          return '\r';
        case 't':
          return '\t';
        case '\\':
          return '\\';
        case '"':
          return '"';
        case '\'':
          return '\'';
        case '[':
          return '[';
        case ']':
          return ']';
        case '-':
          return '-';
        case '^':
          return '^';
        case '/':
          return '/';
        case 'x':
          return parse_hex(2);
        case 'u':
          return parse_hex(4);
        case 'U': {
          const uint32_t cp = parse_hex(8);
          if (cp > 0x10FFFF) fail("code point beyond U+10FFFF");
          return cp;
        }
        default:
          --pos_;
          fail(std::string("unknown escape \\") + e);
      }
    }
    // UTF-8 in the grammar text stands for itself.
    int length = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (length == 0 || pos_ + length > text_.size()) fail("invalid UTF-8 in the grammar");
    uint32_t cp = length == 1 ? c : c & (0x7F >> length);
    for (int i = 1; i < length; ++i) {
      const auto next = static_cast<unsigned char>(text_[pos_ + i]);
      if ((next & 0xC0) != 0x80) fail("invalid UTF-8 in the grammar");
      cp = (cp << 6) | (next & 0x3F);
    }
    pos_ += length;
    return cp;
  }

  uint32_t byte_set(const ByteSet& set) {
    for (size_t i = 0; i < byte_sets_.size(); ++i) {
      if (byte_sets_[i] == set) return static_cast<uint32_t>(i);
    }
    byte_sets_.push_back(set);
    return static_cast<uint32_t>(byte_sets_.size() - 1);
  }

  Symbol byte_symbol(uint8_t lo, uint8_t hi) {
    ByteSet set;
    set.add_range(lo, hi);
    return {Symbol::kBytes, byte_set(set)};
  }

  // A set of code points as symbols: inline when one byte sequence spells it, else a helper rule.
  void append_class(Sequence& out, const std::vector<CodePointRange>& ranges) {
    Alternatives alternatives;
    ByteSet single;
    bool any_single = false;
    for (const std::vector<ByteRange>& seq : utf8_sequences(ranges)) {
      if (seq.size() == 1) {
        single.add_range(seq[0].first, seq[0].second);
        any_single = true;
        continue;
      }
      Sequence symbols;
      for (auto [lo, hi] : seq) symbols.push_back(byte_symbol(lo, hi));
      alternatives.push_back(std::move(symbols));
    }
    if (any_single) alternatives.insert(alternatives.begin(), Sequence{{Symbol::kBytes, byte_set(single)}});
    if (alternatives.empty()) fail("a character class that matches nothing");
    if (alternatives.size() == 1) {
      out.insert(out.end(), alternatives[0].begin(), alternatives[0].end());
    } else {
      out.push_back({Symbol::kRule, new_rule(current_ + "-char", std::move(alternatives))});
    }
  }

  void parse_literal(Sequence& out) {
    ++pos_;  // "
    while (peek() != '"') {
      if (at_end() || peek() == '\n') fail("unterminated string literal");
      std::vector<uint8_t> bytes;
      append_utf8(bytes, parse_char());
      for (uint8_t b : bytes) out.push_back(byte_symbol(b, b));
    }
    ++pos_;
  }

  void parse_class(Sequence& out) {
    ++pos_;  // [
    bool negated = false;
    if (peek() == '^') {
      negated = true;
      ++pos_;
    }
    std::vector<CodePointRange> ranges;
    while (peek() != ']') {
      if (at_end() || peek() == '\n') fail("unterminated character class");
      const uint32_t lo = parse_char();
      uint32_t hi = lo;
      if (peek() == '-' && peek(1) != ']' && peek(1) != '\n' && pos_ + 1 < text_.size()) {
        ++pos_;
        hi = parse_char();
        if (hi < lo) fail("a character range whose end comes before its start");
      }
      ranges.emplace_back(lo, hi);
    }
    ++pos_;
    append_class(out, negated ? complement(ranges) : ranges);
  }

  uint32_t parse_count() {
    const size_t start = pos_;
    uint64_t value = 0;
    while (peek() >= '0' && peek() <= '9') {
      value = value * 10 + static_cast<uint64_t>(peek() - '0');
      if (value > kMaxRepetition) fail("repetition count above " + std::to_string(kMaxRepetition));
      ++pos_;
    }
    if (pos_ == start) fail("expected a number");
    return static_cast<uint32_t>(value);
  }

  // item{min,max} (max < 0: unbounded) replaces the item in `out` from `start` on.
  void repeat(Sequence& out, size_t start, uint32_t min, int64_t max) {
    const Sequence item(out.begin() + static_cast<std::ptrdiff_t>(start), out.end());
    out.resize(start);
    for (uint32_t i = 0; i < min; ++i) out.insert(out.end(), item.begin(), item.end());
    if (max < 0) {
      // star ::= item star | ε
      const uint32_t star = new_rule(current_ + "-star", {});
      Sequence loop = item;
      loop.push_back({Symbol::kRule, star});
      rules_[star] = {loop, {}};
      out.push_back({Symbol::kRule, star});
      return;
    }
    // opt_k ::= item opt_{k-1} | ε, so that up to max - min more items may follow.
    int64_t extra = max - static_cast<int64_t>(min);
    std::optional<uint32_t> previous;
    for (int64_t k = 0; k < extra; ++k) {
      Sequence first = item;
      if (previous) first.push_back({Symbol::kRule, *previous});
      previous = new_rule(current_ + "-opt", {first, {}});
    }
    if (previous) out.push_back({Symbol::kRule, *previous});
  }

  Sequence parse_sequence(bool nested) {
    Sequence out;
    size_t last = 0;
    bool has_item = false;
    while (!at_end()) {
      const char c = peek();
      const size_t start = out.size();
      if (c == '"') {
        parse_literal(out);
      } else if (c == '[') {
        parse_class(out);
      } else if (c == '.') {
        ++pos_;
        append_class(out, {{0, 0x10FFFF}});
      } else if (c == '(') {
        ++pos_;
        skip_space(true);
        Alternatives group = parse_alternatives(true);
        if (peek() != ')') fail("expected ')'");
        ++pos_;
        out.push_back({Symbol::kRule, new_rule(current_ + "-group", std::move(group))});
      } else if (word_char(c)) {
        // A rule reference, unless it starts the next rule (name ::=).
        const size_t save = pos_;
        const std::string name = parse_name();
        skip_space(false);
        if (text_.compare(pos_, 3, "::=") == 0) {
          pos_ = save;
          break;
        }
        pos_ = save + name.size();
        out.push_back({Symbol::kRule, rule_index(name)});
      } else if (c == '*' || c == '+' || c == '?' || c == '{') {
        if (!has_item) fail(std::string("'") + c + "' must follow something to repeat");
        ++pos_;
        if (c == '*') {
          repeat(out, last, 0, -1);
        } else if (c == '+') {
          repeat(out, last, 1, -1);
        } else if (c == '?') {
          repeat(out, last, 0, 1);
        } else {
          skip_space(false);
          const uint32_t min = parse_count();
          int64_t max = min;
          skip_space(false);
          if (peek() == ',') {
            ++pos_;
            skip_space(false);
            max = peek() == '}' ? -1 : static_cast<int64_t>(parse_count());
            skip_space(false);
          }
          if (peek() != '}') fail("expected '}'");
          ++pos_;
          if (max >= 0 && max < static_cast<int64_t>(min)) fail("{m,n} with n < m");
          repeat(out, last, min, max);
        }
        has_item = false;  // a repetition of a repetition needs parentheses, as in llama.cpp
        skip_space(nested);
        continue;
      } else {
        break;
      }
      last = start;
      has_item = true;
      skip_space(nested);
    }
    return out;
  }

  void check_left_recursion() const {
    const size_t n = rules_.size();
    std::vector<bool> nullable(n, false);
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t r = 0; r < n; ++r) {
        if (nullable[r]) continue;
        for (const Sequence& alt : rules_[r]) {
          bool all = true;
          for (const Symbol& s : alt) all = all && s.kind == Symbol::kRule && nullable[s.value];
          if (all) {
            nullable[r] = changed = true;
            break;
          }
        }
      }
    }
    // Rules each rule can call before consuming a byte.
    std::vector<std::vector<uint32_t>> first(n);
    for (size_t r = 0; r < n; ++r) {
      for (const Sequence& alt : rules_[r]) {
        for (const Symbol& s : alt) {
          if (s.kind != Symbol::kRule) break;
          first[r].push_back(s.value);
          if (!nullable[s.value]) break;
        }
      }
    }
    std::vector<int> mark(n, 0);  // 0 new, 1 on the path, 2 done
    std::function<void(uint32_t)> visit = [&](uint32_t r) {
      mark[r] = 1;
      for (uint32_t next : first[r]) {
        if (mark[next] == 1) {
          throw Error::invalid_argument("grammar: rule '" + rule_names_[next] +
                                        "' is left-recursive (it can reach itself without consuming input)");
        }
        if (mark[next] == 0) visit(next);
      }
      mark[r] = 2;
    };
    for (uint32_t r = 0; r < n; ++r) {
      if (mark[r] == 0) visit(r);
    }
  }

  ByteGrammar finish() {
    for (size_t r = 0; r < rules_.size(); ++r) {
      if (!defined_[r])
        throw Error::invalid_argument("grammar: rule '" + rule_names_[r] + "' is not defined");
    }
    const auto root = names_.find("root");
    if (root == names_.end()) throw Error::invalid_argument("grammar: no 'root' rule");
    check_left_recursion();
    ByteGrammar g;
    g.root = root->second;
    g.rule_names = rule_names_;
    g.byte_sets = byte_sets_;
    for (const Alternatives& alternatives : rules_) {
      std::vector<uint32_t> starts;
      for (const Sequence& alt : alternatives) {
        starts.push_back(static_cast<uint32_t>(g.symbols.size()));
        g.symbols.insert(g.symbols.end(), alt.begin(), alt.end());
        g.symbols.push_back({Symbol::kEnd, 0});
      }
      g.rule_alternatives.push_back(std::move(starts));
    }
    return g;
  }

  const std::string& text_;
  size_t pos_ = 0;
  std::map<std::string, uint32_t> names_;
  std::vector<Alternatives> rules_;
  std::vector<bool> defined_;
  std::vector<std::string> rule_names_;
  std::vector<ByteSet> byte_sets_;
  std::string current_;
  int helpers_ = 0;
};

}  // namespace

ByteGrammar parse_gbnf(const std::string& text) { return Parser(text).parse(); }

}  // namespace torchllm::grammar
