#pragma once

#include <string>

#include "chat/jinja/ast.h"
#include "chat/jinja/lexer.h"

namespace torchllm::jinja {

// Parses a whole template into a statement list; throws TemplateError with line and column.
Body parse_template(const Lexer& lexer);

}  // namespace torchllm::jinja
