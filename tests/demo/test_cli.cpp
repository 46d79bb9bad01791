// The command line: help, exit statuses and messages, the three commands end to end, and
// the progress output.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "demo/test_util.h"
#include "segment/cli.h"
#include "segment/interrupt.h"
#include "segment/progress.h"

using namespace segment;
using namespace segment_test;

namespace {

struct Run {
  int status = 0;
  std::string out;
  std::string err;
};

// Runs the command line with stdout and stderr captured in memory.
// Runs damo-segment with standard output going to stdout_file, or to Run::out when it is
// null, and standard error to Run::err.
Run run(const std::vector<std::string>& arguments, std::FILE* stdout_file = nullptr) {
  char* out_buffer = nullptr;
  char* err_buffer = nullptr;
  std::size_t out_size = 0, err_size = 0;
  std::FILE* out = stdout_file != nullptr ? stdout_file : open_memstream(&out_buffer, &out_size);
  std::FILE* err = open_memstream(&err_buffer, &err_size);
  Run result;
  result.status = run_command(arguments, out, err);
  std::fclose(out);
  std::fclose(err);
  if (out_buffer != nullptr) result.out.assign(out_buffer, out_size);
  result.err.assign(err_buffer, err_size);
  std::free(out_buffer);
  std::free(err_buffer);
  return result;
}

}  // namespace

TEST_CASE("cli help lists commands and options") {
  Run overview = run({"--help"});
  CHECK(overview.status == 0);
  CHECK(contains(overview.out, "damo-segment train   --data FILE --label COLUMN"));
  Run train = run({"train", "--help"});
  CHECK(train.status == 0);
  for (const char* option : {"--hidden", "--activation", "--optimizer", "--lr", "--batch-size",
                             "--epochs", "--momentum", "--l2", "--patience", "--folds",
                             "--test-fraction", "--report-json", "--log-transform", "--seed"}) {
    CAPTURE(option);
    CHECK(contains(train.out, option));
  }
  Run cluster = run({"help", "cluster"});
  CHECK(contains(cluster.out, "--restarts N"));
  CHECK(contains(cluster.out, "There is no label and no model."));
  CHECK(contains(cluster.out, "every column is a feature except identifier columns"));
  CHECK(contains(cluster.out, "Every statistic comes from all rows of the table"));
  CHECK_FALSE(contains(cluster.out, "training"));
  CHECK_FALSE(contains(cluster.out, "saved with"));
  CHECK(contains(run({"help", "train"}).out, "Every statistic comes from the training rows only"));
  CHECK(contains(run({"predict", "--help"}).out, "probability_<segment>"));
}

TEST_CASE("cli usage errors exit with 2") {
  Run unknown = run({"cluster", "--data", "x.csv", "--colour", "red"});
  CHECK(unknown.status == 2);
  CHECK(contains(unknown.err, "unknown option '--colour' for 'cluster'"));
  CHECK(contains(unknown.err, "damo-segment --help"));
  CHECK(run({"segment"}).status == 2);
  Run missing = run({"train", "--data", "x.csv"});
  CHECK(missing.status == 2);
  CHECK(contains(missing.err, "'train' needs the option --label"));
  Run value = run({"train", "--data", "x.csv", "--label", "y", "--epochs", "ten"});
  CHECK(contains(value.err, "--epochs 'ten' is not an integer"));
  Run huge = run({"train", "--data", "x.csv", "--label", "y", "--epochs", "99999999999999999999"});
  CHECK(huge.status == 2);
  CHECK(
      contains(huge.err, "--epochs '99999999999999999999' is out of range; use a smaller integer"));
  CHECK(contains(run({"train", "--data", "x", "--label", "y", "--activation", "gelu"}).err,
                 "--activation 'gelu' is unknown"));
  CHECK(contains(run({"train", "--data", "x", "--label", "y", "--hidden", "64,,32"}).err,
                 "has an empty entry"));
  CHECK(contains(run({"train", "--data", "x", "--label", "y", "--hidden", "none,8"}).err,
                 "--hidden entry 'none' is not a positive layer size"));
  CHECK(contains(run({"train", "--data", "x", "--label", "y", "--hidden", "1e1"}).err,
                 "--hidden entry '1e1' is not a positive layer size"));
  CHECK(contains(run({"train", "--data", "x", "--label", "y", "--hidden", "99999999999999999999999"}).err,
                 "--hidden entry '99999999999999999999999' is out of range; use a smaller layer size"));
  CHECK(contains(run({"train", "--data", "x", "--label", "y", "--hidden", "-99999999999999999999999"}).err,
                 "--hidden entry '-99999999999999999999999' is not a positive layer size"));
  CHECK(contains(run({"predict", "--model"}).err, "option --model needs a value"));
  // Values out of their range are command-line errors as well.
  Run epochs = run({"train", "--data", "x.csv", "--label", "y", "--epochs", "0"});
  CHECK(epochs.status == 2);
  CHECK(contains(epochs.err, "--epochs 0 is invalid; use at least 1"));
  CHECK(run({"train", "--data", "x.csv", "--label", "y", "--lr", "0"}).status == 2);
  Run dropout = run({"train", "--data", "x.csv", "--label", "y", "--dropout", "1"});
  CHECK(dropout.status == 2);
  CHECK(contains(dropout.err, "--dropout 1 is invalid; use a rate in [0, 1)"));
  CHECK(contains(run({"train", "--data", "x.csv", "--label", "y", "--dropout", "-0.1"}).err,
                 "--dropout -0.1 is invalid"));
  Run no_hidden = run({"train", "--data", "x.csv", "--label", "y", "--hidden", "none", "--dropout", "0.2"});
  CHECK(no_hidden.status == 2);
  CHECK(contains(no_hidden.err, "--dropout has no effect with --hidden none"));
  Run clusters = run({"cluster", "--data", "x.csv", "-k", "0"});
  CHECK(clusters.status == 2);
  CHECK(contains(clusters.err, "-k 0 is invalid; use 1 or more"));
}

TEST_CASE("cli data errors exit with 1") {
  std::string dir = temp_dir("cli_data_error");
  write_text(dir + "/bad.csv", "a,b,label\n1,2,x\n3,oops,y\n4,5,x\n6,7,y\n");
  Run bad = run({"train", "--data", dir + "/bad.csv", "--label", "label", "--quiet"});
  CHECK(bad.status == 1);
  CHECK(contains(bad.err, "bad.csv line 3, column 'b': 'oops' is not a number"));
  Run missing = run({"train", "--data", dir + "/none.csv", "--label", "y"});
  CHECK(missing.status == 1);
  CHECK(contains(missing.err, "none.csv"));
}

TEST_CASE("cli train predict cluster end to end") {
  std::string dir = temp_dir("cli_end_to_end");
  std::string data = shipped_data("wholesale_customers.csv");
  Run train = run({"train",
                   "--data",
                   data,
                   "--label",
                   "Channel",
                   "--model",
                   dir + "/w.model",
                   "--report-json",
                   dir + "/report.json",
                   "--hidden",
                   "16,8",
                   "--activation",
                   "tanh",
                   "--optimizer",
                   "momentum",
                   "--lr",
                   "0.05",
                   "--epochs",
                   "5",
                   "--batch-size",
                   "16",
                   "--l2",
                   "0.001",
                   "--dropout",
                   "0.25"});
  CHECK(train.status == 0);
  CHECK(contains(train.out, "7 -> 16 tanh -> 8 tanh -> 2 softmax"));
  CHECK(contains(train.out, "momentum, learning rate 0.05, momentum 0.9, batch 16, 5 epochs, L2 0.001, dropout 0.25"));
  CHECK(contains(train.out, "Confusion matrix"));
  CHECK(contains(train.out, "model written to"));
  CHECK(contains(read_text(dir + "/report.json"), "\"network\": \"7 -> 16 tanh -> 8 tanh"));
  // stderr is not a terminal here, so progress comes as plain lines.
  CHECK(contains(train.err, "epoch 5/5  loss"));

  Run predict =
      run({"predict", "--model", dir + "/w.model", "--data", data, "--out", dir + "/p.csv"});
  CHECK(predict.status == 0);
  CHECK(contains(predict.err, "wrote 440 predictions"));
  CHECK(read_csv(dir + "/p.csv").row_count() == 440);

  Run cluster = run({"cluster", "--data", data, "-k", "3", "--drop", "Channel,Region", "--out",
                     dir + "/c.csv", "--restarts", "2"});
  CHECK(cluster.status == 0);
  CHECK(contains(cluster.out, "clustered into 3 segments on 6 features"));
  CHECK(contains(cluster.out, "Fresh (mean)"));
  CHECK_FALSE(contains(cluster.out, "-k 1 puts every row"));
  Run single = run({"cluster", "--data", data, "-k", "1", "--restarts", "1"});
  CHECK(single.status == 0);
  CHECK(contains(single.out + single.err, "note: -k 1 puts every row in one segment"));
  Run too_many = run({"cluster", "--data", data, "-k", "441"});
  CHECK(too_many.status == 2);
  CHECK(contains(too_many.err, "-k 441 is invalid; use a cluster count from 1 to the number of rows (440)"));
  Run retrain = run({"train", "--data", dir + "/c.csv", "--label", "segment", "--drop",
                     "Channel,Region", "--epochs", "3", "--quiet"});
  CHECK(retrain.status == 0);
  CHECK(contains(retrain.out, "label 'segment'"));
}

TEST_CASE("cli predict notes negative, far and blank rows") {
  std::string dir = temp_dir("cli_predict_notes");
  Run train = run({"train", "--data", shipped_data("wholesale_customers.csv"), "--label", "Channel",
                   "--epochs", "1", "--quiet", "--model", dir + "/w.model"});
  REQUIRE(train.status == 0);
  write_text(dir + "/new.csv",
             "Channel,Region,Fresh,Milk,Grocery,Frozen,Detergents_Paper,Delicassen\n"
             "2,3,12669,9656,7561,214,2674,1338\n"
             "2,3,12669,-500,7561,214,2674,1338\n"
             "2,3,12669,1e30,7561,214,2674,1338\n"
             ",,,,,,,\n");
  Run predict = run({"predict", "--model", dir + "/w.model", "--data", dir + "/new.csv", "--out",
                     dir + "/p.csv"});
  CHECK(predict.status == 0);
  CHECK(contains(predict.err, "note: column 'Milk': 1 of 4 cells is negative, such as '-500' on "
                              "line 3, and counts as 0, because the model applies log1p"));
  CHECK(contains(predict.err, "note: column 'Milk': 1 cell is more than 10 standard deviations "
                              "from the training mean (outside "));
  CHECK(contains(predict.err, "the furthest '1e30' on line 4; at most 1% of a column's training values"));
  CHECK(contains(predict.err, "note: the row on line 5 is blank in all 7 feature columns; it is "
                              "still predicted"));
  CHECK(contains(predict.err, "wrote 4 predictions"));
  CHECK(read_csv(dir + "/p.csv").row_count() == 4);
}

TEST_CASE("cli missing markers in train, predict and cluster") {
  std::string dir = temp_dir("cli_missing_markers");
  // Column a is NA on every fifth row, the label NA on lines 3 and 4 makes those rows
  // unlabelled, and the identifier on line 7 is NA.
  std::string text = "id,a,b,label\n";
  for (int i = 0; i < 40; ++i)
    text += fmt::format("{},{},{},{}\n", i == 5 ? "NA" : fmt::format("{}", 100 + i),
                        i % 5 == 3 ? "NA" : fmt::format("{}", i % 7),
                        i % 3, i == 1 || i == 2 ? "NA" : (i % 2 ? "x" : "y"));
  write_text(dir + "/t.csv", text);
  std::string table = dir + "/t.csv";

  Run plain = run({"train", "--data", table, "--label", "label", "--epochs", "1", "--quiet"});
  CHECK(plain.status == 1);
  CHECK(contains(plain.err, "'NA' is not a number, but the column is numeric; 8 cells of the column "
                            "hold 'NA'. If it marks missing values, pass --missing 'NA'"));

  Run train = run({"train", "--data", table, "--label", "label", "--missing", "NA", "--epochs", "1",
                   "--quiet", "--model", dir + "/m.model", "--folds", "2", "--predictions", dir + "/h.csv"});
  REQUIRE(train.status == 0);
  // --predictions copies identifiers as read, NA included.
  Table held_out = read_csv(dir + "/h.csv");
  REQUIRE(held_out.columns[1].name == "id");
  const std::vector<std::string>& ids = held_out.columns[1].cells;
  CHECK(std::count(ids.begin(), ids.end(), "NA") == 1);
  CHECK(contains(train.out, "note: column 'a': 'NA' in 8 cells read as missing (--missing)"));
  CHECK(contains(train.out, "note: column 'label': 'NA' in 2 cells read as missing (--missing)"));
  CHECK(contains(train.out, "rows:         38 ("));

  // The model keeps the marker, and predict's own --missing adds '?'.
  write_text(dir + "/new.csv", "id,a,b\nNA,NA,1\n7,2,?\n");
  Run unknown = run({"predict", "--model", dir + "/m.model", "--data", dir + "/new.csv", "--out",
                     dir + "/p.csv"});
  CHECK(unknown.status == 1);
  // The suggestion keeps the model's marker NA.
  CHECK(contains(unknown.err, "such as '?' on line 3; if '?' marks missing values, pass --missing 'NA,?'"));
  Run predict = run({"predict", "--model", dir + "/m.model", "--data", dir + "/new.csv", "--out",
                     dir + "/p.csv", "--missing", "?"});
  CHECK(predict.status == 0);
  CHECK(contains(predict.err, "note: column 'a': 'NA' in 1 cell read as missing (--missing)"));
  CHECK(contains(predict.err, "note: column 'b': '?' in 1 cell read as missing (--missing)"));
  // The identifier column is not a feature, so its NA is copied as written.
  Table predictions = read_csv(dir + "/p.csv");
  REQUIRE(predictions.row_count() == 2);
  CHECK(predictions.columns[0].cells[0] == "NA");

  // Cluster reads NA as missing but writes the table's cells as they were.
  Run cluster = run({"cluster", "--data", table, "-k", "2", "--drop", "label", "--missing", "NA",
                     "--out", dir + "/c.csv", "--quiet"});
  CHECK(cluster.status == 0);
  CHECK(contains(cluster.out + cluster.err, "'NA' in 8 cells read as missing"));
  Table clustered = read_csv(dir + "/c.csv");
  CHECK(clustered.columns[1].cells[3] == "NA");

  // A predict marker that is one of the model's categories gets a note.
  Run coded = run({"train", "--data", table, "--label", "label", "--missing", "NA", "--categorical", "b",
                   "--epochs", "1", "--quiet", "--model", dir + "/b.model"});
  REQUIRE(coded.status == 0);
  Run hidden = run({"predict", "--model", dir + "/b.model", "--data", dir + "/new.csv", "--out",
                    dir + "/p.csv", "--missing", "?,1.0"});
  CHECK(hidden.status == 0);
  CHECK(contains(hidden.err, "note: --missing '1.0' is a category of column 'b' in the model, so its "
                             "cells read as missing rather than as that category"));

  Run spaces = run({"train", "--data", table, "--label", "label", "--missing", "NA, "});
  CHECK(spaces.status == 2);
  CHECK(contains(spaces.err, "--missing has an entry of spaces only"));
  Run twice = run({"train", "--data", table, "--label", "label", "--missing", "NA,NA"});
  CHECK(twice.status == 2);
  CHECK(contains(twice.err, "--missing lists 'NA' twice"));
  Run forgotten = run({"train", "--data", table, "--label", "label", "--missing", "--quiet"});
  CHECK(forgotten.status == 2);
  CHECK(contains(forgotten.err, "option --missing needs a value, but the option --quiet follows it"));
  Run labels = run({"train", "--data", table, "--label", "label", "--missing", "NA,x"});
  CHECK(labels.status == 1);
  CHECK(contains(labels.err, "label column 'label' has 1 distinct value (21 of its cells held a --missing "
                             "text ('NA' and 'x') and read as missing; leave the label's values out of "
                             "--missing)"));
}

TEST_CASE("cli cross-validation report") {
  Run folds = run({"train", "--data", shipped_data("wholesale_customers.csv"), "--label", "Region",
                   "--folds", "3", "--epochs", "2", "--quiet"});
  CHECK(folds.status == 0);
  CHECK(contains(folds.out, "3-fold cross-validation"));
  CHECK(contains(folds.out, "fold  accuracy  macro-F1  epochs"));
  CHECK(folds.err.empty());
}

TEST_CASE("cli column lists quote names with commas") {
  std::string dir = temp_dir("cli_quoted_names");
  std::string text = "\"Milk, total\",Fresh,label\n";
  for (int i = 0; i < 12; ++i) text += fmt::format("{},{},{}\n", i % 3, i % 4, "xy"[i % 2]);
  write_text(dir + "/t.csv", text);
  std::string table = dir + "/t.csv";
  Run quoted = run({"train", "--data", table, "--label", "label", "--features", "\"Milk, total\"",
                    "--report-json", dir + "/r.json", "--epochs", "2", "--quiet"});
  CHECK(quoted.status == 0);
  CHECK(contains(read_text(dir + "/r.json"), "\"features\": [\"Milk, total\"]"));
  // Two double quotes inside quotes stand for one.
  Run doubled = run({"train", "--data", table, "--label", "label", "--features", "\"a\"\"b\",Fresh"});
  CHECK(doubled.status == 2);
  CHECK(contains(doubled.err, "--features names 'a\"b' not in the table"));
  Run unquoted = run({"train", "--data", table, "--label", "label", "--drop", "Milk, total"});
  CHECK(unquoted.status == 2);
  CHECK(contains(unquoted.err, "--drop names 'Milk' and ' total' not in the table"));
  CHECK(contains(unquoted.err, "; a column name with a comma goes in double quotes, as in --drop '\"Milk, total\"'"));
  Run among = run({"train", "--data", table, "--label", "label", "--features", "Fresh,Milk, total"});
  CHECK(among.status == 2);
  CHECK(contains(among.err, "as in --features 'Fresh,\"Milk, total\"'"));
  Run lower = run({"train", "--data", table, "--label", "LABEL", "--features", "fresh"});
  CHECK(lower.status == 2);
  CHECK(contains(lower.err, "'LABEL' differs from column 'label' only in letter case"));
  Run open_quote = run({"train", "--data", table, "--label", "label", "--drop", "\"Milk, total"});
  CHECK(open_quote.status == 2);
  CHECK(contains(open_quote.err, "--drop '\"Milk, total': the quote at character 1 is not closed"));
  Run after_quote = run({"train", "--data", table, "--label", "label", "--features", "\"Fresh\"x"});
  CHECK(after_quote.status == 2);
  CHECK(contains(after_quote.err, "character 8 follows a quoted entry; put a comma after the closing quote"));
  Run empty = run({"train", "--data", table, "--label", "label", "--features", "\"\",Fresh"});
  CHECK(empty.status == 2);
  CHECK(contains(empty.err, "has an empty entry"));
}

TEST_CASE("cli predict adds lines for unclear identifiers") {
  std::string dir = temp_dir("cli_unclear_ids");
  std::string text = "CustomerID,a,label\n";
  for (int i = 0; i < 30; ++i) text += fmt::format("C{},{},{}\n", 100 + i, i % 3, "xy"[i % 2]);
  write_text(dir + "/t.csv", text);
  REQUIRE(run({"train", "--data", dir + "/t.csv", "--label", "label", "--model", dir + "/m.bin",
               "--epochs", "5", "--quiet"})
              .status == 0);
  // Lines 3 and 4 have no identifier, and line 6 repeats the one of line 5.
  write_text(dir + "/new.csv", "CustomerID,a\nC1,0\n,1\n,2\nC4,0\nC4,1\n");
  Run predict = run({"predict", "--model", dir + "/m.bin", "--data", dir + "/new.csv", "--out",
                     dir + "/out.csv"});
  CHECK(predict.status == 0);
  CHECK(contains(predict.err, "note: the identifier column 'CustomerID' has 2 blank cells and 1 "
                              "repeated value, so the output also has a column 'line' with each "
                              "row's line in " + dir + "/new.csv"));
  Table written = read_csv(dir + "/out.csv");
  REQUIRE(written.columns.size() == 5);
  CHECK(written.columns[0].name == "CustomerID");
  CHECK(written.columns[1].name == "line");
  CHECK(written.columns[2].name == "segment");
  CHECK(written.columns[1].cells == std::vector<std::string>{"2", "3", "4", "5", "6"});
  CHECK(written.columns[0].cells == std::vector<std::string>{"C1", "", "", "C4", "C4"});

  // Identifiers that tell the rows apart need no line column.
  write_text(dir + "/clear.csv", "CustomerID,a\nC1,0\nC2,1\n");
  Run clear = run({"predict", "--model", dir + "/m.bin", "--data", dir + "/clear.csv", "--out",
                   dir + "/clear_out.csv"});
  CHECK(clear.status == 0);
  CHECK(read_csv(dir + "/clear_out.csv").columns[1].name == "segment");
  CHECK_FALSE(contains(clear.err, "identifier column"));

  // A table without the identifier column gets each row's line, with a note.
  write_text(dir + "/no_ids.csv", "a\n0\n1\n");
  Run no_ids = run({"predict", "--model", dir + "/m.bin", "--data", dir + "/no_ids.csv", "--out",
                    dir + "/no_ids_out.csv"});
  CHECK(no_ids.status == 0);
  CHECK(contains(no_ids.err, "note: the model's identifier column 'CustomerID' is not in " + dir +
                                 "/no_ids.csv, so the output's column 'line' gives each row's line instead"));
  CHECK(read_csv(dir + "/no_ids_out.csv").columns[0].cells == std::vector<std::string>{"2", "3"});
  write_text(dir + "/cased_ids.csv", "customerid,a\nC1,0\n");
  Run cased = run({"predict", "--model", dir + "/m.bin", "--data", dir + "/cased_ids.csv", "--out",
                   dir + "/cased_out.csv"});
  CHECK(contains(cased.err, "is not in " + dir + "/cased_ids.csv (its column 'customerid' differs only in "
                            "letter case; rename it to copy it)"));
}

TEST_CASE("cli report moves to stderr when an output is stdout") {
  // Standard output here is a file, and --report-json names that same file, as
  // /dev/stdout would: the file then contains the JSON alone.
  std::string dir = temp_dir("cli_stdout_output");
  std::string table = dir + "/t.csv";
  std::string text = "a,b,label\n";
  for (int i = 0; i < 30; ++i) text += fmt::format("{},{},{}\n", i % 3, (i * 7) % 5, "xy"[i % 2]);
  write_text(table, text);
  std::string stdout_path = dir + "/stdout.txt";
  std::FILE* out = std::fopen(stdout_path.c_str(), "w");
  REQUIRE(out != nullptr);
  Run shared = run({"train", "--data", table, "--label", "label", "--epochs", "2", "--quiet", "--report-json",
                    stdout_path},
                   out);
  CHECK(shared.status == 0);
  std::string written = read_text(stdout_path);
  CHECK(written.starts_with("{"));
  CHECK_FALSE(contains(written, "Scores on"));
  CHECK(contains(shared.err, "Scores on test split"));
  CHECK(contains(shared.err, "report written to " + stdout_path));

  // Output thrown away into /dev/null keeps the report there too.
  std::FILE* null_out = std::fopen("/dev/null", "w");
  REQUIRE(null_out != nullptr);
  Run discarded = run({"train", "--data", table, "--label", "label", "--epochs", "2", "--quiet",
                       "--report-json", "/dev/null"},
                      null_out);
  CHECK(discarded.status == 0);
  CHECK_FALSE(contains(discarded.err, "Scores on"));
}

TEST_CASE("cli writes held-out predictions with the identifier column") {
  std::string dir = temp_dir("cli_held_out");
  std::string table = dir + "/t.csv";
  std::string text = "CustomerID,a,label\n";
  for (int i = 0; i < 30; ++i) text += fmt::format("C{},{},{}\n", 100 + i, i % 2 ? 5 + i % 3 : i % 3, "xy"[i % 2]);
  write_text(table, text);
  Run train = run({"train", "--data", table, "--label", "label", "--predictions", dir + "/held.csv",
                   "--test-fraction", "0.2", "--epochs", "40", "--quiet"});
  CHECK(train.status == 0);
  CHECK(contains(train.out, "6 held-out predictions written to " + dir + "/held.csv"));
  Table written = read_csv(dir + "/held.csv");
  REQUIRE(written.columns.size() == 6);
  CHECK(written.columns[0].name == "line");
  CHECK(written.columns[1].name == "CustomerID");
  CHECK(written.columns[2].name == "actual");
  CHECK(written.columns[5].name == "probability_y");
  REQUIRE(written.row_count() == 6);
  for (std::size_t r = 0; r < 6; ++r) {
    // Line L of the table has customer C(98 + L) with label x on even customers.
    int line = std::stoi(written.columns[0].cells[r]);
    CHECK(written.columns[1].cells[r] == fmt::format("C{}", 98 + line));
    CHECK(written.columns[2].cells[r] == ((line - 2) % 2 ? "y" : "x"));
  }
  // Writes a 30-row table whose identifier column, id_name, numbers the rows from first_id.
  auto write_numbered = [&dir](const std::string& file, const std::string& id_name, int first_id) {
    std::string text = id_name + ",a,label\n";
    for (int i = 0; i < 30; ++i) text += fmt::format("{},{},{}\n", first_id + i, i % 3, "xy"[i % 2]);
    write_text(dir + "/" + file, text);
    return dir + "/" + file;
  };
  // An identifier column named "line" does not repeat the name of the line column.
  std::string renamed = write_numbered("renamed.csv", "line", 500);
  Run line_id = run({"train", "--data", renamed, "--label", "label", "--predictions",
                     dir + "/renamed_held.csv", "--epochs", "1", "--quiet"});
  CHECK(line_id.status == 0);
  CHECK(read_text(dir + "/renamed_held.csv").rfind("line,line_id,actual,predicted,", 0) == 0);

  // predict renames an identifier column called "segment" the same way.
  std::string segment_ids = write_numbered("segment_ids.csv", "segment", 40);
  Run segment_train = run({"train", "--data", segment_ids, "--label", "label", "--model",
                           dir + "/segment_ids.model", "--epochs", "1", "--quiet"});
  CHECK(segment_train.status == 0);
  Run segment_predict = run({"predict", "--model", dir + "/segment_ids.model", "--data", segment_ids,
                             "--out", dir + "/segment_predictions.csv", "--quiet"});
  CHECK(segment_predict.status == 0);
  Table predicted = read_csv(dir + "/segment_predictions.csv");
  REQUIRE(predicted.columns.size() == 4);
  CHECK(predicted.columns[0].name == "segment_id");
  CHECK(predicted.columns[0].cells[0] == "40");
  CHECK(predicted.columns[1].name == "segment");
  CHECK(predicted.columns[3].name == "probability_y");

  Run same = run({"train", "--data", table, "--label", "label", "--predictions", table, "--quiet"});
  CHECK(same.status == 2);
  CHECK(contains(same.err, "--predictions '" + table + "' is the same file as --data"));
}

TEST_CASE("cli finds the shipped data") {
  std::string dir = find_data_dir();
  CHECK(file_exists(dir + "/wholesale_customers.csv"));
  CHECK(file_exists(dir + "/README.md"));
}

// What a ProgressPrinter writes while report runs, on a terminal or not.
std::string progress_text(bool terminal, const std::function<void(ProgressPrinter&)>& report) {
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* stream = open_memstream(&buffer, &size);
  {
    ProgressPrinter printer(stream, terminal, false);
    report(printer);
  }
  std::fclose(stream);
  std::string text(buffer, size);
  std::free(buffer);
  return text;
}

TEST_CASE("progress lines every tenth epoch") {
  std::string text = progress_text(false, [](ProgressPrinter& printer) {
    for (int epoch = 1; epoch <= 30; ++epoch)
      printer(EpochProgress{epoch, 30, 0.5, 0.4, 0.875, epoch == 30});
    // Early stopping at epoch 7 prints that epoch, which is no tenth.
    for (int epoch = 1; epoch <= 7; ++epoch)
      printer(EpochProgress{epoch, 30, 0.5, 0.4, 0.875, epoch == 7});
  });
  CHECK(contains(text, "epoch  1/30  loss 0.5000  validation loss 0.4000  validation accuracy 0.875\n"));
  CHECK(contains(text, "epoch  3/30"));
  CHECK_FALSE(contains(text, "epoch  4/30"));
  CHECK(contains(text, "epoch 30/30"));
  CHECK(contains(text, "epoch  7/30"));
  CHECK(std::count(text.begin(), text.end(), '\n') == 11 + 4);
}

TEST_CASE("progress bar redraws one terminal line") {
  std::string text = progress_text(true, [](ProgressPrinter& printer) {
    printer.set_columns(80);
    printer.set_prefix("fold 1/2");
    for (int epoch = 1; epoch <= 4; ++epoch)
      printer(EpochProgress{epoch, 4, 0.5, std::nan(""), std::nan(""), epoch == 4});
  });
  // Redraws within 0.1 s of the last one are skipped, but never the first or the last.
  CHECK(std::count(text.begin(), text.end(), '\r') >= 2);
  CHECK(std::count(text.begin(), text.end(), '\n') == 1);
  CHECK(contains(text, "fold 1/2  [######..................] epoch 1/4  loss 0.5000"));
  CHECK(contains(text, "fold 1/2  [########################] epoch 4/4  loss 0.5000"));
  CHECK_FALSE(contains(text, "validation"));
}

TEST_CASE("progress lines by time with an estimate") {
  // Without tenths, a step prints only when the interval has passed: here each one after
  // the first, with the time left on all but the last.
  std::string text = progress_text(false, [](ProgressPrinter& printer) {
    printer.set_plain_interval(std::chrono::milliseconds(0));
    for (long done = 1; done <= 5; ++done)
      printer.step(done, 5, done == 5, fmt::format("restart {}/5", done), false);
  });
  CHECK_FALSE(contains(text, "restart 1/5"));
  CHECK(contains(text, "restart 2/5  (0 s so far, about 0 s left)\n"));
  CHECK(contains(text, "restart 4/5  (0 s so far, about 0 s left)\n"));
  CHECK(contains(text, "restart 5/5\n"));
  CHECK(std::count(text.begin(), text.end(), '\n') == 4);

  // Under a prefix such as a fold's, the times are those of that part of the run.
  std::string fold = progress_text(false, [](ProgressPrinter& printer) {
    printer.set_plain_interval(std::chrono::milliseconds(0));
    printer.set_prefix("fold 2/5");
    for (long done = 1; done <= 3; ++done)
      printer.step(done, 3, done == 3, fmt::format("epoch {}/3", done), false);
  });
  CHECK(contains(fold, "fold 2/5  epoch 2/3  (0 s into this part, about 0 s left in it)\n"));
}

TEST_CASE("progress lines inside a long epoch") {
  // The test moves the clock: each minibatch takes 3 s, so 10 s pass after the fifth.
  ProgressPrinter::Clock::time_point now{};
  auto report_batches = [&](ProgressPrinter& printer) {
    printer.set_clock([&] { return now; });
    printer.set_columns(80);
    for (long batch = 1; batch <= 10; ++batch) {
      printer.batch(BatchProgress{1, 2, batch, 10});
      now += std::chrono::seconds(3);
    }
  };
  std::string text = progress_text(false, report_batches);
  // The pace counts from the first batch: 3 s per batch, 15 batches left after the fifth.
  CHECK(contains(text, "epoch 1/2  batch 5/10  (12 s so far, about 45 s left)\n"));
  CHECK(contains(text, "epoch 1/2  batch 9/10  (24 s so far, about 33 s left)\n"));
  CHECK_FALSE(contains(text, "batch 4/10"));
  CHECK(std::count(text.begin(), text.end(), '\n') == 2);

  // On a terminal the same lines redraw the bar, which counts batches over all epochs. The
  // 53 characters of text leave 23 of the 79 usable columns to the bar.
  now = {};
  std::string bar = progress_text(true, report_batches);
  INFO(bar);
  CHECK(contains(bar, "\r\033[K[#####..................] epoch 1/2  batch 5/10  (12 s so far, about 45 s left)"));
  CHECK(std::count(bar.begin(), bar.end(), '\r') == 2);

  // An epoch line restarts the interval, so the batch 3 s after it prints nothing.
  now = {};
  std::string after_epoch = progress_text(false, [&](ProgressPrinter& printer) {
    printer.set_clock([&] { return now; });
    printer.batch(BatchProgress{1, 3, 1, 2});
    now += std::chrono::seconds(9);
    printer(EpochProgress{1, 3, 0.5, std::nan(""), std::nan(""), false});
    now += std::chrono::seconds(3);
    printer.batch(BatchProgress{2, 3, 1, 2});
  });
  CHECK(after_epoch == "epoch 1/3  loss 0.5000\n");
}

TEST_CASE("bar line fits the terminal width") {
  std::string text = "epoch 1/4  loss 0.5000";
  CHECK(bar_line("", 1, 4, text, 80) == "[######..................] " + text);
  CHECK(bar_line("fold 2/5  ", 4, 4, text, 80) == "fold 2/5  [########################] " + text);

  // 60 characters of text leave 79 - 63 = 16 for the bar in 80 columns.
  std::string long_text(60, 'x');
  std::string shrunk = bar_line("", 1, 4, long_text, 80);
  CHECK(shrunk == "[####............] " + long_text);
  CHECK(shrunk.size() == 79);

  // Below 5 characters of bar, the bar stays at 5 and the line is cut.
  std::string cut = bar_line("", 1, 4, long_text, 40);
  CHECK(cut == "[#....] " + long_text.substr(0, 31));
  CHECK(cut.size() == 39);

  // A cut never splits a UTF-8 character: byte 11 is the second byte of an e-acute.
  CHECK(bar_line("", 1, 4, "\u00e9\u00e9\u00e9\u00e9\u00e9", 12) == "[#....] \u00e9");
  CHECK(bar_line("", 0, 4, text, 1).empty());
}

TEST_CASE("terminal width from COLUMNS") {
  // A memory stream has no terminal, so the width comes from COLUMNS or is 80.
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* stream = open_memstream(&buffer, &size);
  const char* saved = std::getenv("COLUMNS");
  std::string previous = saved != nullptr ? saved : "";
  ::setenv("COLUMNS", "57", 1);
  CHECK(terminal_columns(stream) == 57);
  ::setenv("COLUMNS", "wide", 1);
  CHECK(terminal_columns(stream) == 80);
  ::unsetenv("COLUMNS");
  CHECK(terminal_columns(stream) == 80);
  if (saved != nullptr) ::setenv("COLUMNS", previous.c_str(), 1);
  std::fclose(stream);
  std::free(buffer);
}

TEST_CASE("interrupt message names the kept outputs") {
  CHECK(interrupt_message("training", {}) == "damo-segment: training interrupted; nothing was written");
  // An output may not exist yet, so the message states only that nothing reached it.
  CHECK(interrupt_message("training", {"the model 'm.bin'"}) ==
        "damo-segment: training interrupted; nothing was written to the model 'm.bin'");
  CHECK(interrupt_message("clustering", {"the model 'm.bin'", "the report 'r.json'"}) ==
        "damo-segment: clustering interrupted; nothing was written to the model 'm.bin' and the "
        "report 'r.json'");
}

TEST_CASE("interrupt ends the bar line and the process") {
  int ends[2];
  REQUIRE(::pipe(ends) == 0);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(ends[0]);
    std::FILE* stream = ::fdopen(ends[1], "w");
    InterruptMessage interrupted(stream, true, "damo-segment: training interrupted");
    std::fputs("[####....] epoch 3/8", stream);
    std::fflush(stream);
    ::raise(SIGINT);
    ::_exit(0);
  }
  ::close(ends[1]);
  std::string text;
  char chunk[256];
  for (ssize_t n; (n = ::read(ends[0], chunk, sizeof chunk)) > 0;) text.append(chunk, static_cast<std::size_t>(n));
  ::close(ends[0]);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGINT);
  CHECK(text == "[####....] epoch 3/8\ndamo-segment: training interrupted\n");
}

TEST_CASE("interrupt handler is restored afterwards") {
  struct sigaction before {};
  REQUIRE(::sigaction(SIGINT, nullptr, &before) == 0);
  {
    InterruptMessage interrupted(stderr, false, "damo-segment: training interrupted");
    struct sigaction during {};
    REQUIRE(::sigaction(SIGINT, nullptr, &during) == 0);
    CHECK((during.sa_handler != before.sa_handler));
  }
  struct sigaction after {};
  REQUIRE(::sigaction(SIGINT, nullptr, &after) == 0);
  CHECK((after.sa_handler == before.sa_handler));
}

TEST_CASE("cli clusters a table with a segment column") {
  std::string dir = temp_dir("cli_segment_column");
  std::string text = "amount,segment\n";
  for (int i = 0; i < 12; ++i) text += fmt::format("{},{}\n", i * 10 + i % 3, 1 + i % 2);
  write_text(dir + "/t.csv", text);
  // Without --out no column is written, so the name is free; the old column is a feature.
  Run plain = run({"cluster", "--data", dir + "/t.csv", "-k", "2", "--quiet"});
  CHECK(plain.status == 0);
  CHECK(contains(plain.out, "note: column 'segment' is clustered as a feature; if an earlier cluster run "
                            "wrote it, leave it out with --drop 'segment'"));
  Run dropped = run({"cluster", "--data", dir + "/t.csv", "-k", "2", "--drop", "segment", "--quiet"});
  CHECK(dropped.status == 0);
  CHECK_FALSE(contains(dropped.out, "is clustered as a feature"));
  Run written = run({"cluster", "--data", dir + "/t.csv", "-k", "2", "--out", dir + "/o.csv", "--quiet"});
  CHECK(written.status == 1);
  CHECK(contains(written.err, "already has a column 'segment'; choose another name for the output with "
                              "--segment-column"));
  CHECK_FALSE(file_exists(dir + "/o.csv"));
}

TEST_CASE("cli pipe-delimited table without sep line") {
  std::string dir = temp_dir("cli_pipe");
  write_text(dir + "/p.csv", "Channel|Fresh\n1|5\n2|7\n1|4\n2|8\n");
  Run train = run({"train", "--data", dir + "/p.csv", "--label", "Channel", "--quiet"});
  // A file the reader cannot split is bad data (exit status 1), not a command-line mistake.
  CHECK(train.status == 1);
  CHECK(contains(train.err, "split evenly at '|'; add the line sep=| before the header"));
}

TEST_CASE("cli reports fold row counts as ranges") {
  std::string dir = temp_dir("cli_fold_rows");
  write_text(dir + "/four.csv", "a,label\n1,x\n2,x\n3,y\n4,y\n");
  Run folds = run({"train", "--data", dir + "/four.csv", "--label", "label", "--folds", "3",
                   "--epochs", "2", "--report-json", dir + "/r.json", "--quiet"});
  CHECK(folds.status == 0);
  // Fold 1 trains on 2 rows with no validation rows. Folds 2 and 3 set 1 of 3 rows aside.
  CHECK(contains(folds.out, "4 (2 for training, 0 to 1 for validation per fold, 4 evaluated"));
  CHECK(contains(folds.out, "note: fold 1: no training rows are held out for validation"));
  CHECK(contains(folds.out, "note: fold 2: 1 of 3 training rows (33%) are held out"));
  CHECK_FALSE(contains(folds.out, "note: fold 3"));
  CHECK(contains(read_text(dir + "/r.json"), "\"epochs\": 2, \"train_rows\": 2, \"validation_rows\": 0}"));
}

TEST_CASE("cli names the lines without a label") {
  std::string dir = temp_dir("cli_unlabelled");
  write_text(dir + "/t.csv", "a,label\n1,x\n2,\n3,y\n4,x\n5,y\n6,\n7,x\n8,y\n");
  Run train = run({"train", "--data", dir + "/t.csv", "--label", "label", "--epochs", "2", "--quiet"});
  CHECK(train.status == 0);
  CHECK(contains(train.out, "note: 2 rows have no 'label' value (lines 3 and 7) and are not used\n"));
}

TEST_CASE("cli rejects an output that loops") {
  std::string dir = temp_dir("cli_link_loop");
  std::filesystem::create_symlink("loop2", dir + "/loop1");
  std::filesystem::create_symlink("loop1", dir + "/loop2");
  Run looped = run({"train", "--data", find_data_dir() + "/wholesale_customers.csv", "--label", "Channel",
                    "--model", dir + "/loop1", "--quiet"});
  CHECK(looped.status == 2);
  CHECK(contains(looped.err, "--model '" + dir + "/loop1' leads through symbolic links that form a loop"));
  CHECK(std::filesystem::is_symlink(dir + "/loop1"));
}

TEST_CASE("cli outputs never replace an input") {
  std::string dir = temp_dir("cli_output_paths");
  std::string table = dir + "/t.csv";
  std::string text = "a,b,label\n";
  for (int i = 0; i < 24; ++i) text += std::to_string(i) + "," + std::to_string(i % 5) + "," + "xy"[i % 2] + "\n";
  write_text(table, text);

  Run model_over_data = run({"train", "--data", table, "--label", "label", "--model", table, "--quiet"});
  CHECK(model_over_data.status == 2);
  CHECK(contains(model_over_data.err, "is the same file as --data"));
  // Another spelling of the same path is the same file too.
  Run dotted = run({"cluster", "--data", table, "-k", "2", "--out", dir + "/./t.csv"});
  CHECK(dotted.status == 2);
  CHECK(contains(dotted.err, "--out '" + dir + "/./t.csv' is the same file as --data"));
  CHECK(read_text(table) == text);

  Run two_outputs = run({"train", "--data", table, "--label", "label", "--model", dir + "/o",
                         "--report-json", dir + "/o", "--quiet"});
  CHECK(two_outputs.status == 2);
  CHECK(contains(two_outputs.err, "--model '" + dir + "/o' and --report-json '" + dir + "/o' are the same file"));
  CHECK_FALSE(file_exists(dir + "/o"));

  Run no_folder = run({"train", "--data", table, "--label", "label", "--model", dir + "/none/m", "--quiet"});
  CHECK(no_folder.status == 2);
  CHECK(contains(no_folder.err, "the folder '" + dir + "/none' does not exist"));
  // The check comes before training: no progress was printed.
  CHECK_FALSE(contains(no_folder.err, "epoch"));
  // /dev/null may take every output.
  Run discard = run({"train", "--data", table, "--label", "label", "--model", "/dev/null", "--report-json",
                     "/dev/null", "--epochs", "1", "--quiet"});
  CHECK(discard.status == 0);
  Run folder = run({"predict", "--model", dir + "/m", "--data", table, "--out", dir});
  CHECK(folder.status == 2);
  CHECK(contains(folder.err, "--out '" + dir + "' is a folder"));
}

TEST_CASE("cli rejects duplicate and contradictory options") {
  std::string data = shipped_data("wholesale_customers.csv");
  Run twice = run({"train", "--data", data, "--label", "Channel", "--features", "Fresh,Milk,Fresh"});
  CHECK(twice.status == 2);
  CHECK(contains(twice.err, "--features names column 'Fresh' twice"));
  Run both = run({"train", "--data", data, "--label", "Channel", "--folds", "5", "--test-fraction", "0.3"});
  CHECK(both.status == 2);
  CHECK(contains(both.err, "--folds and --test-fraction contradict each other"));
  Run column = run({"cluster", "--data", data, "-k", "2", "--segment-column", " "});
  CHECK(column.status == 2);
  CHECK(contains(column.err, "--segment-column is empty"));
  Run unwritten = run({"cluster", "--data", data, "-k", "2", "--segment-column", "group"});
  CHECK(unwritten.status == 2);
  CHECK(contains(unwritten.err, "--segment-column names the column that --out writes, and has no "
                                "effect without --out"));
  Run help = run({"help", "bogus"});
  CHECK(help.status == 2);
  CHECK(contains(help.err, "no help for 'bogus'"));
  CHECK(contains(run({"help", "train", "extra"}).err, "help takes one command name, but 'extra' follows 'train'"));
  Run seed = run({"train", "--data", data, "--label", "Channel", "--seed", "-1"});
  CHECK(seed.status == 2);
  CHECK(contains(seed.err, "--seed -1 is negative"));
  Run tiny = run({"train", "--data", data, "--label", "Channel", "--lr", "1e-400"});
  CHECK(tiny.status == 2);
  CHECK(contains(tiny.err, "--lr '1e-400' is out of the range of a 64-bit float"));
  Run infinite = run({"train", "--data", data, "--label", "Channel", "--lr", "inf"});
  CHECK(contains(infinite.err, "--lr 'inf' is not a finite decimal number"));
  // Settings that leave their range once rounded to float32 (the precision of training), and
  // options that contradict each other or would change nothing.
  struct Rejected {
    std::vector<std::string> options;
    std::string message;
  };
  const Rejected rejected[] = {
      {{"--lr", "1e-40"}, "--lr 1e-40 is invalid"},
      {{"--lr", "1e-50"}, "--lr 1e-50 is invalid; use a rate > 0 within float32's range"},
      {{"--lr", "1e39"}, "--lr 1e+39 is invalid"},
      {{"--momentum", "0.99999999"},
       "--momentum 0.99999999 is invalid; use a value in [0, 1) that stays below 1 in float32"},
      {{"--categorical", "Region", "--drop", "Region"}, "--categorical and --drop both name column 'Region'"},
      {{"--optimizer", "sgd", "--momentum", "0.5"}, "--momentum has no effect with --optimizer sgd"},
      {{"--hidden", "none", "--activation", "relu"}, "--activation has no effect with --hidden none"},
      {{"--no-log-transform", "--skew-threshold", "2"},
       "--skew-threshold has no effect with --no-log-transform"},
      {{"--features", "Milk", "--drop", "Fresh"}, "--drop has no effect with --features"},
      {{"--features", "Channel"}, "--features lists the label column 'Channel'"},
      {{"--drop", "Channel"}, "--drop lists the label column 'Channel'"},
      {{"--categorical", "Channel"}, "--categorical lists the label column 'Channel'"},
      {{"--features", "Milk,Fresh", "--categorical", "Region"},
       "--categorical names 'Region', which is not among the --features"},
      {{"--predictions", "-"}, "--predictions '-' would create a file named '-'"},
  };
  for (const Rejected& r : rejected) {
    std::vector<std::string> arguments = {"train", "--data", data, "--label", "Channel"};
    arguments.insert(arguments.end(), r.options.begin(), r.options.end());
    Run result = run(arguments);
    CAPTURE(r.message);
    CHECK(result.status == 2);
    CHECK(contains(result.err, r.message));
  }
  Run kept_and_dropped = run({"train", "--data", data, "--label", "Channel", "--features", "Milk,Fresh",
                              "--drop", "Fresh"});
  CHECK(kept_and_dropped.status == 2);
  CHECK(contains(kept_and_dropped.err, "--features and --drop both name column 'Fresh'"));
  // Even root cannot create files in /proc, so the check fails before training.
  Run proc = run({"train", "--data", data, "--label", "Channel", "--model", "/proc/damo_test.model"});
  CHECK(proc.status == 2);
  CHECK(contains(proc.err, "--model '/proc/damo_test.model': the folder '/proc' exists but does not "
                           "accept new files"));
}

TEST_CASE("cli rejects '-' for standard input and output") {
  std::string dir = temp_dir("cli_dash");
  std::string data = shipped_data("wholesale_customers.csv");
  Run cluster = run({"cluster", "--data", data, "-k", "2", "--out", "-"});
  CHECK(cluster.status == 2);
  CHECK(contains(cluster.err, "--out '-' would create a file named '-'; damo-segment takes no '-' "
                              "for standard output, so give a file name, or /dev/stdout to write "
                              "to standard output"));
  Run predict = run({"predict", "--model", dir + "/m.bin", "--data", data, "--out", "-"});
  CHECK(predict.status == 2);
  CHECK(contains(predict.err, "--out '-' would create a file named '-'"));
  Run input = run({"cluster", "--data", "-", "-k", "2"});
  CHECK(input.status == 2);
  CHECK(contains(input.err, "--data '-': damo-segment takes no '-' for standard input; give a file "
                            "name, or /dev/stdin to read standard input"));
  CHECK_FALSE(file_exists("-"));
}

TEST_CASE("cli notes a validation share that differs from the one asked for") {
  // 110 segments of two rows each: the test split takes one row of each, and no training
  // row is left for validation.
  std::string dir = temp_dir("cli_validation_share");
  std::string text = "a,b,segment_name\n";
  for (int s = 0; s < 110; ++s)
    for (int k = 0; k < 2; ++k) text += fmt::format("{},{},s{}\n", s * 0.5 + k, (s * 7) % 13, s);
  write_text(dir + "/pairs.csv", text);
  Run pairs = run({"train", "--data", dir + "/pairs.csv", "--label", "segment_name", "--patience", "2",
                   "--epochs", "2", "--quiet"});
  CHECK(pairs.status == 0);
  CHECK(contains(pairs.out, "no training rows are held out for validation, because each segment keeps "
                            "at least one row for fitting; training runs without validation, so "
                            "--patience has no effect"));
  // With the default 10% on the wholesale table no note appears.
  Run wholesale = run({"train", "--data", shipped_data("wholesale_customers.csv"), "--label", "Channel",
                       "--epochs", "1", "--quiet"});
  CHECK_FALSE(contains(wholesale.out, "held out for validation"));
}

TEST_CASE("cli notes a training loss that ran away") {
  Run diverged = run({"train", "--data", shipped_data("wholesale_customers.csv"), "--label", "Channel",
                      "--lr", "1e30", "--epochs", "2"});
  CHECK(diverged.status == 0);
  CHECK(contains(diverged.out, "so training diverged; lower --lr (now 1e+30)"));
  // The progress line prints such a loss in exponent form.
  CHECK(contains(diverged.err, "e+"));
  CHECK(diverged.err.find("0000000000") == std::string::npos);
}

TEST_CASE("cli notes a training loss above the segment shares") {
  // Adam at a learning rate of 0.5 ends its second epoch with a mean loss near 1.35, above
  // the 0.6305 of predicting the training split's shares of 'Channel' but below ten times
  // log(2), where the divergence note starts.
  Run unsettled = run({"train", "--data", shipped_data("wholesale_customers.csv"), "--label", "Channel",
                       "--lr", "0.5", "--epochs", "2", "--quiet"});
  CHECK(unsettled.status == 0);
  CHECK(contains(unsettled.out, "not below the 0.6305 of predicting each segment's share of the "
                                "training rows, so training did not settle; lower --lr (now 0.5)"));
  CHECK_FALSE(contains(unsettled.out, "so training diverged"));
}

TEST_CASE("cli data errors shorten long cells") {
  std::string dir = temp_dir("cli_long_cell");
  // Trains on a table whose first row has cell in column b, followed by 24 good rows.
  auto train_with_cell = [&dir](const std::string& name, const std::string& cell) {
    std::string text = "a,b,label\n1," + cell + ",x\n";
    for (int i = 0; i < 24; ++i) text += std::to_string(i) + "," + std::to_string(i * 2) + "," + "xy"[i % 2] + "\n";
    write_text(dir + "/" + name, text);
    return run({"train", "--data", dir + "/" + name, "--label", "label", "--quiet"});
  };
  Run run_long = train_with_cell("long.csv", std::string(100000, '7'));
  CHECK(run_long.status == 1);
  CHECK(contains(run_long.err, "line 2, column 'b': '7777777777777777777777777777777777777777... (100000 characters)' "
                               "is out of the range of a 64-bit float"));
  CHECK(run_long.err.size() < 1000);

  // A byte that is not UTF-8 is an error that gives its value, not the raw byte.
  Run run_raw = train_with_cell("raw.csv", "12\xff");
  CHECK(run_raw.status == 1);
  CHECK(contains(run_raw.err,
                 "line 2, column 'b': byte 5 of the line (0xFF) is not UTF-8 text; save the file as UTF-8"));

  // Terminal control sequences in a cell are escaped in the error, as are C1 controls.
  Run run_control = train_with_cell("control.csv", "\"\x1b[2J\r\nX\xc2\x9b\"");
  CHECK(run_control.status == 1);
  CHECK(contains(run_control.err, "'\\x1b[2J\\r\\nX\\xc2\\x9b' is not a number"));
  CHECK(run_control.err.find('\x1b') == std::string::npos);
}

TEST_CASE("cli survives an unwritable stderr") {
  // fmt::print throws when a write fails; an uncaught throw would end in std::terminate.
  std::FILE* full = std::fopen("/dev/full", "w");
  REQUIRE(full != nullptr);
  std::setvbuf(full, nullptr, _IONBF, 0);
  char* out_buffer = nullptr;
  std::size_t out_size = 0;
  std::FILE* out = open_memstream(&out_buffer, &out_size);
  CHECK(run_command({"train", "--data", "no_such_file.csv", "--label", "Channel"}, out, full) == 1);
  CHECK(run_command({"train", "--bogus"}, out, full) == 2);
  std::fclose(out);
  std::free(out_buffer);
  std::fclose(full);
}

TEST_CASE("cli saves model after closed pipe") {
  std::string dir = temp_dir("cli_closed_pipe");
  std::string table = dir + "/t.csv";
  std::string text = "a,b,label\n";
  for (int i = 0; i < 24; ++i) text += std::to_string(i) + "," + std::to_string(i % 5) + "," + "xy"[i % 2] + "\n";
  write_text(table, text);
  std::string model = dir + "/m.bin";

  int ends[2];
  REQUIRE(::pipe(ends) == 0);
  ::close(ends[0]);  // the reader is gone before the report is printed
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (::dup2(ends[1], STDOUT_FILENO) < 0) ::_exit(90);
    if (std::freopen("/dev/null", "w", stderr) == nullptr) ::_exit(91);
    std::vector<std::string> words = {"damo-segment", "train", "--data", table, "--label", "label",
                                      "--model", model, "--quiet"};
    std::vector<char*> argv;
    for (std::string& word : words) argv.push_back(word.data());
    argv.push_back(nullptr);
    ::_exit(run_cli(static_cast<int>(words.size()), argv.data()));
  }
  ::close(ends[1]);

  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK_FALSE(WIFSIGNALED(status));
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
  CHECK(file_exists(model));
}

TEST_CASE("cli rejects a read-only output") {
  std::string dir = temp_dir("cli_read_only_output");
  std::string table = dir + "/t.csv";
  std::string text = "a,b\n";
  for (int i = 0; i < 24; ++i) text += std::to_string(i % 7) + "," + std::to_string(i % 3) + "\n";
  write_text(table, text);
  std::string target = dir + "/locked.csv";
  write_text(target, "keep\n");
  REQUIRE(::chmod(target.c_str(), 0444) == 0);
  REQUIRE(::chmod(dir.c_str(), 0777) == 0);

  auto attempt = [&] {
    return run({"cluster", "--data", table, "-k", "2", "--out", target});
  };
  Run result;
  if (::geteuid() != 0) {
    result = attempt();
  } else {
    // Root may write any file, so a child process runs as the unprivileged user 65534 and
    // sends back the exit status and the error text.
    int ends[2];
    REQUIRE(::pipe(ends) == 0);
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      ::close(ends[0]);
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(90);
      Run inner = attempt();
      std::string message = std::to_string(inner.status) + "\n" + inner.err;
      ssize_t written = ::write(ends[1], message.data(), message.size());
      ::_exit(written == static_cast<ssize_t>(message.size()) ? 0 : 1);
    }
    ::close(ends[1]);
    std::string message;
    char buffer[512];
    for (ssize_t got; (got = ::read(ends[0], buffer, sizeof buffer)) > 0;)
      message.append(buffer, static_cast<std::size_t>(got));
    ::close(ends[0]);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    result.status = std::stoi(message.substr(0, message.find('\n')));
    result.err = message.substr(message.find('\n') + 1);
  }

  CHECK(result.status == 2);
  CHECK(contains(result.err, "--out '" + target + "' is read-only for this user; make it writable or choose "
                             "another path"));
  CHECK(read_text(target) == "keep\n");
}

TEST_CASE("cli exits 1 when standard output cannot be written") {
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (std::freopen("/dev/full", "w", stdout) == nullptr) ::_exit(90);
    if (std::freopen("/dev/null", "w", stderr) == nullptr) ::_exit(91);
    char name[] = "damo-segment";
    char help[] = "--help";
    char* argv[] = {name, help, nullptr};
    ::_exit(run_cli(2, argv));
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
}
