#pragma once

// API keys: "Authorization: Bearer KEY", compared in time that does not depend on where the keys differ.

#include <string_view>

namespace torchllm::server {

// Equal bytes and length, reading every byte of both whatever they hold.
bool constant_time_equal(std::string_view a, std::string_view b);

// Whether an Authorization header value carries `api_key` ("Bearer KEY", scheme case-insensitive). An empty
// api_key means the server needs none.
bool authorized(std::string_view authorization, std::string_view api_key);

}  // namespace torchllm::server
