// What llama.cpp itself makes of a GGUF file, as JSON, for the committed GGUF fixtures
// (tools/make_gguf_fixtures.sh):
//   llama_reference tokens MODEL.gguf STRINGS_FILE   one string per line (\n written as \\n): the ids
//   llama.cpp's
//                                                   tokenizer gives each (BOS as the file asks, special
//                                                   tokens parsed), {"ids": [[...], ...]}
//   llama_reference quantize IN.gguf OUT.gguf FTYPE   llama_model_quantize (what llama-quantize runs) to a
//                                                   llama_ftype: 0 F32, 1 F16, 32 BF16, 7 Q8_0, 2 Q4_0, 3
//                                                   Q4_1, 8 Q5_0, 9 Q5_1, 15 Q4_K_M, 17 Q5_K_M, 18 Q6_K
//   llama_reference logits MODEL.gguf N IDS...       the float32 logits of every prompt position (KV cache in
//                                                   float32, no flash attention, one thread) and the greedy
//                                                   continuation of N tokens, {"logits": [[...]], "greedy":
//                                                   [...]}
// Built against libllama of node-llama-cpp 3.22.1's llama.cpp (commit de3ff815ea7d); never by CI.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "llama.h"

namespace {

void json_string(const std::string& s) {
  std::putchar('"');
  for (unsigned char c : s) {
    if (c == '"' || c == '\\')
      std::printf("\\%c", c);
    else if (c < 0x20)
      std::printf("\\u%04x", c);
    else
      std::putchar(c);
  }
  std::putchar('"');
}

llama_model* load(const char* path, bool vocab_only) {
  llama_model_params params = llama_model_default_params();
  params.vocab_only = vocab_only;
  llama_model* model = llama_model_load_from_file(path, params);
  if (!model) {
    std::fprintf(stderr, "cannot load %s\n", path);
    std::exit(1);
  }
  return model;
}

int tokens(const char* path, const char* strings_file) {
  llama_model* model = load(path, true);
  const llama_vocab* vocab = llama_model_get_vocab(model);
  std::ifstream in(strings_file);
  std::string line;
  std::printf("{\"ids\": [");
  bool first = true;
  while (std::getline(in, line)) {
    std::string text;
    for (size_t i = 0; i < line.size(); ++i) {  // \n and \\ escapes
      if (line[i] == '\\' && i + 1 < line.size()) {
        const char next = line[++i];
        text += next == 'n' ? '\n' : next == 't' ? '\t' : next;
      } else {
        text += line[i];
      }
    }
    std::vector<llama_token> ids(text.size() + 8);
    int n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), ids.data(),
                           static_cast<int32_t>(ids.size()), /*add_special=*/true, /*parse_special=*/true);
    if (n < 0) {
      ids.resize(-n);
      n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), ids.data(),
                         static_cast<int32_t>(ids.size()), true, true);
    }
    std::printf("%s\n  [", first ? "" : ",");
    first = false;
    for (int i = 0; i < n; ++i) std::printf("%s%d", i ? ", " : "", ids[i]);
    std::printf("]");
  }
  std::printf("\n]}\n");
  llama_model_free(model);
  return 0;
}

int quantize(const char* in, const char* out, int ftype) {
  llama_model_quantize_params params = llama_model_quantize_default_params();
  params.ftype = static_cast<llama_ftype>(ftype);
  params.nthread = 1;
  params.allow_requantize =
      true;  // ftype 0 (all F32) turns a quantized file into llama.cpp's dequantization of it
  return llama_model_quantize(in, out, &params) == 0 ? 0 : (std::fprintf(stderr, "quantize failed\n"), 1);
}

int logits(const char* path, int greedy_count, std::vector<llama_token> prompt) {
  llama_model* model = load(path, false);
  const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = static_cast<uint32_t>(prompt.size() + greedy_count + 8);
  cp.n_batch = cp.n_ctx;
  cp.n_ubatch = cp.n_ctx;
  cp.n_threads = 1;
  cp.n_threads_batch = 1;
  cp.type_k = GGML_TYPE_F32;
  cp.type_v = GGML_TYPE_F32;
  cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
  llama_context* ctx = llama_init_from_model(model, cp);
  if (!ctx) return std::fprintf(stderr, "cannot make a context\n"), 1;

  llama_batch batch = llama_batch_init(static_cast<int32_t>(prompt.size()), 0, 1);
  for (size_t i = 0; i < prompt.size(); ++i) {
    batch.token[i] = prompt[i];
    batch.pos[i] = static_cast<llama_pos>(i);
    batch.n_seq_id[i] = 1;
    batch.seq_id[i][0] = 0;
    batch.logits[i] = 1;
  }
  batch.n_tokens = static_cast<int32_t>(prompt.size());
  if (llama_decode(ctx, batch) != 0) return std::fprintf(stderr, "decode failed\n"), 1;
  std::printf("{\"logits\": [");
  for (size_t i = 0; i < prompt.size(); ++i) {
    const float* row = llama_get_logits_ith(ctx, static_cast<int32_t>(i));
    std::printf("%s\n  [", i ? "," : "");
    for (int v = 0; v < n_vocab; ++v) std::printf("%s%.9g", v ? ", " : "", row[v]);
    std::printf("]");
  }
  std::printf("\n], \"greedy\": [");
  llama_pos pos = static_cast<llama_pos>(prompt.size());
  const float* row = llama_get_logits_ith(ctx, static_cast<int32_t>(prompt.size() - 1));
  for (int g = 0; g < greedy_count; ++g) {
    llama_token best = 0;
    for (int v = 1; v < n_vocab; ++v) {
      if (row[v] > row[best]) best = v;
    }
    std::printf("%s%d", g ? ", " : "", best);
    if (g + 1 == greedy_count) break;
    llama_batch one = llama_batch_get_one(&best, 1);
    (void)pos;
    if (llama_decode(ctx, one) != 0) return std::fprintf(stderr, "decode failed\n"), 1;
    row = llama_get_logits_ith(ctx, -1);
    ++pos;
  }
  std::printf("]}\n");
  llama_batch_free(batch);
  llama_free(ctx);
  llama_model_free(model);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (!std::getenv("LLAMA_REFERENCE_LOG")) llama_log_set([](ggml_log_level, const char*, void*) {}, nullptr);
  llama_backend_init();
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "tokens" && argc == 4) return tokens(argv[2], argv[3]);
  if (mode == "quantize" && argc == 5) return quantize(argv[2], argv[3], std::atoi(argv[4]));
  if (mode == "logits" && argc >= 5) {
    std::vector<llama_token> prompt;
    for (int i = 4; i < argc; ++i) prompt.push_back(std::atoi(argv[i]));
    return logits(argv[2], std::atoi(argv[3]), prompt);
  }
  std::fprintf(stderr,
               "usage: %s tokens MODEL.gguf STRINGS | quantize IN OUT FTYPE | logits MODEL.gguf N IDS...\n",
               argv[0]);
  return 2;
}
