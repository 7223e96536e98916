#include "torchllm/error.h"

namespace torchllm {

const char* error_kind_name(Error::Kind kind) {
  switch (kind) {
    case Error::Kind::kInvalidArgument:
      return "invalid argument";
    case Error::Kind::kNotFound:
      return "not found";
    case Error::Kind::kUnsupported:
      return "unsupported";
    case Error::Kind::kCorruptInput:
      return "corrupt input";
    case Error::Kind::kResourceExhausted:
      return "resource exhausted";
    case Error::Kind::kInternal:
      return "internal error";
  }
  return "error";
}

}  // namespace torchllm
