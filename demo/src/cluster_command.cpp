// The cluster command: preprocessing fitted on every row, k-means, segment profiles and the
// labelled output table.
#include "segment/cluster_command.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <string_view>

#include "damo/runtime/error.h"
#include "segment/preprocess.h"
#include "segment/report.h"
#include "text_util.h"

namespace segment {

namespace {

// Summarizes a column over the rows of one segment (every row when wanted is negative):
// the mean of numbers and dates, the most frequent value of categories.
std::string column_summary(const Table& table, std::size_t column, const FeatureColumn& feature,
                           const std::vector<int>& segments, int wanted) {
  ColumnKind kind = feature.kind;
  // Categories are counted under the schema's spelling, so 3.0 counts as the category 3.
  CategoryIndex index(feature);
  std::vector<double> values;
  std::map<std::string, std::size_t> counts;
  for (std::size_t row = 0; row < table.row_count(); ++row) {
    if (wanted >= 0 && segments[row] != wanted) continue;
    const std::string& cell = table.columns[column].cells[row];
    if (is_missing(cell)) continue;
    if (kind == ColumnKind::Categorical) {
      std::optional<std::size_t> category = index.find(cell);
      ++counts[category ? feature.categories[*category] : cell];
      continue;
    }
    values.push_back(parse_cell(table, row, column, kind));
  }
  if (kind == ColumnKind::Categorical) {
    if (counts.empty()) return "-";
    auto mode = std::max_element(counts.begin(), counts.end(),
                                 [](const auto& a, const auto& b) { return a.second < b.second; });
    return mode->first;
  }
  if (values.empty()) return "-";
  double mean = mean_and_deviation(values).first;
  if (kind == ColumnKind::Date) return format_days(mean);
  // Four significant digits, without switching to exponents for amounts like 52250, but
  // with an exponent from 1e15 on, where whole digits would fill the table.
  double size = std::fabs(mean);
  return size >= 1000 && size < 1e15 ? fmt::format("{:.0f}", mean) : fmt::format("{:.4g}", mean);
}

std::string profile_table(const Table& table, const FeatureSchema& schema,
                          const std::vector<std::size_t>& columns, const KMeansResult& result) {
  std::size_t k = result.sizes.size();
  auto rows = static_cast<double>(table.row_count());
  std::vector<std::vector<std::string>> cells;

  std::vector<std::string> header{"", "all"};
  std::vector<std::string> sizes{"size", fmt::format("{}", table.row_count())};
  std::vector<std::string> shares{"share", "100%"};
  for (std::size_t s = 0; s < k; ++s) {
    header.push_back(fmt::format("segment {}", s + 1));
    sizes.push_back(fmt::format("{}", result.sizes[s]));
    shares.push_back(fmt::format("{:.1f}%", 100.0 * static_cast<double>(result.sizes[s]) / rows));
  }
  cells.push_back(header);
  cells.push_back(sizes);
  cells.push_back(shares);

  for (std::size_t i = 0; i < schema.columns.size(); ++i) {
    const FeatureColumn& feature = schema.columns[i];
    std::string label =
        feature.name + (feature.kind == ColumnKind::Categorical ? " (mode)" : " (mean)");
    std::vector<std::string> line{
        label, column_summary(table, columns[i], feature, result.assignment, -1)};
    for (std::size_t s = 0; s < k; ++s)
      line.push_back(
          column_summary(table, columns[i], feature, result.assignment, static_cast<int>(s)));
    cells.push_back(line);
  }
  return format_table(cells);
}

std::string labelled_csv(const Table& table, const std::string& segment_column,
                         const std::vector<int>& assignment) {
  std::vector<std::string> header = table.column_names();
  header.push_back(segment_column);
  std::string text = format_csv_row(header);
  for (std::size_t row = 0; row < table.row_count(); ++row) {
    std::vector<std::string> fields;
    for (const Column& column : table.columns) fields.push_back(column.cells[row]);
    fields.push_back(std::to_string(assignment[row] + 1));
    text += format_csv_row(fields);
  }
  return text;
}

// Number of different rows of a float32 matrix, compared bit for bit.
std::size_t distinct_rows(const damo::Tensor& points) {
  std::size_t row_bytes = static_cast<std::size_t>(points.dim(1)) * sizeof(float);
  const char* data = static_cast<const char*>(points.raw_data());
  std::set<std::string_view> rows;
  for (std::int64_t r = 0; r < points.dim(0); ++r)
    rows.insert(std::string_view(data + static_cast<std::size_t>(r) * row_bytes, row_bytes));
  return rows.size();
}

}  // namespace

ClusterOutcome cluster_table(const ClusterRequest& request) {
  Table table = read_csv(request.data);
  if (table.row_count() == 0)
    throw damo::UserError(fmt::format("{} has a header but no rows to cluster", request.data));
  // The output copies the table as read, so the cells that --missing empties keep their
  // text there. Without markers nothing changes, and no copy is made.
  std::optional<Table> as_read;
  if (!request.features.missing.empty()) as_read = table;
  std::vector<std::string> missing_notes = mark_missing(table, request.features.missing);
  if (request.labelled_output && table.find_column(request.segment_column))
    throw damo::UserError(
        fmt::format("{} already has a column '{}'; choose another name for the "
                    "output with --segment-column",
                    request.data, request.segment_column));

  ClusterOutcome outcome;
  ColumnSelection selection = select_columns(table, "", request.features);
  outcome.notes = missing_notes;
  outcome.notes.insert(outcome.notes.end(), selection.notes.begin(), selection.notes.end());
  std::optional<std::size_t> earlier = table.find_column(request.segment_column);
  if (earlier && std::find(selection.columns.begin(), selection.columns.end(), *earlier) != selection.columns.end())
    outcome.notes.push_back(fmt::format("column '{}' is clustered as a feature; if an earlier cluster run "
                                        "wrote it, leave it out with --drop {}",
                                        request.segment_column, shell_quoted(request.segment_column)));
  std::vector<std::size_t> rows(table.row_count());
  std::iota(rows.begin(), rows.end(), std::size_t{0});
  PreprocessOptions preprocess = request.preprocess;
  preprocess.fitted_rows = "the table";
  FeatureSchema schema = fit_features(table, selection, rows, preprocess, outcome.notes);
  std::vector<std::size_t> columns = match_schema(schema, table);
  outcome.feature_names = schema.feature_names();

  damo::Tensor points = transform_features(schema, table, columns, rows);
  outcome.result = kmeans(points, request.kmeans);
  if (request.kmeans.k == 1)
    outcome.notes.push_back("-k 1 puts every row in one segment, whose profile is the table's mean; "
                            "use -k 2 or more to find segments");
  if (!outcome.result.converged) {
    int suggested = std::max(2 * request.kmeans.max_iterations, KMeansOptions{}.max_iterations);
    outcome.notes.push_back(fmt::format(
        "k-means stopped at --max-iterations {} before converging: the centres still moved in "
        "iteration {}, so the segments may change with more iterations; raise "
        "--max-iterations, for example to {}",
        request.kmeans.max_iterations, outcome.result.iterations, suggested));
  }
  auto empty = std::count(outcome.result.sizes.begin(), outcome.result.sizes.end(), 0);
  if (empty > 0) {
    std::size_t distinct = distinct_rows(points);
    std::string verb = empty == 1 ? "is" : "are";
    if (distinct < static_cast<std::size_t>(request.kmeans.k))
      outcome.notes.push_back(fmt::format(
          "{} of the {} segments {} empty because the rows have only {} distinct feature "
          "vectors; use -k {} or less",
          empty, request.kmeans.k, verb, distinct, distinct));
    else
      outcome.notes.push_back(fmt::format(
          "{} of the {} segments {} empty after k-means moved every row to another centre; "
          "try more --restarts or a smaller -k",
          empty, request.kmeans.k, verb));
  }
  outcome.profile = profile_table(table, schema, columns, outcome.result);
  if (request.labelled_output)
    outcome.csv = labelled_csv(as_read ? *as_read : table, request.segment_column, outcome.result.assignment);
  return outcome;
}

}  // namespace segment
