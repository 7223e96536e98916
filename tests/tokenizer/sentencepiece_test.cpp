// SentencePiece tokenizer.model support, checked against Debian's spm_encode / spm_decode on a model that the
// tokenizer_spm_model fixture trains with spm_train (train_spm_model.sh).

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tiny_tokenizer.h"
#include "tokenizer/sentencepiece_tokenizer.h"
#include "tokenizer/utf8.h"
#include "torchllm/error.h"
#include "torchllm/tokenizer.h"

namespace torchllm::tokenizer {
namespace {

const std::string kModelDir = TORCHLLM_SPM_MODEL_DIR;
const std::string kModel = kModelDir + "/tokenizer.model";

void require_model() {
  ASSERT_TRUE(std::ifstream(kModel).good())
      << kModel << " is missing: it is made by the CTest fixture test tokenizer_spm_model "
      << "(train_spm_model.sh), which needs spm_train from Debian's sentencepiece package";
}

// Each test process works in its own directory: CTest may run these test cases in parallel.
std::string work_dir() { return std::string(TORCHLLM_SPM_WORK_DIR) + "/" + std::to_string(::getpid()); }

// A directory holding the trained model and the given JSON files.
std::string model_directory(const std::string& name,
                            const std::vector<std::pair<std::string, nlohmann::json>>& files = {}) {
  const std::string dir = work_dir() + "/fixtures/" + name;
  std::system(
      ("rm -rf '" + dir + "' && mkdir -p '" + dir + "' && cp '" + kModel + "' '" + dir + "/'").c_str());
  for (const auto& [file, content] : files) std::ofstream(dir + "/" + file) << content.dump(1);
  return dir;
}

// Strings without a newline (spm_encode reads one per line): ASCII, accents, CJK, emoji (byte fallback),
// digits, runs of spaces, leading and trailing spaces.
std::vector<std::string> line_strings() {
  const std::vector<std::string> words = {"hello",
                                          "world",
                                          "the",
                                          "quick",
                                          "brown",
                                          "fox",
                                          "café",
                                          "naïve",
                                          "über",
                                          "straße",
                                          "Ærøskøbing",
                                          "世界",
                                          "你好",
                                          "東京",
                                          "日本語のテキスト",
                                          "😀",
                                          "👍🏽",
                                          "👨‍👩‍👧",
                                          "🇩🇪",
                                          "12345",
                                          "3.14159",
                                          "print(x)",
                                          "{\"key\": [1, 2]}",
                                          "tokenizer",
                                          "SentencePiece",
                                          "a+b=c",
                                          "ü",
                                          "ñandú",
                                          "Ελληνικά",
                                          "русский",
                                          "<s>",
                                          "</s>",
                                          "<unk>",
                                          "\t",
                                          "ǅ",
                                          "x̧̌",
                                          "ﬁ"};
  const std::vector<std::string> spaces = {" ", "  ", "   ", " ", " ", ""};
  std::vector<std::string> result = {
      "", " ", "  ", "a", " a", "a ", "  a  b  ", "hello world", " hello world ", "▁", "▁▁x", " ▁ "};
  uint64_t seed = 42;
  auto next = [&seed](size_t n) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<size_t>((seed >> 33) % n);
  };
  for (int i = 0; i < 400; ++i) {
    std::string text = i % 5 == 0 ? spaces[next(spaces.size())] : "";
    const size_t count = 1 + next(6);
    for (size_t w = 0; w < count; ++w) {
      if (w > 0) text += spaces[next(spaces.size())];
      text += words[next(words.size())];
    }
    if (i % 7 == 0) text += spaces[next(3)];
    result.push_back(text);
  }
  return result;
}

std::vector<std::string> all_strings() {
  std::vector<std::string> result = line_strings();
  for (const char* text : {"\n", "a\nb", "hello\n\nworld\n", " \n ", "\r\n", "x\n 😀\n世界"}) {
    result.emplace_back(text);
  }
  return result;
}

std::string run_tool(const std::string& tool, const std::string& flags, const std::string& input) {
  std::system(("mkdir -p '" + work_dir() + "'").c_str());
  const std::string base = work_dir() + "/" + tool;
  std::ofstream(base + ".in", std::ios::binary) << input;
  const std::string command = tool + " --model='" + kModel + "' " + flags + " < '" + base + ".in' > '" +
                              base + ".out' 2> '" + base + ".err'";
  if (std::system(command.c_str()) != 0) {
    ADD_FAILURE() << command << " failed (is Debian's sentencepiece package installed?)";
    return {};
  }
  std::ifstream out(base + ".out", std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(out), {});
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// SentencePiece writes spaces as U+2581 and so reads a U+2581 of the input as a space (as Hugging Face's
// Llama tokenizers do); everything else comes back exactly with this model (identity normalization).
bool is_lossless(const std::string& text) { return text.find("\xE2\x96\x81") == std::string::npos; }

std::string ids_text(const std::vector<TokenId>& ids) {
  std::string text;
  for (size_t i = 0; i < ids.size(); ++i) text += (i ? " " : "") + std::to_string(ids[i]);
  return text;
}

std::string stream_decode(const Tokenizer& tokenizer, const std::vector<TokenId>& ids, bool skip_special) {
  StreamDecoder decoder(tokenizer, skip_special);
  std::string text;
  for (TokenId id : ids) text += decoder.push(id);
  return text + decoder.finish();
}

class SentencePieceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    require_model();
    if (!HasFatalFailure()) tokenizer_ = load_tokenizer(model_directory("plain"));
  }
  std::unique_ptr<Tokenizer> tokenizer_;
};

TEST_F(SentencePieceTest, EncodeMatchesSpmEncode) {
  const std::vector<std::string> strings = line_strings();
  ASSERT_GE(strings.size(), 300u);
  std::string input;
  for (const std::string& text : strings) input += text + "\n";
  const std::vector<std::string> expected = lines_of(run_tool("spm_encode", "--output_format=id", input));
  ASSERT_EQ(expected.size(), strings.size());
  EncodeOptions no_special;
  no_special.add_special_tokens = false;
  size_t mismatches = 0;
  for (size_t i = 0; i < strings.size(); ++i) {
    const std::string ours = ids_text(tokenizer_->encode(strings[i], no_special));
    if (ours != expected[i] && ++mismatches <= 10) {
      ADD_FAILURE() << "'" << strings[i] << "': ours [" << ours << "], spm_encode [" << expected[i] << "]";
    }
  }
  EXPECT_EQ(mismatches, 0u) << "of " << strings.size();
}

TEST_F(SentencePieceTest, DecodeMatchesSpmDecode) {
  const std::vector<std::string> strings = line_strings();
  EncodeOptions no_special;
  no_special.add_special_tokens = false;
  std::string input;
  std::vector<std::vector<TokenId>> encoded;
  for (const std::string& text : strings) {
    // BOS and EOS around the ids: spm_decode writes control pieces as nothing, as skip_special_tokens does.
    std::vector<TokenId> ids = tokenizer_->encode(text);
    ids.push_back(2);
    encoded.push_back(ids);
    input += (ids.size() > 2 ? ids_text(ids) : "1 2") + "\n";
  }
  const std::vector<std::string> expected = lines_of(run_tool("spm_decode", "--input_format=id", input));
  ASSERT_EQ(expected.size(), strings.size());
  for (size_t i = 0; i < strings.size(); ++i) {
    EXPECT_EQ(tokenizer_->decode(encoded[i], true), expected[i]) << ids_text(encoded[i]);
    if (is_lossless(strings[i])) {
      EXPECT_EQ(tokenizer_->decode(tokenizer_->encode(strings[i], no_special)), strings[i]);
    }
  }
}

TEST_F(SentencePieceTest, RoundTripAndStreamingOnEveryString) {
  size_t checked = 0;
  for (const std::string& text : all_strings()) {
    const std::vector<TokenId> ids = tokenizer_->encode(text);
    ASSERT_EQ(ids.front(), 1) << text;
    if (is_lossless(text)) {
      EXPECT_EQ(tokenizer_->decode(ids, true), text);
    }
    for (bool skip : {true, false}) {
      EXPECT_EQ(stream_decode(*tokenizer_, ids, skip), tokenizer_->decode(ids, skip)) << "'" << text << "'";
    }
    // Several sequences in one stream, with BOS/EOS in between.
    std::vector<TokenId> twice = ids;
    twice.push_back(2);
    twice.insert(twice.end(), ids.begin(), ids.end());
    for (bool skip : {true, false}) {
      EXPECT_EQ(stream_decode(*tokenizer_, twice, skip), tokenizer_->decode(twice, skip))
          << "'" << text << "'";
    }
    ++checked;
  }
  EXPECT_GE(checked, 300u);
}

TEST_F(SentencePieceTest, LeadingSpaceRuleInStreams) {
  const std::vector<TokenId> hello = tokenizer_->encode("hello world", EncodeOptions{false, false});
  ASSERT_FALSE(tokenizer_->decode_depends_on_next(hello.front()));
  std::vector<TokenId> ids = {1};
  ids.insert(ids.end(), hello.begin(), hello.end());
  ids.push_back(2);
  EXPECT_EQ(tokenizer_->decode(ids, true), "hello world");
  EXPECT_EQ(tokenizer_->decode(ids, false), "<s> hello world</s>");
  EXPECT_EQ(tokenizer_->decode(hello), "hello world");
  // Piece by piece, the space before "world" arrives with "world", never doubled nor lost.
  StreamDecoder decoder(*tokenizer_, true);
  std::string text;
  for (TokenId id : ids) text += decoder.push(id);
  EXPECT_EQ(text + decoder.finish(), "hello world");
  // A leading space of the text itself is kept: SentencePiece's dummy prefix is the one it drops.
  EXPECT_EQ(stream_decode(*tokenizer_, tokenizer_->encode("  two"), true), "  two");
}

TEST_F(SentencePieceTest, ByteFallbackIsHeldBackUntilTheCharacterIsComplete) {
  const std::vector<TokenId> ids = tokenizer_->encode("😀", EncodeOptions{false, false});
  size_t bytes = 0;
  for (TokenId id : ids) bytes += tokenizer_->decode_depends_on_next(id) ? 1 : 0;
  EXPECT_EQ(bytes, 4u) << ids_text(ids);
  StreamDecoder decoder(*tokenizer_);
  std::string text;
  for (TokenId id : ids) text += decoder.push(id);
  EXPECT_EQ(text + decoder.finish(), "😀");
}

TEST_F(SentencePieceTest, VocabularyAndRoles) {
  EXPECT_EQ(tokenizer_->vocab_size(), 400u);
  EXPECT_EQ(tokenizer_->token_to_id("<s>"), 1);
  EXPECT_EQ(tokenizer_->token_to_id("</s>"), 2);
  EXPECT_EQ(tokenizer_->token_to_id("<0x41>"), 3 + 0x41);
  EXPECT_EQ(tokenizer_->token_to_id("no such piece"), std::nullopt);
  EXPECT_EQ(tokenizer_->id_to_token(0), "<unk>");
  EXPECT_EQ(tokenizer_->id_to_token(400), std::nullopt);
  EXPECT_EQ(tokenizer_->id_to_token(-1), std::nullopt);
  EXPECT_TRUE(tokenizer_->is_special(0));
  EXPECT_TRUE(tokenizer_->is_special(1));
  EXPECT_TRUE(tokenizer_->is_special(2));
  EXPECT_FALSE(tokenizer_->is_special(3));
  EXPECT_TRUE(tokenizer_->decode_depends_on_next(3));
  const SpecialTokenRoles& roles = tokenizer_->special_tokens();
  EXPECT_EQ(roles.bos, 1);
  EXPECT_EQ(roles.eos, std::vector<TokenId>{2});
  EXPECT_EQ(roles.unk, 0);
  EXPECT_EQ(roles.pad, std::nullopt);
  EXPECT_TRUE(roles.add_bos);
  // Unknown ids are skipped; <unk> is written as its piece unless special tokens are skipped.
  EXPECT_EQ(tokenizer_->decode({-5, 9999, 0}), "<unk>");
  EXPECT_EQ(tokenizer_->decode({0}, true), "");
}

TEST_F(SentencePieceTest, BosAndEosFollowTokenizerConfig) {
  const std::vector<TokenId> plain = tokenizer_->encode("hello", EncodeOptions{false, false});
  std::vector<TokenId> with_bos = {1};
  with_bos.insert(with_bos.end(), plain.begin(), plain.end());
  EXPECT_EQ(tokenizer_->encode("hello"), with_bos);
  EXPECT_EQ(tokenizer_->encode(""), std::vector<TokenId>{1});

  const auto eos_only = load_tokenizer(model_directory(
      "eos_only", {{"tokenizer_config.json", {{"add_bos_token", false}, {"add_eos_token", true}}}}));
  std::vector<TokenId> with_eos = plain;
  with_eos.push_back(2);
  EXPECT_EQ(eos_only->encode("hello"), with_eos);
  EXPECT_EQ(eos_only->encode("hello", EncodeOptions{false, false}), plain);
  EXPECT_FALSE(eos_only->special_tokens().add_bos);

  // Roles named in the JSON files win over the model's; generation_config.json adds stop ids.
  const auto configured = load_tokenizer(model_directory(
      "configured", {{"tokenizer_config.json", {{"eos_token", "</s>"}, {"pad_token", "<unk>"}}},
                     {"generation_config.json", {{"eos_token_id", {2, 5}}}}}));
  EXPECT_EQ(configured->special_tokens().eos, (std::vector<TokenId>{2, 5}));
  EXPECT_EQ(configured->special_tokens().pad, 0);
  EXPECT_EQ(configured->special_tokens().bos, 1);
  EXPECT_TRUE(configured->special_tokens().add_bos);
}

TEST_F(SentencePieceTest, ControlTokenTextIsNeverParsed) {
  for (bool split : {false, true}) {
    const std::vector<TokenId> ids = tokenizer_->encode("a<s>b</s>", EncodeOptions{false, split});
    for (TokenId id : ids) EXPECT_FALSE(tokenizer_->is_special(id)) << id;
    EXPECT_EQ(tokenizer_->decode(ids), "a<s>b</s>");
  }
}

TEST_F(SentencePieceTest, InvalidUtf8IsReadWithReplacementCharacters) {
  const std::string invalid =
      "a\xFF"
      "b\xE2\x82";
  const std::vector<TokenId> ids = tokenizer_->encode(invalid, EncodeOptions{false, false});
  EXPECT_EQ(tokenizer_->decode(ids), to_valid_utf8(invalid));
  EXPECT_EQ(stream_decode(*tokenizer_, ids, false), to_valid_utf8(invalid));
}

TEST_F(SentencePieceTest, TokenizerJsonComesFirst) {
  const std::string dir =
      model_directory("both", {{"tokenizer.json", testing::tiny_byte_level_tokenizer_json()}});
  const size_t json_vocab = load_tokenizer(dir + "/tokenizer.json")->vocab_size();
  ASSERT_NE(json_vocab, 400u);
  EXPECT_EQ(load_tokenizer(dir)->vocab_size(), json_vocab);
  EXPECT_EQ(load_tokenizer(dir + "/tokenizer.model")->vocab_size(), 400u);
}

TEST(SentencePieceLoadTest, ErrorsSayWhatToDo) {
  require_model();
  try {
    load_tokenizer(std::string(TORCHLLM_SPM_WORK_DIR) + "/no-such.model");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kNotFound);
  }
  const std::string dir = model_directory("corrupt");
  std::ofstream(dir + "/tokenizer.model") << "not a model";
  try {
    load_tokenizer(dir);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kCorruptInput);
    EXPECT_NE(std::string(e.what()).find(dir + "/tokenizer.model"), std::string::npos) << e.what();
  }
  EXPECT_NE(sentencepiece_shim_path().find("libtorchllm_spm.so"), std::string::npos);
}

}  // namespace
}  // namespace torchllm::tokenizer
