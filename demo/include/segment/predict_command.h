// The predict command as a library call: apply a saved model to a table.
#pragma once

#include <string>
#include <vector>

#include "segment/csv_table.h"
#include "segment/model.h"

namespace segment {

/// Predictions for every row of a table.
struct Predictions {
  /// Header of the output: the identifier column (or "line" when the table has none), then
  /// "line" when some identifiers are blank or repeated, then "segment", then
  /// "probability_<segment>" for each segment.
  std::vector<std::string> header;
  /// One output row per table row, as text.
  std::vector<std::vector<std::string>> rows;
  /// Predicted class index per table row.
  std::vector<int> classes;
  /// Notes on the output itself, such as the line column added for unclear identifiers.
  std::vector<std::string> notes;
};

/// Throws UserError naming the line of the first of rows whose segment probabilities are not
/// all finite, and the feature of that row furthest from its training mean. Row r of
/// probabilities and features belongs to table row rows[r].
void require_finite_probabilities(const damo::Tensor& probabilities, const damo::Tensor& features,
                                  const FeatureSchema& schema, const Table& table,
                                  const std::vector<std::size_t>& rows);

/// Predicts the segment of every row of table. Throws UserError naming the columns when the
/// table does not match the model's schema, and naming the cell when a value does not parse.
Predictions predict_table(const Model& model, const Table& table);

/// The predictions as CSV text (comma-delimited, LF line endings).
std::string predictions_csv(const Predictions& predictions);

/// Loads the model, reads the data, predicts and writes the CSV atomically; returns the
/// number of rows written. In the feature columns, cells that hold one of the model's
/// missing-value markers or one of missing read as missing. notes, when given, receives the
/// notes on those cells, blank cells, unseen categories, negative values in log1p columns,
/// values far outside the training range and rows blank in every feature column.
std::size_t run_predict(const std::string& model_path, const std::string& data_path,
                        const std::string& out_path, std::vector<std::string>* notes = nullptr,
                        const std::vector<std::string>& missing = {});

}  // namespace segment
