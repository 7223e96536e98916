#pragma once

#include <stdexcept>
#include <string>

namespace torchllm {

// One exception type for everything a user can act on; the kind picks the CLI exit code / HTTP status.
class Error : public std::runtime_error {
 public:
  enum class Kind { kInvalidArgument, kNotFound, kUnsupported, kCorruptInput, kResourceExhausted, kInternal };

  Error(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}

  Kind kind() const { return kind_; }

  static Error invalid_argument(const std::string& m) { return Error(Kind::kInvalidArgument, m); }
  static Error not_found(const std::string& m) { return Error(Kind::kNotFound, m); }
  static Error unsupported(const std::string& m) { return Error(Kind::kUnsupported, m); }
  static Error corrupt(const std::string& m) { return Error(Kind::kCorruptInput, m); }
  static Error exhausted(const std::string& m) { return Error(Kind::kResourceExhausted, m); }
  static Error internal(const std::string& m) { return Error(Kind::kInternal, m); }

 private:
  Kind kind_;
};

// Short name of a kind, e.g. for logs: "invalid argument", "not found", ...
const char* error_kind_name(Error::Kind kind);

}  // namespace torchllm
