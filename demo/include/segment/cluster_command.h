// The cluster command as a library call: k-means on the preprocessed features of a table,
// a profile of each segment in the table's own units, and the table with a segment column.
#pragma once

#include <string>
#include <vector>

#include "segment/kmeans.h"
#include "segment/preprocess.h"

namespace segment {

struct ClusterRequest {
  std::string data;
  FeatureOptions features;
  PreprocessOptions preprocess;
  KMeansOptions kmeans;
  /// Name of the column added to the output; `train --label` takes it back.
  std::string segment_column = "segment";
  /// Whether the output table (ClusterOutcome::csv) is built. Without it, the table may
  /// already have a column named segment_column.
  bool labelled_output = true;
};

struct ClusterOutcome {
  KMeansResult result;
  std::vector<std::string> feature_names;
  std::vector<std::string> notes;
  /// Size and mean profile of each segment as an aligned table.
  std::string profile;
  /// The input table with the segment column (segments numbered from 1, largest first), or
  /// empty without ClusterRequest::labelled_output.
  std::string csv;
};

/// Runs the cluster command without writing files. Throws UserError for bad data or
/// settings, and, when it builds the output table, when the table already has a column with
/// the segment column's name.
ClusterOutcome cluster_table(const ClusterRequest& request);

}  // namespace segment
