// Help text of damo-segment. Defaults are printed from the request structs, so the help
// always shows the values the code uses.
#include <fmt/format.h>

#include "segment/cli.h"
#include "segment/cluster_command.h"
#include "segment/train_command.h"

namespace segment {

namespace {

std::string join_sizes(const std::vector<std::int64_t>& sizes) {
  std::string text;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    if (i > 0) text += ',';
    text += std::to_string(sizes[i]);
  }
  return text;
}

std::string overview() {
  return R"(damo-segment: customer segmentation with Damo

Usage:
  damo-segment                     train on the shipped wholesale table (label Channel)
  damo-segment train   --data FILE --label COLUMN [--model OUT] [options]
  damo-segment predict --model MODEL --data FILE --out FILE.csv
  damo-segment cluster --data FILE -k K [--out FILE.csv] [options]
  damo-segment help COMMAND        options of one command

train fits a neural network that predicts a customer's segment (the label column) from
the other columns and reports its scores on held-out rows next to the majority-class
baseline. predict applies a saved model to new customers. cluster finds K segments with
k-means when there is no label; its output CSV can be passed back to train --label.

Tables are CSV files with a header row. The delimiter is the first of tab, semicolon and
comma that splits the header and the first rows into equally many fields, else the most
frequent one in the header. Quoted fields, CRLF line endings and a UTF-8 byte-order mark are
accepted. Spaces around a cell are dropped, except inside quotes, and blank cells are
missing values.

'-' is not standard input or output; use /dev/stdin and /dev/stdout.

Exit status: 0 success, 1 bad data or file, 2 bad command line (an unknown or invalid
option, options that contradict each other or have no effect, an unusable output path),
3 internal error.
)";
}

// The feature options and how columns become features. train fits every statistic on its
// training rows and saves it with the model; cluster fits them on every row and saves none.
std::string feature_help(bool for_cluster) {
  PreprocessOptions defaults;
  std::string training = for_cluster ? "" : " training";
  std::string selection =
      for_cluster ? "By default every column is a feature except identifier columns"
                  : "By default every column is a feature except the label and identifier columns";
  // The end of the paragraph, wrapped like the rest of it.
  std::string statistics =
      for_cluster
          ? "Missing numbers get the\ncolumn median and missing categories the most frequent "
            "category. Columns that are\nconstant are left out with a note. Every statistic "
            "comes from all rows of the table,\nand cluster saves no model."
          : "Missing numbers get the\ntraining median, missing categories the most frequent "
            "training category, and a category\nnot seen in training encodes as all zeros. "
            "Columns that are constant in the training rows\nare left out with a note. Every "
            "statistic comes from the training rows only and is saved\nwith the model.";
  return fmt::format(R"(
Features:
  --data FILE             the CSV table
  --features A,B,...      use exactly these columns as features; in these lists, a name
                          with a comma goes in double quotes: '"Milk, total",Fresh'
  --drop A,B,...          leave these columns out of the automatic selection (not with
                          --features)
  --categorical A,B,...   one-hot encode these columns even when they hold numbers;
                          3, 3.0 and 03 are then one category
  --missing A,B,...       cell texts, such as NA or ?, matched exactly, that mark a
                          missing value like a blank cell in every column{}
  --log-transform         apply log1p to each numeric column with no negative{}
                          value and a skewness above --skew-threshold (default: {})
  --no-log-transform      keep numeric columns linear
  --skew-threshold X      skewness above which --log-transform applies (default {})
  --seed N                seed of every random choice (default 42)
  --quiet                 no progress output

{}: a column
named id, ID, Id, CustomerID, customer_id and the like, or one whose values number the
rows of a table of at least 20 rows: n distinct integers that fill a range of n, in any
order, with up to 1% of the cells blank. A column whose filled cells are mostly numbers
is numeric; a cell that is not a number is then an error naming its line. Columns of
dates (dd-mm-yyyy, dd/mm/yyyy, dd.mm.yyyy or yyyy-mm-dd) become the number of days since
1970-01-01. Other columns are categorical and one-hot encoded; those with more than {}
categories are left out. Numeric columns are standardized. {}
)",
                     for_cluster ? ";\n                          --out writes those cells as read"
                                 : " (the label\n                          too); train saves them with the "
                                   "model, and predict applies them",
                     training, defaults.log_transform ? "on" : "off", defaults.skew_threshold,
                     selection, defaults.max_categories, statistics);
}

std::string train_help() {
  TrainRequest d;
  const OptimizerOptions& o = d.training.optimizer;
  return fmt::format(R"(damo-segment train --data FILE --label COLUMN [options]

Trains a network with hidden layers of {} units and a softmax output on the mean
categorical cross-entropy, using minibatch gradient descent. Each training step is one
compiled Damo function that updates the weights and optimizer state in place. Prints
accuracy, per-segment precision, recall and F1, macro-F1 and the confusion matrix, beside
the scores of always predicting the most frequent training segment, and the compile and
training times.

Evaluation:
  --label COLUMN           the segment column to predict
  --test-fraction F        share of each segment held out for testing (default {})
  --folds K                K-fold stratified cross-validation instead of one test split;
                           the saved model is then trained on every labelled row,
                           less the --validation-fraction held out for validation
  --validation-fraction F  share of the training rows held out to report validation
                           accuracy each epoch and for --patience (default {}; 0 for none)
Network:
  --hidden N[,N...]        hidden layer sizes, input side first (default {}); none
                           for no hidden layer, which is softmax regression
  --activation NAME        sigmoid, tanh or relu (default {})
Optimization:
  --optimizer NAME         sgd, momentum or adam (default {})
  --lr RATE                learning rate (default {})
  --momentum M             momentum, or Adam's beta1 (default {})
  --l2 WEIGHT              L2 penalty on weight matrices, WEIGHT/2 * sum of squares (default {})
  --dropout RATE           zero each hidden unit's output with probability RATE in each
                           training step, scaling the rest by 1/(1-RATE) (default {})
  --batch-size N           rows per minibatch (default {})
  --epochs N               passes over the training rows (default {})
  --patience N             stop after N epochs without a lower validation loss and keep the
                           best weights (default {}: train every epoch)
Output:
  --model OUT              save the model: weights, preprocessing statistics, feature
                           schema and segment names, with a format version and a CRC-32
  --report-json FILE       write the report as JSON too
  --predictions FILE       write the prediction for each evaluated row by the network that
                           did not train on it (the test rows, or every row with --folds) as
                           CSV: line, identifier, fold, actual and predicted segment and the
                           probability of each segment
)",
                     join_sizes(d.hidden), d.test_fraction, d.validation_fraction,
                     join_sizes(d.hidden), activation_name(d.activation), optimizer_name(o.kind),
                     o.learning_rate, o.momentum, o.l2, o.dropout, d.training.batch_size, d.training.epochs,
                     d.training.patience) +
         feature_help(false);
}

std::string predict_help() {
  return R"(damo-segment predict --model MODEL --data FILE --out FILE.csv

Predicts the segment of every row of FILE with a model saved by train --model, and
writes FILE.csv with one row per customer: the identifier column the model was trained
with (or "line", the row's line in FILE, when FILE has no such column; both when some
identifiers are blank or repeated), the predicted segment, and probability_<segment> for
every segment. FILE needs every feature column of
the model, with the same kinds of values; other columns are ignored. The error names the
missing or mismatched columns.

  --model MODEL     the saved model
  --data FILE       the customers to predict
  --out FILE.csv    where to write the predictions (written atomically)
  --missing A,B,... cell texts that mark a missing value in the feature columns, besides
                    the ones the model was trained with (train's --missing)
  --quiet           no summary line

Notes on standard error name, per column, the cells that the model fills in or treats
specially: blank cells (training median or most frequent category), categories that
training never saw (no category), negative values in a log-transformed column (counted
as 0) and values more than 10 standard deviations from the training mean (after log1p
where the model applies it). Rows blank in every feature column are still predicted,
from the training medians and most frequent categories alone, and a note gives their
count and first line.
)";
}

std::string cluster_help() {
  ClusterRequest d;
  return fmt::format(R"(damo-segment cluster --data FILE -k K [--out FILE.csv] [options]

Finds K segments with k-means on the preprocessed features of every row: k-means++
starting centres, several seeded restarts, and the assignment and update steps as
compiled Damo functions. There is no label and no model. Prints the inertia (the sum of
squared distances from each row to the mean of its segment, in standardized units) and
the size and the mean (or most frequent value) of every feature column per segment, and
notes a run that stops at --max-iterations before converging. Segments are numbered from
1, largest first.

  -k K                   number of segments
  --out FILE.csv         write the table with an added segment column
  --segment-column NAME  name of that column (default {})
  --restarts N           runs from different starting centres; the lowest inertia wins
                         (default {})
  --max-iterations N     iterations per run (default {})
)",
                     d.segment_column, d.kmeans.restarts, d.kmeans.max_iterations) +
         feature_help(true);
}

}  // namespace

std::string help_text(const std::string& command) {
  if (command == "train") return train_help();
  if (command == "predict") return predict_help();
  if (command == "cluster") return cluster_help();
  return overview();
}

}  // namespace segment
