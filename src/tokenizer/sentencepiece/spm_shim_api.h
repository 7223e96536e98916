#pragma once

// The C API of libtorchllm_spm.so, the shim that keeps libsentencepiece out of the main binary: it embeds its
// own protobuf-lite, which interposes with the libprotobuf that libtorch loads, so the shim is loaded with
// dlopen(RTLD_LOCAL | RTLD_DEEPBIND) and nothing but plain C crosses this boundary.

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TORCHLLM_SPM_API_VERSION 1
#define TORCHLLM_SPM_API_SYMBOL "torchllm_spm_api"

enum TorchllmSpmRole { kTorchllmSpmBos = 0, kTorchllmSpmEos = 1, kTorchllmSpmUnk = 2, kTorchllmSpmPad = 3 };

enum TorchllmSpmPieceFlag {
  kTorchllmSpmControl = 1,
  kTorchllmSpmUnknown = 2,
  kTorchllmSpmByte = 4,
  kTorchllmSpmUnused = 8,
};

// Every char* an entry returns through an out-parameter (ids, text, error messages) is the caller's, to be
// released with free_memory. Entries returning int give 0 on success and set *error otherwise.
struct TorchllmSpmApi {
  int version;
  void* (*load)(const char* path, char** error);
  void (*free_model)(void* model);
  void (*free_memory)(void* memory);
  int (*encode)(const void* model, const char* text, size_t size, int32_t** ids, size_t* count, char** error);
  // ids must all be below vocab_size. special_as_text: control and unknown pieces decode to their piece text
  // ("<s>") instead of SentencePiece's surface ("" and " \u2047 ").
  int (*decode)(const void* model, const int32_t* ids, size_t count, int special_as_text, char** text,
                size_t* size, char** error);
  int32_t (*vocab_size)(const void* model);
  // Points into the model; NULL when id is out of range.
  const char* (*id_to_piece)(const void* model, int32_t id, size_t* size);
  // -1 when no piece has exactly this text.
  int32_t (*piece_to_id)(const void* model, const char* piece, size_t size);
  // -1 when the model has no such role.
  int32_t (*role_id)(const void* model, int role);
  // TorchllmSpmPieceFlag bits; 0 for a normal piece or an id out of range.
  unsigned (*piece_flags)(const void* model, int32_t id);
};

const struct TorchllmSpmApi* torchllm_spm_api(void);

#ifdef __cplusplus
}
#endif
