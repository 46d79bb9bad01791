// Feature preprocessing: which columns become features, and the statistics that turn
// their text cells into a standardized float32 matrix.
//
// Every statistic (medians, means, standard deviations, skewness, category lists) comes
// from the training rows only and is stored in the FeatureSchema, which the model file
// saves, so prediction applies exactly the training transformation.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "damo/runtime/tensor.h"
#include "segment/column_types.h"
#include "segment/csv_table.h"

namespace segment {

/// Column choices from the command line.
struct FeatureOptions {
  /// Use exactly these columns (in this order); empty selects automatically.
  std::vector<std::string> features;
  /// Columns to leave out of the automatic selection.
  std::vector<std::string> drop;
  /// Columns to one-hot encode even when they hold numbers (such as region codes).
  std::vector<std::string> categorical;
  /// Cell texts that mark a missing value, such as "NA", besides blank cells.
  std::vector<std::string> missing;
};

/// The feature columns of a table and what was left out.
struct ColumnSelection {
  std::vector<std::size_t> columns;
  std::vector<ColumnKind> kinds;
  /// The first identifier-like column, copied into prediction and cluster output.
  std::optional<std::size_t> id_column;
  /// One line per column left out automatically, saying why.
  std::vector<std::string> notes;
};

/// Selects feature columns: options.features when given, else every column except the
/// label (which may be empty), identifier-like columns and options.drop. Throws UserError
/// naming any option column that is not in the table, and when no feature remains.
ColumnSelection select_columns(const Table& table, const std::string& label,
                               const FeatureOptions& options);

struct PreprocessOptions {
  /// Applies log1p to non-negative numeric columns whose skewness exceeds skew_threshold.
  bool log_transform = true;
  double skew_threshold = 1.0;
  /// Categorical columns with more categories than this (in the training rows) are dropped.
  std::size_t max_categories = 100;
  /// The rows the statistics come from, as notes name them.
  std::string fitted_rows = "the training rows";
};

/// The encoding of one table column as features, with its training statistics.
struct FeatureColumn {
  std::string name;
  ColumnKind kind = ColumnKind::Numeric;
  /// Numeric and date columns: the training median fills missing cells. Then, when log1p
  /// is set, the value is clamped at 0 and replaced by its log1p. Last, it is standardized
  /// by mean and scale.
  double median = 0;
  bool log1p = false;
  double mean = 0;
  double scale = 1;
  /// Categorical columns: one-hot positions in order; the mode fills missing cells, and a
  /// category not seen in training encodes as all zeros. When every category is a number,
  /// a cell matches the category of equal exact decimal value, so "3", "3.0" and "03" are
  /// one category, while 9007199254740993 differs from 9007199254740992.
  std::vector<std::string> categories;
  std::string mode;

  /// Number of features: 1, or the category count.
  std::size_t width() const;
};

/// Merges the spellings of one exact decimal value ("3", "3.0", "03") into the first of
/// their most frequent spellings, when every key of counts is a number. Returns one description per
/// merged value, such as "'3' and '3.0' as '3'".
std::vector<std::string> merge_equal_numbers(std::map<std::string, std::size_t>& counts);

/// The one-hot position of a cell in a categorical feature, or nullopt for a category that
/// training did not see. The cell must not be missing.
class CategoryIndex {
 public:
  explicit CategoryIndex(const FeatureColumn& feature);
  std::optional<std::size_t> find(const std::string& cell) const;

 private:
  const FeatureColumn& feature_;
  /// The categories' exact decimal values when every category is a number, else empty.
  std::vector<std::string> values_;
};

/// The feature columns with their statistics, in feature order.
struct FeatureSchema {
  std::vector<FeatureColumn> columns;

  std::size_t width() const;
  /// One name per feature: the column name, or "column=category" for one-hot features.
  std::vector<std::string> feature_names() const;
};

/// Computes the schema from the given training rows. Columns that are constant or empty
/// in those rows, or categorical with more than max_categories values, are left out with
/// a line added to notes. Throws UserError when no feature remains.
FeatureSchema fit_features(const Table& table, const ColumnSelection& selection,
                           const std::vector<std::size_t>& rows, const PreprocessOptions& options,
                           std::vector<std::string>& notes);

/// The table column of each schema column, matched by name. Throws UserError naming every
/// missing column and every column whose kind differs from the schema's.
std::vector<std::size_t> match_schema(const FeatureSchema& schema, const Table& table);

/// Returns notes on the cells that the schema fills in rather than reads. Per column, one
/// counts the blank cells, which get the training median or most frequent category. Another
/// counts cells of categories that training never saw, which encode as no category.
std::vector<std::string> describe_filled_cells(const FeatureSchema& schema, const Table& table,
                                               const std::vector<std::size_t>& table_columns);

/// Returns one note per log1p column whose cells in rows hold negative values, which the
/// transformation counts as 0: their count out of rows.size(), described by cells_noun
/// ("cells", "held-out cells"), and the line and value of the first.
std::vector<std::string> describe_clamped_negatives(const FeatureSchema& schema, const Table& table,
                                                    const std::vector<std::size_t>& table_columns,
                                                    const std::vector<std::size_t>& rows,
                                                    std::string_view cells_noun = "cells");

/// Standard deviations from the training mean (after log1p where the column applies it)
/// beyond which describe_far_values notes a value.
inline constexpr double kFarDeviations = 10;

/// Returns one note per numeric or date column whose cells lie more than kFarDeviations
/// standard deviations from the training mean. Each note gives the count, the line and
/// value of the furthest cell and the range of values within that distance, in the
/// column's own units. Negative cells that a log1p column counts as 0 are left to
/// describe_clamped_negatives.
std::vector<std::string> describe_far_values(const FeatureSchema& schema, const Table& table,
                                             const std::vector<std::size_t>& table_columns);

/// Returns a note when rows of table are blank in every schema column: their count and
/// the first line. Such rows are predicted from the training medians and most frequent
/// categories alone.
std::vector<std::string> describe_blank_rows(const FeatureSchema& schema, const Table& table,
                                             const std::vector<std::size_t>& table_columns);

/// The float32 feature matrix (rows.size(), schema.width()) of the given rows;
/// table_columns[i] is the table column of schema column i. Throws UserError naming the
/// cell when a numeric or date cell does not parse.
damo::Tensor transform_features(const FeatureSchema& schema, const Table& table,
                                const std::vector<std::size_t>& table_columns,
                                const std::vector<std::size_t>& rows);

/// Sample skewness (the third standardized moment) of values; 0 when they are constant.
double skewness(const std::vector<double>& values);

/// Mean and population standard deviation of a non-empty vector, computed in units of the
/// largest magnitude so that values near the float64 limit do not overflow.
std::pair<double, double> mean_and_deviation(const std::vector<double>& values);

/// Median of values (the mean of the two middle values for an even count); values is
/// reordered. Requires a non-empty vector.
double median(std::vector<double> values);

}  // namespace segment
