// libtorchllm_spm.so: SentencePiece behind the plain C API of spm_shim_api.h. No exception leaves this file.

#include <sentencepiece_processor.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/sentencepiece/spm_shim_api.h"

namespace {

using sentencepiece::SentencePieceProcessor;

char* copy_to_malloc(const std::string& text) {
  char* copy = static_cast<char*>(std::malloc(text.size() + 1));
  if (copy != nullptr) std::memcpy(copy, text.data(), text.size() + 1);
  return copy;
}

int fail(char** error, const std::string& message) {
  if (error != nullptr) *error = copy_to_malloc(message);
  return 1;
}

const SentencePieceProcessor& processor(const void* model) {
  return *static_cast<const SentencePieceProcessor*>(model);
}

void* load(const char* path, char** error) {
  try {
    auto model = std::make_unique<SentencePieceProcessor>();
    const auto status = model->Load(path);
    if (!status.ok()) {
      fail(error, status.ToString());
      return nullptr;
    }
    return model.release();
  } catch (const std::exception& e) {
    fail(error, e.what());
    return nullptr;
  }
}

void free_model(void* model) { delete static_cast<SentencePieceProcessor*>(model); }

void free_memory(void* memory) { std::free(memory); }

int encode(const void* model, const char* text, size_t size, int32_t** ids, size_t* count, char** error) {
  try {
    std::vector<int> result;
    const auto status = processor(model).Encode(std::string(text, size), &result);
    if (!status.ok()) return fail(error, status.ToString());
    *count = result.size();
    *ids = static_cast<int32_t*>(std::malloc(sizeof(int32_t) * (result.empty() ? 1 : result.size())));
    if (*ids == nullptr) return fail(error, "out of memory");
    for (size_t i = 0; i < result.size(); ++i) (*ids)[i] = result[i];
    return 0;
  } catch (const std::exception& e) {
    return fail(error, e.what());
  }
}

int decode(const void* model, const int32_t* ids, size_t count, int special_as_text, char** text,
           size_t* size, char** error) {
  try {
    const SentencePieceProcessor& sp = processor(model);
    const std::vector<int> input(ids, ids + count);
    const auto decoded = sp.DecodeIdsAsImmutableProto(input);
    std::string result;
    if (special_as_text) {
      // SentencePiece drops the leading space of the first text it writes; once a special token's text has
      // been written, that text is no longer at the start and keeps its space (as Hugging Face's "<s> Hi").
      const std::string space_symbol = "\xE2\x96\x81";
      for (const auto& piece : decoded.pieces()) {
        const int id = static_cast<int>(piece.id());
        if (sp.IsControl(id) || sp.IsUnknown(id)) {
          result += piece.piece();
          continue;
        }
        if (!result.empty() && !sp.IsByte(id) && piece.piece().compare(0, 3, space_symbol) == 0) {
          std::string spaced = piece.piece();
          for (size_t at = 0; (at = spaced.find(space_symbol, at)) != std::string::npos; ++at) {
            spaced.replace(at, 3, " ");
          }
          if (piece.surface() != spaced) result += ' ';
        }
        result += piece.surface();
      }
    } else {
      result = decoded.text();
    }
    *size = result.size();
    *text = copy_to_malloc(result);
    if (*text == nullptr) return fail(error, "out of memory");
    return 0;
  } catch (const std::exception& e) {
    return fail(error, e.what());
  }
}

int32_t vocab_size(const void* model) { return processor(model).GetPieceSize(); }

const char* id_to_piece(const void* model, int32_t id, size_t* size) {
  const SentencePieceProcessor& sp = processor(model);
  if (id < 0 || id >= sp.GetPieceSize()) return nullptr;
  const std::string& piece = sp.IdToPiece(id);
  *size = piece.size();
  return piece.c_str();
}

int32_t piece_to_id(const void* model, const char* piece, size_t size) {
  const SentencePieceProcessor& sp = processor(model);
  const std::string text(piece, size);
  const int id = sp.PieceToId(text);
  // PieceToId answers unk_id for text that is no piece.
  if (id < 0 || id >= sp.GetPieceSize() || sp.IdToPiece(id) != text) return -1;
  return id;
}

int32_t role_id(const void* model, int role) {
  const SentencePieceProcessor& sp = processor(model);
  int id = -1;
  switch (role) {
    case kTorchllmSpmBos:
      id = sp.bos_id();
      break;
    case kTorchllmSpmEos:
      id = sp.eos_id();
      break;
    case kTorchllmSpmUnk:
      id = sp.unk_id();
      break;
    case kTorchllmSpmPad:
      id = sp.pad_id();
      break;
  }
  return id >= 0 && id < sp.GetPieceSize() ? id : -1;
}

unsigned piece_flags(const void* model, int32_t id) {
  const SentencePieceProcessor& sp = processor(model);
  if (id < 0 || id >= sp.GetPieceSize()) return 0;
  unsigned flags = 0;
  if (sp.IsControl(id)) flags |= kTorchllmSpmControl;
  if (sp.IsUnknown(id)) flags |= kTorchllmSpmUnknown;
  if (sp.IsByte(id)) flags |= kTorchllmSpmByte;
  if (sp.IsUnused(id)) flags |= kTorchllmSpmUnused;
  return flags;
}

const TorchllmSpmApi api = {TORCHLLM_SPM_API_VERSION,
                            load,
                            free_model,
                            free_memory,
                            encode,
                            decode,
                            vocab_size,
                            id_to_piece,
                            piece_to_id,
                            role_id,
                            piece_flags};

}  // namespace

extern "C" __attribute__((visibility("default"))) const TorchllmSpmApi* torchllm_spm_api(void) {
  return &api;
}
