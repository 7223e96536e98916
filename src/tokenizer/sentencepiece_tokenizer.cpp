#include "tokenizer/sentencepiece_tokenizer.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>

#include "tokenizer/sentencepiece/spm_shim_api.h"
#include "tokenizer/utf8.h"
#include "torchllm/error.h"
#include "torchllm/json_file.h"

namespace torchllm::tokenizer {
namespace {

constexpr const char* kShimName = "libtorchllm_spm.so";

std::string executable_directory() {
  std::string buffer(4096, '\0');
  const ssize_t size = ::readlink("/proc/self/exe", buffer.data(), buffer.size());
  if (size <= 0) return {};
  buffer.resize(static_cast<size_t>(size));
  const size_t slash = buffer.find_last_of('/');
  return slash == std::string::npos ? std::string() : buffer.substr(0, slash);
}

// Next to the binary first (the installed layout), then where this build put it.
std::vector<std::string> shim_candidates() {
  std::vector<std::string> candidates;
  if (const char* override_path = std::getenv("TORCHLLM_SPM_SHIM")) candidates.emplace_back(override_path);
  const std::string exe_dir = executable_directory();
  if (!exe_dir.empty()) candidates.push_back(exe_dir + "/" + kShimName);
#ifdef TORCHLLM_SPM_SHIM_BUILD_PATH
  candidates.emplace_back(TORCHLLM_SPM_SHIM_BUILD_PATH);
#endif
  return candidates;
}

struct LoadedShim {
  const TorchllmSpmApi* api = nullptr;
  std::string path;
  std::string error;
};

const LoadedShim& loaded_shim() {
  static const LoadedShim shim = [] {
    LoadedShim result;
    std::string tried;
    for (const std::string& candidate : shim_candidates()) {
      if (::access(candidate.c_str(), F_OK) != 0) {
        tried += "\n  " + candidate + " (absent)";
        continue;
      }
      // RTLD_DEEPBIND: the shim's references to protobuf resolve to libsentencepiece's embedded copy, not to
      // the libprotobuf libtorch has already loaded.
      void* handle = ::dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
      if (handle == nullptr) {
        tried += "\n  " + candidate + " (" + ::dlerror() + ")";
        continue;
      }
      using ApiFunction = const TorchllmSpmApi* (*)();
      auto function = reinterpret_cast<ApiFunction>(::dlsym(handle, TORCHLLM_SPM_API_SYMBOL));
      const TorchllmSpmApi* api = function != nullptr ? function() : nullptr;
      if (api == nullptr || api->version != TORCHLLM_SPM_API_VERSION) {
        tried += "\n  " + candidate + " (not a libtorchllm_spm.so of this version)";
        continue;
      }
      result.api = api;
      result.path = candidate;
      return result;
    }
    result.error = std::string("SentencePiece support needs ") + kShimName +
                   " (built with torchllm, installed next to its binary); looked in:" + tried +
                   "\nset TORCHLLM_SPM_SHIM to its path if it is elsewhere";
    return result;
  }();
  if (shim.api == nullptr) throw Error::not_found(shim.error);
  return shim;
}

struct ShimMemory {
  const TorchllmSpmApi& api;
  void* memory = nullptr;
  ~ShimMemory() { api.free_memory(memory); }
};

std::string take_error(const TorchllmSpmApi& api, char* error) {
  ShimMemory owner{api, error};
  return error != nullptr ? std::string(error) : std::string("unknown SentencePiece error");
}

}  // namespace

std::string sentencepiece_shim_path() { return loaded_shim().path; }

std::unique_ptr<SentencePieceTokenizer> SentencePieceTokenizer::load(const std::string& model_path) {
  if (!file_exists(model_path)) throw Error::not_found(model_path + ": no such file");
  const TorchllmSpmApi& api = *loaded_shim().api;
  char* error = nullptr;
  void* model = api.load(model_path.c_str(), &error);
  if (model == nullptr) {
    throw Error::corrupt(model_path + ": not a SentencePiece model (" + take_error(api, error) + ")");
  }
  return std::unique_ptr<SentencePieceTokenizer>(new SentencePieceTokenizer(api, model, model_path));
}

SentencePieceTokenizer::SentencePieceTokenizer(const TorchllmSpmApi& api, void* model,
                                               const std::string& path)
    : api_(api), model_(model), path_(path), vocab_size_(api.vocab_size(model)) {
  auto role = [&](int which) -> std::optional<TokenId> {
    const int32_t id = api_.role_id(model_, which);
    return id >= 0 ? std::optional<TokenId>(id) : std::nullopt;
  };
  roles_.bos = role(kTorchllmSpmBos);
  if (auto eos = role(kTorchllmSpmEos)) roles_.eos.push_back(*eos);
  roles_.unk = role(kTorchllmSpmUnk);
  roles_.pad = role(kTorchllmSpmPad);
  // LlamaTokenizer's default when tokenizer_config.json does not say.
  roles_.add_bos = roles_.bos.has_value();
}

SentencePieceTokenizer::~SentencePieceTokenizer() { api_.free_model(model_); }

void SentencePieceTokenizer::set_special_tokens(SpecialTokenRoles roles, std::optional<bool> add_bos,
                                                bool add_eos) {
  if (!roles.bos) roles.bos = roles_.bos;
  if (roles.eos.empty()) roles.eos = roles_.eos;
  if (!roles.unk) roles.unk = roles_.unk;
  if (!roles.pad) roles.pad = roles_.pad;
  roles.add_bos = add_bos.value_or(roles.bos.has_value());
  roles_ = std::move(roles);
  add_eos_ = add_eos;
}

std::vector<TokenId> SentencePieceTokenizer::encode(std::string_view text,
                                                    const EncodeOptions& options) const {
  // split_special_tokens needs nothing: SentencePiece never reads control tokens out of the text.
  const std::string valid = is_valid_utf8(text) ? std::string(text) : to_valid_utf8(text);
  int32_t* ids = nullptr;
  size_t count = 0;
  char* error = nullptr;
  if (api_.encode(model_, valid.data(), valid.size(), &ids, &count, &error) != 0) {
    throw Error::internal(path_ + ": SentencePiece encode failed: " + take_error(api_, error));
  }
  ShimMemory owner{api_, ids};
  std::vector<TokenId> result;
  result.reserve(count + 2);
  if (options.add_special_tokens && roles_.add_bos && roles_.bos) result.push_back(*roles_.bos);
  result.insert(result.end(), ids, ids + count);
  if (options.add_special_tokens && add_eos_ && !roles_.eos.empty()) result.push_back(roles_.eos.front());
  return result;
}

std::string SentencePieceTokenizer::decode(const std::vector<TokenId>& ids, bool skip_special_tokens) const {
  std::vector<int32_t> kept;
  kept.reserve(ids.size());
  for (TokenId id : ids) {
    if (id < 0 || id >= vocab_size_ || (skip_special_tokens && is_special(id))) continue;
    kept.push_back(id);
  }
  char* text = nullptr;
  size_t size = 0;
  char* error = nullptr;
  if (api_.decode(model_, kept.data(), kept.size(), skip_special_tokens ? 0 : 1, &text, &size, &error) != 0) {
    throw Error::internal(path_ + ": SentencePiece decode failed: " + take_error(api_, error));
  }
  ShimMemory owner{api_, text};
  return std::string(text, size);
}

size_t SentencePieceTokenizer::vocab_size() const { return static_cast<size_t>(vocab_size_); }

std::optional<TokenId> SentencePieceTokenizer::token_to_id(std::string_view token) const {
  const int32_t id = api_.piece_to_id(model_, token.data(), token.size());
  return id >= 0 ? std::optional<TokenId>(id) : std::nullopt;
}

std::optional<std::string> SentencePieceTokenizer::id_to_token(TokenId id) const {
  size_t size = 0;
  const char* piece = api_.id_to_piece(model_, id, &size);
  return piece != nullptr ? std::optional<std::string>(std::string(piece, size)) : std::nullopt;
}

bool SentencePieceTokenizer::is_special(TokenId id) const {
  return (api_.piece_flags(model_, id) & (kTorchllmSpmControl | kTorchllmSpmUnknown)) != 0;
}

bool SentencePieceTokenizer::decode_depends_on_next(TokenId id) const {
  return (api_.piece_flags(model_, id) & kTorchllmSpmByte) != 0;
}

}  // namespace torchllm::tokenizer
