// Prediction with a saved model.
#include "segment/predict_command.h"

#include <fmt/format.h>

#include <cmath>
#include <algorithm>
#include <numeric>
#include <unordered_set>

#include "damo/runtime/error.h"
#include "damo/runtime/io.h"
#include "segment/network.h"
#include "text_util.h"

namespace segment {

void require_finite_probabilities(const damo::Tensor& probabilities, const damo::Tensor& features,
                                  const FeatureSchema& schema, const Table& table,
                                  const std::vector<std::size_t>& rows) {
  std::int64_t segments = probabilities.dim(1), width = features.dim(1);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    auto row = static_cast<std::int64_t>(r);
    bool finite = true;
    for (std::int64_t s = 0; s < segments; ++s)
      finite = finite && std::isfinite(probabilities.get_double(row * segments + s));
    if (finite) continue;
    std::vector<std::string> names = schema.feature_names();
    std::int64_t furthest = 0;
    for (std::int64_t j = 1; j < width; ++j)
      if (std::fabs(features.get_double(row * width + j)) > std::fabs(features.get_double(row * width + furthest)))
        furthest = j;
    throw damo::UserError(fmt::format(
        "{} line {}: the segment probabilities of the model for this row are not numbers, "
        "because its features are too far from the training rows. The furthest is '{}' at "
        "{:.3g} standard deviations from its training mean; check the values of that row",
        table.source, table.row_lines[rows[r]], names[static_cast<std::size_t>(furthest)],
        features.get_double(row * width + furthest)));
  }
}

Predictions predict_table(const Model& model, const Table& table) {
  std::vector<std::size_t> columns = match_schema(model.schema, table);
  std::vector<std::size_t> rows(table.row_count());
  std::iota(rows.begin(), rows.end(), std::size_t{0});
  damo::Tensor features = transform_features(model.schema, table, columns, rows);

  NetworkLayout layout{static_cast<std::int64_t>(model.schema.width()), model.hidden,
                       static_cast<std::int64_t>(model.segments.size()), model.activation};
  Network network(layout, model.weights);
  damo::Tensor probabilities = network.predict(features);
  require_finite_probabilities(probabilities, features, model.schema, table, rows);

  Predictions predictions;
  std::optional<std::size_t> id_column;
  if (!model.id_column.empty()) id_column = table.find_column(model.id_column);
  std::vector<std::string> fixed{"segment"};
  for (const std::string& segment : model.segments) fixed.push_back("probability_" + segment);
  // An identifier column named like one of the other columns gets "_id" appended, so that
  // the file reads back with every column under its own name.
  std::string id_name = id_column ? model.id_column : "line";
  while (std::find(fixed.begin(), fixed.end(), id_name) != fixed.end()) id_name += "_id";
  predictions.header.push_back(id_name);
  if (!model.id_column.empty() && !id_column) {
    std::string cased;
    if (auto index = table.find_column_ignoring_case(model.id_column))
      cased = fmt::format(" (its column '{}' differs only in letter case; rename it to copy it)",
                          table.columns[*index].name);
    predictions.notes.push_back(fmt::format("the model's identifier column '{}' is not in {}{}, so the "
                                            "output's column '{}' gives each row's line instead",
                                            model.id_column, table.source, cased, id_name));
  }
  // Identifiers that are blank or repeated cannot tell rows apart, so each row's line in the
  // table follows them.
  std::size_t blank_ids = 0, repeated_ids = 0;
  if (id_column) {
    std::unordered_set<std::string> seen;
    for (const std::string& cell : table.columns[*id_column].cells) {
      if (trim(cell).empty())
        ++blank_ids;
      else if (!seen.insert(cell).second)
        ++repeated_ids;
    }
  }
  bool with_line = blank_ids + repeated_ids > 0;
  if (with_line) {
    predictions.header.push_back(id_name == "line" ? "table_line" : "line");
    std::string problems;
    if (blank_ids > 0) problems = count_of(blank_ids, "blank cell");
    if (repeated_ids > 0)
      problems += (problems.empty() ? "" : " and ") + count_of(repeated_ids, "repeated value");
    predictions.notes.push_back(fmt::format(
        "the identifier column '{}' has {}, so the output also has a column '{}' with each "
        "row's line in {}",
        model.id_column, problems, predictions.header.back(), table.source));
  }
  predictions.header.insert(predictions.header.end(), fixed.begin(), fixed.end());

  predictions.classes = argmax_rows(probabilities);
  std::size_t segments = model.segments.size();
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::vector<std::string> row;
    row.push_back(id_column ? table.columns[*id_column].cells[r]
                            : std::to_string(table.row_lines[r]));
    if (with_line) row.push_back(std::to_string(table.row_lines[r]));
    row.push_back(model.segments[static_cast<std::size_t>(predictions.classes[r])]);
    for (std::size_t s = 0; s < segments; ++s)
      row.push_back(fmt::format(
          "{:.6f}", probabilities.get_double(static_cast<std::int64_t>(r * segments + s))));
    predictions.rows.push_back(std::move(row));
  }
  return predictions;
}

std::string predictions_csv(const Predictions& predictions) {
  std::string text = format_csv_row(predictions.header);
  for (const auto& row : predictions.rows) text += format_csv_row(row);
  return text;
}

std::size_t run_predict(const std::string& model_path, const std::string& data_path,
                        const std::string& out_path, std::vector<std::string>* notes,
                        const std::vector<std::string>& missing) {
  Model model = load_model(model_path);
  Table table = read_csv(data_path);
  if (table.row_count() == 0)
    throw damo::UserError(fmt::format("{} has a header but no rows to predict", data_path));
  // The model's markers and these apply to the feature columns only, so the identifier
  // column is copied to the output as written.
  std::vector<std::string> markers = model.missing_values;
  for (const std::string& marker : missing)
    if (std::find(markers.begin(), markers.end(), marker) == markers.end()) markers.push_back(marker);
  std::vector<std::size_t> feature_columns;
  for (const FeatureColumn& feature : model.schema.columns)
    if (std::optional<std::size_t> column = table.find_column(feature.name)) feature_columns.push_back(*column);
  std::vector<std::string> missing_notes;
  // A marker that names a category the model learned hides that category.
  for (const std::string& marker : missing)
    for (const FeatureColumn& feature : model.schema.columns)
      if (feature.kind == ColumnKind::Categorical && CategoryIndex(feature).find(marker))
        missing_notes.push_back(fmt::format("--missing '{}' is a category of column '{}' in the model, "
                                            "so its cells read as missing rather than as that category",
                                            marker, feature.name));
  if (!feature_columns.empty()) {
    std::vector<std::string> marked = mark_missing(table, markers, feature_columns);
    missing_notes.insert(missing_notes.end(), marked.begin(), marked.end());
  }
  if (notes != nullptr) {
    *notes = missing_notes;
    std::vector<std::size_t> columns = match_schema(model.schema, table);
    std::vector<std::size_t> rows(table.row_count());
    std::iota(rows.begin(), rows.end(), std::size_t{0});
    for (auto more : {describe_filled_cells(model.schema, table, columns),
                      describe_clamped_negatives(model.schema, table, columns, rows),
                      describe_far_values(model.schema, table, columns),
                      describe_blank_rows(model.schema, table, columns)})
      notes->insert(notes->end(), more.begin(), more.end());
  }
  Predictions predictions = predict_table(model, table);
  if (notes != nullptr) notes->insert(notes->end(), predictions.notes.begin(), predictions.notes.end());
  damo::write_file_atomically(out_path, predictions_csv(predictions));
  return predictions.rows.size();
}

}  // namespace segment
