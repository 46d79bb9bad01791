// Fuzz harness of the damo-segment CSV reader.
#include <fmt/format.h>

#include "../harness.h"
#include "damo/runtime/error.h"
#include "segment/csv_table.h"

namespace damo::fuzz {

std::string csv_reader(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  segment::Table table;
  try {
    table = segment::parse_csv(text, "<fuzz>");
  } catch (const UserError& error) {
    std::string_view message = error.what();
    if (!message.starts_with("<fuzz>"))
      return fmt::format("an error without the source name: {}", message);
    return {};
  }

  if (table.columns.empty()) return "a table without columns";
  std::int64_t previous_line = 0;
  for (std::int64_t line : table.row_lines) {
    if (line <= previous_line)
      return fmt::format("row lines out of order: {} after {}", line, previous_line);
    previous_line = line;
  }
  for (const segment::Column& column : table.columns) {
    if (column.name.empty()) return "a column without a name";
    if (column.cells.size() != table.row_count())
      return fmt::format("column '{}' has {} cells for {} rows", column.name, column.cells.size(),
                         table.row_count());
  }
  return {};
}

}  // namespace damo::fuzz
