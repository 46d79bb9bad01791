// Segment labels and seeded, stratified splits of the labelled rows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "segment/csv_table.h"

namespace segment {

/// The label column as class indices.
struct Labels {
  /// Segment names; class i is segments[i]. Numbers sort by value, other text by bytes.
  std::vector<std::string> segments;
  /// The table rows that have a label, in table order.
  std::vector<std::size_t> rows;
  /// The class of each of those rows.
  std::vector<int> classes;
  /// Rows left out because their label cell is empty.
  std::size_t unlabelled = 0;
  /// One note per segment of a numeric label column that is written in several ways, such
  /// as "1" and "1.0", which are one segment. In a text column, one note per group of
  /// segments that differ only in letter case or surrounding spaces, which stay separate.
  std::vector<std::string> notes;
};

/// Encodes the label column. Throws UserError when fewer than two segments remain or
/// segments have a single row, since a stratified split needs two rows of every class.
Labels encode_labels(const Table& table, std::size_t label_column);

/// Returns a note on the rows whose label cell is empty, which are not used: their count and
/// lines (the first 5 of them), or "" when every row has a label.
std::string describe_unlabelled(const Table& table, std::size_t label_column);

/// Positions (into a label vector) of the training and the held-out rows.
struct Split {
  std::vector<std::size_t> train;
  std::vector<std::size_t> test;
};

/// Holds out round(fraction * n_c) of the n_c positions of each class c, keeping at least
/// one of them for training. Each part lists positions in increasing order. Throws
/// UserError unless 0 < fraction < 1.
Split stratified_split(const std::vector<int>& classes, double fraction, std::uint64_t seed);

/// K stratified folds: every position is held out in exactly one fold, and the positions
/// of each class are dealt to the folds in turn after a seeded shuffle. Throws UserError
/// unless 2 <= folds <= the number of positions.
std::vector<Split> stratified_folds(const std::vector<int>& classes, std::size_t folds,
                                    std::uint64_t seed);

/// The elements of values at the given positions.
template <class T>
std::vector<T> gather(const std::vector<T>& values, const std::vector<std::size_t>& positions) {
  std::vector<T> result;
  result.reserve(positions.size());
  for (std::size_t position : positions) result.push_back(values.at(position));
  return result;
}

}  // namespace segment
