// Fuzz harness of the expression language's parser: any text either parses into statements
// whose trees print, or raises a UserError located inside the text.
#include <fmt/format.h>

#include "../harness.h"
#include "damo/frontend/parser.h"

namespace damo::fuzz {

std::string expression_parser(const std::uint8_t* data, std::size_t size) {
  SourceFile source("<fuzz>", std::string(reinterpret_cast<const char*>(data), size));
  std::vector<ast::Statement> statements;
  try {
    statements = parse_program(source);
  } catch (const UserError& error) {
    const SourceLocation& where = error.location();
    if (!where.valid()) return fmt::format("a parse error without a location: {}", error.what());
    if (where.source_name != "<fuzz>")
      return fmt::format("a parse error located in '{}': {}", where.source_name, error.what());
    return {};
  }
  for (const ast::Statement& statement : statements) {
    if (statement.offset > size)
      return fmt::format("a statement at offset {} of a {}-byte text", statement.offset, size);
    if (ast::to_sexpr(statement).empty()) return "a statement that prints as nothing";
  }
  return {};
}

}  // namespace damo::fuzz
