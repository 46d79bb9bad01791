// Column kinds: how a text column of a Table becomes features.
//
// A column is numeric when most of its filled cells are numbers, a date when most are
// dates, and categorical otherwise. Deciding by majority keeps a few bad cells from
// silently turning a numeric column into thousands of categories: once the kind is
// decided, a cell that does not fit it is an error that names its line, column and value.
//
// Dates are turned into numbers (days since 1970-01-01), so that a customer's enrolment
// date becomes a tenure-like numeric feature. Accepted forms are dd-mm-yyyy (also with
// '/' or '.') and the ISO form yyyy-mm-dd.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "segment/csv_table.h"

namespace segment {

enum class ColumnKind { Numeric, Date, Categorical };

/// "numeric", "date" or "categorical".
std::string_view column_kind_name(ColumnKind kind);
/// The kind with that name; nullopt when unknown.
std::optional<ColumnKind> parse_column_kind(std::string_view name);

/// The value of a whole cell written as a decimal number ("12", "-3.5", "+1e3"); nullopt
/// for anything else, including "nan", "inf", hexadecimal and trailing text.
std::optional<double> parse_number(std::string_view text);

/// The exact decimal value of a text that parse_number reads, as digits without leading or
/// trailing zeros and a power of ten ("30.50" and "3.05e1" give "305e-1", "0" and "-0.0"
/// give "0"), or nullopt. Texts of one value give one result, even where float64 rounds
/// different values to one double.
std::optional<std::string> exact_decimal(std::string_view text);

/// The plain decimal form of an exact_decimal result: "305e-1" gives "30.5", "12e2" gives
/// "1200" and "1e-3" gives "0.001". Past 40 written zeros it is scientific ("1e300").
std::string plain_decimal(const std::string& exact);

/// True when text is a decimal number written with one decimal comma in place of the
/// point ("12669,5", "-0,25"), as spreadsheets in many locales export them. parse_number
/// returns nullopt for it.
bool is_decimal_comma_number(std::string_view text);
/// True when the comma of such a number may as well separate thousands: one to three
/// digits, the comma and exactly three digits, as in "1,234" or "-12,500".
bool may_separate_thousands(std::string_view text);
/// The number that text writes with thousands separators, as a plain decimal ("12669.00"
/// for "12.669,00", "1234567" for "1,234,567", "1234.50" for "1,234.50"), or nullopt for
/// any other text. The separator is '.' before a decimal comma or ',' before a decimal
/// point, and every group after the first has three digits. Text that parse_number or
/// is_decimal_comma_number reads, such as "1.234" or "1,234", is not such a number.
std::optional<std::string> ungrouped_number(std::string_view text);

/// True when text is written as a decimal number whose value a float64 cannot hold
/// ("1e400", "1e-400"); parse_number returns nullopt for it.
bool is_out_of_range_number(std::string_view text);

/// Days since 1970-01-01 of a date written dd-mm-yyyy, dd/mm/yyyy, dd.mm.yyyy or
/// yyyy-mm-dd. Returns nullopt for other text and for days that do not exist.
std::optional<double> parse_date(std::string_view text);

/// Numeric when more than half of the column's filled cells are numbers, else date when
/// more than half are dates, else categorical. A column with no filled cell is categorical.
ColumnKind infer_column_kind(const Column& column);

/// Parses a filled cell of a numeric or date column. Throws UserError naming the cell's
/// line, column and value when it does not parse as that kind, and the decimal point to
/// write when the value has a decimal comma.
double parse_cell(const Table& table, std::size_t row, std::size_t column, ColumnKind kind);

/// True for identifier names: "id", "ID", "Id", or names ending in "_id", "-id", " id"
/// (any case) or in "Id"/"ID" after a lower-case letter ("CustomerID", "userId").
bool is_id_name(std::string_view name);

/// Minimum row count for the "all distinct integers" identifier rule; smaller tables keep
/// such columns as features, because a few distinct integers are common by chance there.
inline constexpr std::size_t kMinRowsForDistinctIdRule = 20;

/// True when the column looks like a row identifier: is_id_name(), or a numeric column of
/// at least kMinRowsForDistinctIdRule rows whose cells are distinct integers that fill a
/// range of the row count (a permutation of a..a+n-1), where up to 1% of the cells (at
/// least one) may be blank.
bool is_id_column(const Table& table, std::size_t column, ColumnKind kind);

}  // namespace segment
