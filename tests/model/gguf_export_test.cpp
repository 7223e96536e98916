// `torchllm quantize`'s conversion: a Hugging Face directory written as GGUF loads back into the same model,
// with llama.cpp's converter's tensor names, layouts and (for q8_0) blocks, and a vocabulary that tokenizes
// as the directory's tokenizer.json does. The committed GGUF files of tests/data/gguf/models were made by
// llama.cpp's own converter from the same checkpoints (tools/make_gguf_models.py).
#include "model/gguf_export.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "tokenizer/gguf_vocab_export.h"
#include "torchllm/error.h"
#include "torchllm/gguf_model_files.h"
#include "torchllm/json_file.h"
#include "torchllm/model.h"
#include "torchllm/tokenizer.h"

namespace torchllm {
namespace {

const std::string kData = TORCHLLM_TEST_DATA_DIR;

std::string hf_dir(const std::string& name) {
  return name == "gpt2" ? kData + "/gguf/models/gpt2-hf" : kData + "/reference/" + name;
}

// A GGUF file under the temp directory, removed when the test ends.
class TempGguf {
 public:
  explicit TempGguf(const std::string& tag) {
    char dir[] = "/tmp/gguf_export_testXXXXXX";
    dir_ = ::mkdtemp(dir);
    path_ = dir_ + "/" + tag + ".gguf";
  }
  ~TempGguf() {
    std::remove(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string dir_, path_;
};

void export_to(const std::string& name, const std::string& path, GgmlType type) {
  GgufExportOptions options;
  options.type = type;
  const std::string dir = hf_dir(name);
  options.add_vocabulary = [dir](GgufWriter& w, int64_t vocab_size) {
    tokenizer::add_gguf_vocabulary(w, dir, load_model_config(dir).model_type, vocab_size);
  };
  export_gguf(dir, path, options);
}

at::Tensor all_logits(const Transformer& model, const std::vector<int64_t>& prompt) {
  KvCache cache = model.make_cache(1, static_cast<int64_t>(prompt.size()));
  return model.forward({{0, 0, prompt, true}}, cache);
}

const std::vector<int64_t> kPrompt = {0, 40, 71, 2, 68, 75, 3, 17, 90, 33, 33, 1};

std::vector<int64_t> greedy(const Transformer& model, std::vector<int64_t> tokens, int steps) {
  for (int i = 0; i < steps; ++i) {
    const at::Tensor logits = all_logits(model, tokens);
    tokens.push_back(logits[-1].argmax().item<int64_t>());
  }
  return tokens;
}

class ExportOfReference : public ::testing::TestWithParam<std::string> {};

TEST_P(ExportOfReference, F32LoadsIntoTheSameModelAsTheDirectory) {
  TempGguf out(GetParam());
  export_to(GetParam(), out.path(), GgmlType::kF32);
  auto from_hf = Transformer::load(hf_dir(GetParam()), LoadOptions{"cpu", "fp32"});
  auto from_gguf = Transformer::load(out.path(), LoadOptions{"cpu", "fp32"});
  const at::Tensor a = all_logits(*from_hf, kPrompt);
  const at::Tensor b = all_logits(*from_gguf, kPrompt);
  ASSERT_EQ(a.sizes(), b.sizes());
  const double max_abs = (a - b).abs().max().item<double>();
  RecordProperty("max_abs_logit_diff", std::to_string(max_abs));
  EXPECT_LE(max_abs, 1e-5) << GetParam();
  EXPECT_GT(a.std().item<double>(), 0.1);  // not vacuous
}

// Same tensor names, dims, types and bytes as llama.cpp's converter wrote from the same checkpoint: this
// pins the q/k row order of llama, GPT-2's transposes and llama3's rope_freqs to llama.cpp's.
TEST_P(ExportOfReference, F32TensorsAreLlamaCppConvertersByteForByte) {
  TempGguf out(GetParam());
  export_to(GetParam(), out.path(), GgmlType::kF32);
  const GgufModelFiles ours(out.path());
  const GgufModelFiles theirs(kData + "/gguf/models/" + GetParam() + "-f32.gguf");
  ASSERT_EQ(ours.tensors().size(), theirs.tensors().size());
  for (const auto& [name, t] : theirs.tensors()) {
    const GgufTensorInfo* o = ours.find_tensor(name);
    ASSERT_NE(o, nullptr) << name;
    EXPECT_EQ(o->dims, t->dims) << name;
    EXPECT_EQ(o->type->id, t->type->id) << name;
    ASSERT_EQ(o->size, t->size) << name;
    EXPECT_EQ(std::memcmp(ours.data(*o), theirs.data(*t), t->size), 0) << name;
  }
  // The architecture keys the converter wrote, with the same values (general.name and the size label are
  // cosmetic; the tokenizer keys are checked by tokenizing).
  const GgufMetadata& m = theirs.metadata();
  for (const GgufKeyValue& kv : m.entries) {
    if (kv.key.rfind("general.", 0) == 0 && kv.key != "general.architecture" && kv.key != "general.file_type")
      continue;
    if (kv.key.rfind("tokenizer.", 0) == 0) continue;
    const GgufValue* v = ours.metadata().find(kv.key);
    ASSERT_NE(v, nullptr) << kv.key;
    EXPECT_EQ(v->type, kv.value.type) << kv.key;
    EXPECT_EQ(v->u, kv.value.u) << kv.key;
    EXPECT_EQ(v->f, kv.value.f) << kv.key;
    EXPECT_EQ(v->s, kv.value.s) << kv.key;
  }
}

TEST_P(ExportOfReference, VocabularyTokenizesAsTheDirectory) {
  TempGguf out(GetParam());
  export_to(GetParam(), out.path(), GgmlType::kF32);
  auto hf = load_tokenizer(hf_dir(GetParam()));
  auto ours = load_tokenizer(out.path());
  for (const std::string text :
       {"Hello, world!", "a  b\n\nc 123 4567!!", "<s>x</s> y", "  leading spaces", "abc!!!def"}) {
    EXPECT_EQ(ours->encode(text), hf->encode(text)) << GetParam() << ": " << text;
  }
  const GgufModelFiles files(out.path());
  EXPECT_EQ(files.metadata().get_u32("tokenizer.ggml.bos_token_id"), 0u);
  EXPECT_EQ(files.metadata().get_u32("tokenizer.ggml.eos_token_id"), 1u);
}

INSTANTIATE_TEST_SUITE_P(Models, ExportOfReference, ::testing::Values("qwen3", "llama3", "qwen2", "gpt2"));

// q8_0 against llama.cpp's converter's q8_0 of the same weights. gguf-py's numpy Q8_0 divides by d where
// ggml multiplies by 1/d, so a value on a rounding edge can land one step apart: a few blocks may differ,
// by one quantization step, and the model must give the same logits within a q8_0 tolerance and the same
// greedy continuation.
TEST(GgufExport, Q8_0MatchesLlamaCppsConverter) {
  TempGguf out("qwen3-q8_0");
  export_to("qwen3", out.path(), GgmlType::kQ8_0);
  const GgufModelFiles ours(out.path());
  const GgufModelFiles theirs(kData + "/gguf/models/qwen3-q8_0.gguf");
  ASSERT_EQ(ours.tensors().size(), theirs.tensors().size());
  int64_t blocks = 0, differing = 0;
  for (const auto& [name, t] : theirs.tensors()) {
    const GgufTensorInfo* o = ours.find_tensor(name);
    ASSERT_NE(o, nullptr) << name;
    EXPECT_EQ(o->dims, t->dims) << name;
    ASSERT_EQ(o->type->id, t->type->id) << name;
    if (t->type->id != static_cast<uint32_t>(GgmlType::kQ8_0)) {
      EXPECT_EQ(std::memcmp(ours.data(*o), theirs.data(*t), t->size), 0) << name;
      continue;
    }
    constexpr size_t kBlock = 34;  // fp16 scale + 32 int8
    for (size_t b = 0; b < t->size / kBlock; ++b, ++blocks) {
      differing += std::memcmp(ours.data(*o) + b * kBlock, theirs.data(*t) + b * kBlock, kBlock) != 0;
    }
  }
  RecordProperty("q8_0_blocks", std::to_string(blocks));
  RecordProperty("q8_0_blocks_differing", std::to_string(differing));
  std::printf("q8_0 blocks: %lld, differing from llama.cpp's converter: %lld\n",
              static_cast<long long>(blocks), static_cast<long long>(differing));
  EXPECT_LE(differing * 100, blocks);  // at most 1%

  auto a = Transformer::load(out.path(), LoadOptions{"cpu", "fp32"});
  auto b = Transformer::load(kData + "/gguf/models/qwen3-q8_0.gguf", LoadOptions{"cpu", "fp32"});
  const double max_abs = (all_logits(*a, kPrompt) - all_logits(*b, kPrompt)).abs().max().item<double>();
  RecordProperty("max_abs_logit_diff", std::to_string(max_abs));
  EXPECT_LE(max_abs, differing == 0 ? 0.0 : 2e-2);
  EXPECT_EQ(greedy(*a, {0, 40, 71}, 12), greedy(*b, {0, 40, 71}, 12));
}

TEST(GgufExport, KTypesFallBackOnShortRowsAndStillLoad) {
  TempGguf out("qwen3-q4_k");
  export_to("qwen3", out.path(), GgmlType::kQ4_K);  // rows of 64 and 128: Q5_0, as llama-quantize does
  const GgufModelFiles files(out.path());
  EXPECT_EQ(files.find_tensor("blk.0.attn_q.weight")->type->id, static_cast<uint32_t>(GgmlType::kQ5_0));
  EXPECT_EQ(files.find_tensor("blk.0.attn_norm.weight")->type->id, static_cast<uint32_t>(GgmlType::kF32));
  EXPECT_EQ(files.metadata().get_u32("general.file_type"), 14u);
  // The Q5_0 blocks are llama-quantize's (tests/data/gguf/models/qwen3-q5_0.gguf, from the same weights).
  const GgufModelFiles theirs(kData + "/gguf/models/qwen3-q5_0.gguf");
  int compared = 0;
  for (const auto& [name, t] : theirs.tensors()) {
    if (name.rfind("blk.", 0) != 0) continue;  // llama-quantize's own mix gives token_embd Q8_0
    const GgufTensorInfo* o = files.find_tensor(name);
    ASSERT_NE(o, nullptr) << name;
    ASSERT_EQ(o->type->id, t->type->id) << name;
    ASSERT_EQ(o->size, t->size) << name;
    EXPECT_EQ(std::memcmp(files.data(*o), theirs.data(*t), t->size), 0) << name;
    ++compared;
  }
  EXPECT_GT(compared, 10);
  auto model = Transformer::load(out.path(), LoadOptions{"cpu", "fp32"});
  EXPECT_TRUE(all_logits(*model, kPrompt).isfinite().all().item<bool>());
}

// What llama.cpp makes of the exported files: tests/data/gguf/export_references/NAME.json (CI builds no
// llama.cpp; TORCHLLM_LLAMA_CPP_EXPORT_REFS=DIR reads fresh ones) came from
//   llama_reference logits NAME.gguf 8 <kPrompt>        (tools/llama_reference.cpp)
// for NAME.gguf written by `torchllm quantize tests/data/reference/qwen3 NAME.gguf --type T` (qwen3-f32,
// qwen3-q8_0): torchllm's logits on the same export against llama.cpp's, and the greedy continuation.
TEST(GgufExport, LlamaCppOnTheExportedFile) {
  const char* env = std::getenv("TORCHLLM_LLAMA_CPP_EXPORT_REFS");
  const std::string dir = env ? env : std::string(TORCHLLM_TEST_DATA_DIR) + "/gguf/export_references";
  // NAME.json: llama.cpp on the file itself; qwen3-q8_0-dequantized.json: on `llama-quantize
  // --allow-requantize qwen3-q8_0.gguf OUT F32`, its own dequantization, which --dequantize must match.
  struct Case {
    const char* file;
    const char* reference;
    GgmlType type;
    bool dequantize;
    double tolerance;
  };
  for (const Case& c :
       {Case{"qwen3-f32", "qwen3-f32", GgmlType::kF32, false, 1e-4},
        // llama.cpp rounds the activations to Q8 blocks in every product, as the block kernels do.
        Case{"qwen3-q8_0", "qwen3-q8_0", GgmlType::kQ8_0, false, 1e-4},
        Case{"qwen3-q8_0", "qwen3-q8_0-dequantized", GgmlType::kQ8_0, true, 1e-4}}) {
    TempGguf out(c.file);
    export_to("qwen3", out.path(), c.type);
    const nlohmann::json ref = read_json_file(dir + "/" + c.reference + ".json");
    const auto expected_greedy = ref.at("greedy").get<std::vector<int64_t>>();
    std::vector<float> flat;
    for (const nlohmann::json& row : ref.at("logits")) {
      for (const nlohmann::json& v : row) flat.push_back(v.get<float>());
    }
    LoadOptions options{"cpu", "fp32"};
    options.keep_quantized = !c.dequantize;
    auto model = Transformer::load(out.path(), options);
    const at::Tensor ours = all_logits(*model, kPrompt);
    const at::Tensor theirs = at::tensor(flat).view(ours.sizes());
    const double max_abs = (ours - theirs).abs().max().item<double>();
    std::vector<int64_t> g = greedy(*model, kPrompt, static_cast<int>(expected_greedy.size()));
    g.erase(g.begin(), g.begin() + static_cast<int64_t>(kPrompt.size()));
    std::printf("%s%s vs llama.cpp %s: max |logit difference| %.3g, greedy %s\n", c.file,
                c.dequantize ? " --dequantize" : "", c.reference, max_abs,
                g == expected_greedy ? "equal" : "DIFFERS");
    EXPECT_EQ(g, expected_greedy) << c.reference;
    EXPECT_LE(max_abs, c.tolerance) << c.reference;
  }
}

TEST(GgufExport, TensorTypesFollowLlamaQuantize) {
  EXPECT_EQ(gguf_export_tensor_type(GgmlType::kQ4_K, "blk.0.attn_q.weight", {4096, 4096}), GgmlType::kQ4_K);
  EXPECT_EQ(gguf_export_tensor_type(GgmlType::kQ4_K, "blk.0.attn_q.weight", {64, 96}), GgmlType::kQ5_0);
  EXPECT_EQ(gguf_export_tensor_type(GgmlType::kQ5_K, "blk.0.attn_q.weight", {64, 96}), GgmlType::kQ5_1);
  EXPECT_EQ(gguf_export_tensor_type(GgmlType::kQ6_K, "blk.0.attn_q.weight", {64, 96}), GgmlType::kQ8_0);
  EXPECT_EQ(gguf_export_tensor_type(GgmlType::kQ8_0, "blk.0.attn_q.weight", {64, 40}), GgmlType::kF16);
  EXPECT_EQ(gguf_export_tensor_type(GgmlType::kQ8_0, "blk.0.attn_norm.weight", {64}), GgmlType::kF32);
  EXPECT_EQ(gguf_export_tensor_type(GgmlType::kF16, "blk.0.attn_q.bias", {64}), GgmlType::kF32);
  EXPECT_EQ(gguf_export_tensor_type(GgmlType::kQ8_0, "position_embd.weight", {64, 64}), GgmlType::kF32);
  EXPECT_EQ(gguf_export_tensor_type(GgmlType::kBF16, "token_embd.weight", {96, 64}), GgmlType::kBF16);
}

TEST(GgufExport, PreTokenizerFromTheSplitRegexOrTheModelType) {
  const auto with_split = [](const std::string& regex) {
    nlohmann::json j = {{"pre_tokenizer",
                         {{"type", "Sequence"},
                          {"pretokenizers",
                           {{{"type", "Split"}, {"pattern", {{"Regex", regex}}}},
                            {{"type", "ByteLevel"}, {"use_regex", false}}}}}}};
    return j.dump();
  };
  EXPECT_EQ(tokenizer::gguf_pre_tokenizer_name(
                with_split("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
                           "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"),
                "llama"),
            "llama-bpe");
  EXPECT_EQ(tokenizer::gguf_pre_tokenizer_name(
                with_split("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
                           "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"),
                "llama"),
            "qwen2");
  EXPECT_EQ(tokenizer::gguf_pre_tokenizer_name(R"({"pre_tokenizer": {"type": "ByteLevel"}})", "llama"),
            "gpt-2");
  EXPECT_EQ(tokenizer::gguf_pre_tokenizer_name(R"({"pre_tokenizer": null})", "qwen3"), "qwen2");
  EXPECT_EQ(tokenizer::gguf_pre_tokenizer_name(R"({"pre_tokenizer": null})", "llama"), "default");
}

TEST(GgufExport, RefusesWhatItCannotWrite) {
  TempGguf out("x");
  try {
    export_to("no-such-model", out.path(), GgmlType::kQ8_0);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kNotFound);
    EXPECT_NE(std::string(e.what()).find("no such directory"), std::string::npos) << e.what();
  }
  // llama2's tokenizer.json is a SentencePiece-style BPE (byte fallback) only llama's vocabulary type fits.
  const nlohmann::json tok = read_json_file(kData + "/reference/llama2/tokenizer.json");
  if (tok.at("model").value("byte_fallback", false)) {
    try {
      export_to("llama2", out.path(), GgmlType::kQ8_0);
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), Error::Kind::kUnsupported);
    }
  }
  std::FILE* left = std::fopen((out.path() + ".partial").c_str(), "rb");
  EXPECT_EQ(left, nullptr) << "an unfinished export leaves no partial file";
  if (left) std::fclose(left);
}

}  // namespace
}  // namespace torchllm
