// damo-segment's commands: option tables, conversion of options into requests, and the
// output of each command.
#include "segment/cli.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <filesystem>

#include "cli_options.h"
#include "damo/runtime/io.h"
#include "segment/cluster_command.h"
#include "segment/interrupt.h"
#include "segment/predict_command.h"
#include "segment/progress.h"
#include "segment/train_command.h"
#include "text_util.h"

namespace segment {

namespace {

const std::vector<OptionSpec> kFeatureOptions{{"--data"},
                                              {"--features"},
                                              {"--drop"},
                                              {"--categorical"},
                                              {"--missing"},
                                              {"--log-transform", false},
                                              {"--no-log-transform", false},
                                              {"--skew-threshold"},
                                              {"--seed"},
                                              {"--quiet", false},
                                              {"--help", false}};

std::vector<OptionSpec> with_features(std::vector<OptionSpec> specs) {
  specs.insert(specs.end(), kFeatureOptions.begin(), kFeatureOptions.end());
  return specs;
}

const std::vector<OptionSpec> kTrainOptions = with_features({{"--label"},
                                                             {"--model"},
                                                             {"--report-json"},
                                                             {"--predictions"},
                                                             {"--test-fraction"},
                                                             {"--folds"},
                                                             {"--hidden"},
                                                             {"--activation"},
                                                             {"--lr"},
                                                             {"--batch-size"},
                                                             {"--epochs"},
                                                             {"--optimizer"},
                                                             {"--momentum"},
                                                             {"--l2"},
                                                             {"--dropout"},
                                                             {"--patience"},
                                                             {"--validation-fraction"}});

const std::vector<OptionSpec> kPredictOptions{
    {"--model"}, {"--data"}, {"--out"}, {"--missing"}, {"--quiet", false}, {"--help", false}};

const std::vector<OptionSpec> kClusterOptions =
    with_features({{"-k"}, {"--out"}, {"--restarts"}, {"--max-iterations"}, {"--segment-column"}});

// --seed: any whole number from 0 to 2^63 - 1.
std::optional<std::uint64_t> read_seed(const ParsedOptions& options) {
  std::optional<long long> seed = options.get_int("--seed");
  if (seed && *seed < 0)
    throw UsageError(fmt::format("--seed {} is negative; use a whole number from 0", *seed));
  return seed ? std::optional<std::uint64_t>(static_cast<std::uint64_t>(*seed)) : std::nullopt;
}

int to_int(long long value, const std::string& option) {
  if (value < INT32_MIN || value > INT32_MAX)
    throw UsageError(fmt::format("{} {} is out of range; use a whole number up to {}", option, value, INT32_MAX));
  return static_cast<int>(value);
}

// The column names of a list option; a name given twice is a usage error.
std::vector<std::string> column_list(const ParsedOptions& options, const std::string& name) {
  std::vector<std::string> columns = options.get_list(name).value_or(std::vector<std::string>{});
  for (std::size_t i = 0; i < columns.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (columns[i] == columns[j])
        throw UsageError(fmt::format("{} names column '{}' twice; list each column once", name,
                                     columns[i]));
  return columns;
}

// The path that path leads to once symbolic links are followed, dangling ones included
// (a link to a file not written yet leads to that file), absolute and without "." or "..".
std::filesystem::path resolved(const std::string& path) {
  std::error_code error;
  std::filesystem::path current = std::filesystem::absolute(path, error);
  for (int hops = 0; hops < 40 && std::filesystem::is_symlink(current, error); ++hops) {
    std::filesystem::path target = std::filesystem::read_symlink(current, error);
    if (error) break;
    current = target.is_absolute() ? target : current.parent_path() / target;
  }
  return std::filesystem::weakly_canonical(current, error);
}

// The same file, whether or not it exists yet: one inode, or one resolved path.
bool same_file(const std::string& a, const std::string& b) {
  std::error_code error;
  if (std::filesystem::equivalent(a, b, error) && !error) return true;
  return resolved(a) == resolved(b);
}

struct NamedPath {
  std::string option, path;
};

// Returns the stream for the text report: err when one of the output options names the file
// that stream writes to (as /dev/stdout names standard output), so that the file contains only
// its own content, and stream otherwise.
std::FILE* report_stream(const ParsedOptions& options, const std::vector<std::string>& outputs,
                         std::FILE* stream, std::FILE* err) {
  int descriptor = fileno(stream);
  struct stat target {};
  if (descriptor < 0 || fstat(descriptor, &target) != 0) return stream;
  // Output thrown away into /dev/null is no reason to move the report.
  struct stat null_device {};
  if (stat("/dev/null", &null_device) == 0 && target.st_dev == null_device.st_dev &&
      target.st_ino == null_device.st_ino)
    return stream;
  for (const std::string& option : outputs) {
    auto path = options.get(option);
    struct stat named {};
    if (path && stat(path->c_str(), &named) == 0 && named.st_dev == target.st_dev &&
        named.st_ino == target.st_ino)
      return err;
  }
  return stream;
}

// Checks, before any work starts, that each output can be written and replaces no input
// and no other output: a folder that is missing or read-only, or a path that is a folder,
// would otherwise fail only after training.
void check_outputs(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs) {
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const auto& [option, path] = outputs[i];
    if (path.empty()) throw UsageError(fmt::format("{} is empty; give a file name", option));
    if (path == "-")
      throw UsageError(fmt::format("{} '-' would create a file named '-'; damo-segment takes no "
                                   "'-' for standard output, so give a file name, or /dev/stdout "
                                   "to write to standard output",
                                   option));
    struct stat status {};
    if (::stat(path.c_str(), &status) != 0 && errno == ELOOP)
      throw UsageError(fmt::format("{} '{}' leads through symbolic links that form a loop; point "
                                   "the link at a file or remove it",
                                   option, path));
    std::error_code error;
    if (std::filesystem::is_directory(path, error))
      throw UsageError(fmt::format("{} '{}' is a folder; give a file name inside it", option, path));
    // /dev/null takes any number of writes.
    if (resolved(path) == "/dev/null") continue;
    // A regular file is replaced by a new one in its folder, after symbolic links. A pipe
    // or a terminal is written in place, so its folder does not matter.
    bool stream = std::filesystem::exists(path, error) && !std::filesystem::is_regular_file(path, error);
    std::filesystem::path parent = resolved(path).parent_path();
    std::string folder = parent.empty() ? "." : parent.string();
    // /dev/stdout leads to /proc/<pid>/fd/1, which is missing when stdout is closed.
    if (!stream && parent.filename() == "fd" && parent.parent_path().parent_path() == "/proc")
      throw UsageError(fmt::format("{} '{}': descriptor {} of this process is closed, so "
                                   "nothing can be written there; give a file name",
                                   option, path, resolved(path).filename().string()));
    if (!stream && std::filesystem::exists(folder, error) && !std::filesystem::is_directory(folder, error))
      throw UsageError(fmt::format("{} '{}': '{}' is a file, not a folder; choose another path",
                                   option, path, folder));
    if (!stream && !std::filesystem::is_directory(folder, error))
      throw UsageError(fmt::format("{} '{}': the folder '{}' does not exist; create it or "
                                   "choose another path", option, path, folder));
    // Replacing a file through its folder would get past the file's own write protection.
    if (!stream && std::filesystem::is_regular_file(path, error) && ::access(path.c_str(), W_OK) != 0 &&
        errno == EACCES)
      throw UsageError(fmt::format("{} '{}' is read-only for this user; make it writable or choose "
                                   "another path", option, path));
    if (!stream) {
      // Creating a file is the only sure test, because access() passes for root on /proc.
      // O_TMPFILE makes a file without a name, which nothing can leave behind. A file system
      // without O_TMPFILE gets a named file that is removed at once.
      int fd = ::open(folder.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
      if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
        std::string probe = fmt::format("{}/.damo-segment-probe-{}", folder, ::getpid());
        fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) ::unlink(probe.c_str());
        else if (errno == EEXIST) fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
      }
      // Special file systems such as /proc report a missing file for a folder that exists.
      if (fd < 0 && errno == ENOENT)
        throw UsageError(fmt::format("{} '{}': the folder '{}' exists but does not accept new files "
                                     "(the system reports: {}); choose another path",
                                     option, path, folder, std::strerror(ENOENT)));
      if (fd < 0)
        throw UsageError(fmt::format("{} '{}': cannot create a file in the folder '{}' ({}); choose "
                                     "another path", option, path, folder, std::strerror(errno)));
      ::close(fd);
    }
    for (const NamedPath& input : inputs)
      if (same_file(path, input.path))
        throw UsageError(fmt::format("{} '{}' is the same file as {} '{}'; writing it would "
                                     "replace the input, so choose another path",
                                     option, path, input.option, input.path));
    for (std::size_t j = 0; j < i; ++j)
      if (same_file(path, outputs[j].path))
        throw UsageError(fmt::format("{} '{}' and {} '{}' are the same file; give each "
                                     "output its own path",
                                     outputs[j].option, outputs[j].path, option, path));
  }
}

// The --data input and the outputs that were given among names.
void check_command_outputs(const ParsedOptions& options, std::vector<NamedPath> inputs,
                           const std::vector<std::string>& names) {
  for (const auto& [option, path] : inputs)
    if (path == "-")
      throw UsageError(fmt::format("{} '-': damo-segment takes no '-' for standard input; give a "
                                   "file name, or /dev/stdin to read standard input",
                                   option));
  std::vector<NamedPath> outputs;
  for (const std::string& name : names)
    if (auto path = options.get(name)) outputs.push_back({name, *path});
  check_outputs(inputs, outputs);
}

// The --missing markers. Cells are compared after their surrounding spaces are dropped, so
// the markers are too.
std::vector<std::string> missing_markers(const ParsedOptions& options) {
  std::vector<std::string> markers = options.get_list("--missing").value_or(std::vector<std::string>{});
  for (std::size_t i = 0; i < markers.size(); ++i) {
    markers[i] = trim(markers[i]);
    if (markers[i].empty())
      throw UsageError("--missing has an entry of spaces only; blank cells are always missing values, "
                       "so list only texts such as NA");
    for (std::size_t j = 0; j < i; ++j)
      if (markers[i] == markers[j])
        throw UsageError(fmt::format("--missing lists '{}' twice; list each text once", markers[i]));
  }
  return markers;
}

bool lists(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Reads the column and preprocessing options. Contradictions and options without effect
// that the names alone show are usage errors, so they exit with 2 before the table is read.
// label is the --label column, or empty for cluster.
void read_feature_options(const ParsedOptions& options, const std::string& label,
                          FeatureOptions& features, PreprocessOptions& preprocess) {
  features.features = column_list(options, "--features");
  features.drop = column_list(options, "--drop");
  for (const std::string& name : features.drop)
    if (lists(features.features, name))
      throw UsageError(fmt::format("--features and --drop both name column '{}', which contradicts; "
                                   "name it in one of them",
                                   name));
  features.categorical = column_list(options, "--categorical");
  features.missing = missing_markers(options);
  for (const std::string& name : features.drop)
    if (lists(features.categorical, name))
      throw UsageError(fmt::format("--categorical and --drop both name column '{}', which contradicts; "
                                   "name it in one of them",
                                   name));
  if (!features.features.empty() && !features.drop.empty())
    throw UsageError("--drop has no effect with --features, which names every feature; give one of them");
  if (!label.empty() && lists(features.features, label))
    throw UsageError(fmt::format("--features lists the label column '{}'; a model cannot take its "
                                 "own label as input",
                                 label));
  if (!label.empty() && lists(features.drop, label))
    throw UsageError(fmt::format("--drop lists the label column '{}', which is never a feature; leave "
                                 "it out of --drop",
                                 label));
  if (!label.empty() && lists(features.categorical, label))
    throw UsageError(fmt::format("--categorical lists the label column '{}', which is not a "
                                 "feature; labels are always segments, so leave it out",
                                 label));
  for (const std::string& name : features.categorical)
    if (!features.features.empty() && !lists(features.features, name))
      throw UsageError(fmt::format("--categorical names '{}', which is not among the --features; add "
                                   "it to --features or leave it out of --categorical",
                                   name));

  if (options.has("--log-transform") && options.has("--no-log-transform"))
    throw UsageError("--log-transform and --no-log-transform contradict each other; give one");
  if (options.has("--no-log-transform") && options.has("--skew-threshold"))
    throw UsageError("--skew-threshold has no effect with --no-log-transform; leave one of them out");
  if (options.has("--log-transform")) preprocess.log_transform = true;
  if (options.has("--no-log-transform")) preprocess.log_transform = false;
  preprocess.skew_threshold =
      options.get_double("--skew-threshold").value_or(preprocess.skew_threshold);
}

std::vector<std::int64_t> parse_hidden(const std::vector<std::string>& parts) {
  // "none" alone leaves no hidden layer: the network is softmax (multinomial logistic)
  // regression on the features.
  if (parts.size() == 1 && parts[0] == "none") return {};
  std::vector<std::int64_t> sizes;
  for (const std::string& part : parts) {
    // Digits only, as the other integer options take: "1e1" and "64.0" are rejected.
    std::int64_t value = 0;
    auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (error == std::errc::result_out_of_range && end == part.data() + part.size() && part[0] != '-')
      throw UsageError(fmt::format("--hidden entry '{}' is out of range; use a smaller layer size "
                                   "such as 64",
                                   part));
    if (error != std::errc() || end != part.data() + part.size() || value < 1)
      throw UsageError(
          fmt::format("--hidden entry '{}' is not a positive layer size; write sizes "
                      "such as 64 or 64,32, or none for no hidden layer",
                      part));
    sizes.push_back(value);
  }
  return sizes;
}

TrainRequest train_request(const ParsedOptions& options) {
  TrainRequest r;
  r.data = options.require("--data");
  r.label = options.require("--label");
  read_feature_options(options, r.label, r.features, r.preprocess);

  if (auto hidden = options.get_list("--hidden")) r.hidden = parse_hidden(*hidden);
  if (auto name = options.get("--activation")) {
    std::optional<Activation> activation = parse_activation(*name);
    if (!activation)
      throw UsageError(
          fmt::format("--activation '{}' is unknown; use sigmoid, tanh or relu", *name));
    r.activation = *activation;
  }
  if (r.hidden.empty() && options.has("--activation"))
    throw UsageError("--activation has no effect with --hidden none, which has no hidden layer; "
                     "give hidden layer sizes or leave --activation out");
  if (auto name = options.get("--optimizer")) {
    std::optional<OptimizerKind> kind = parse_optimizer(*name);
    if (!kind)
      throw UsageError(
          fmt::format("--optimizer '{}' is unknown; use sgd, momentum or adam", *name));
    r.training.optimizer.kind = *kind;
  }

  OptimizerOptions& o = r.training.optimizer;
  if (o.kind == OptimizerKind::Sgd && options.has("--momentum"))
    throw UsageError("--momentum has no effect with --optimizer sgd; use --optimizer momentum or adam, "
                     "or leave --momentum out");
  o.learning_rate = options.get_double("--lr").value_or(o.learning_rate);
  o.momentum = options.get_double("--momentum").value_or(o.momentum);
  o.l2 = options.get_double("--l2").value_or(o.l2);
  o.dropout = options.get_double("--dropout").value_or(o.dropout);
  if (r.hidden.empty() && options.has("--dropout"))
    throw UsageError("--dropout has no effect with --hidden none, which has no hidden layer; "
                     "give hidden layer sizes or leave --dropout out");
  if (auto batch = options.get_int("--batch-size")) {
    if (*batch < 1)
      throw UsageError(fmt::format("--batch-size {} is invalid; use 1 or more", *batch));
    r.training.batch_size = static_cast<std::size_t>(*batch);
  }
  if (auto epochs = options.get_int("--epochs")) r.training.epochs = to_int(*epochs, "--epochs");
  if (auto patience = options.get_int("--patience"))
    r.training.patience = to_int(*patience, "--patience");
  if (auto seed = read_seed(options)) r.training.seed = *seed;

  r.test_fraction = options.get_double("--test-fraction").value_or(r.test_fraction);
  if (auto folds = options.get_int("--folds")) r.folds = to_int(*folds, "--folds");
  if (options.has("--folds") && options.has("--test-fraction"))
    throw UsageError("--folds and --test-fraction contradict each other: cross-validation "
                     "tests on every fold in turn; give one");
  r.validation_fraction =
      options.get_double("--validation-fraction").value_or(r.validation_fraction);
  // A setting out of its range is a command-line error (exit 2), as an unparsable one is.
  try {
    validate_request(r);
  } catch (const damo::UserError& e) {
    throw UsageError(e.what());
  }
  return r;
}

// Describes the files that options name, such as "the model 'm.bin'", for the message
// printed when SIGINT stops the command before it writes them.
std::vector<std::string> described_outputs(const ParsedOptions& options,
                                           const std::vector<std::pair<std::string, std::string>>& names) {
  std::vector<std::string> outputs;
  for (const auto& [option, description] : names)
    if (auto path = options.get(option)) outputs.push_back(fmt::format("{} '{}'", description, *path));
  return outputs;
}

int run_train(const ParsedOptions& options, const TrainRequest& request, std::FILE* out,
              std::FILE* err) {
  check_command_outputs(options, {{"--data", request.data}}, {"--model", "--report-json", "--predictions"});
  bool terminal = is_terminal(err);
  ProgressPrinter printer(err, terminal, options.has("--quiet"));
  auto on_fold = [&](int fold, int folds) {
    if (fold > 0)
      printer.set_prefix(fmt::format("fold {}/{}", fold, folds));
    else
      printer.set_prefix(folds > 0 ? "final model" : "");
  };
  auto progress = [&](const EpochProgress& p) { printer(p); };
  TrainRequest reported = request;
  reported.training.on_batch = [&](const BatchProgress& p) { printer.batch(p); };
  TrainOutcome outcome;
  {
    // The outputs are written after training, each to a temporary file that is renamed onto
    // it, so an interrupt until then leaves every output as it was.
    InterruptMessage interrupted(
        err, terminal,
        interrupt_message("training", described_outputs(options, {{"--model", "the model"},
                                                                  {"--report-json", "the report"},
                                                                  {"--predictions", "the predictions"}})));
    outcome = train_and_evaluate(reported, progress, on_fold);
  }
  printer.finish();

  out = report_stream(options, {"--model", "--report-json", "--predictions"}, out, err);
  print_to(out, "{}", format_report(outcome.report));
  if (auto path = options.get("--model")) {
    save_model(*path, outcome.model);
    print_to(out, "\nmodel written to {}\n", *path);
  }
  if (auto path = options.get("--report-json")) {
    damo::write_file_atomically(*path, report_json(outcome.report));
    print_to(out, "report written to {}\n", *path);
  }
  if (auto path = options.get("--predictions")) {
    damo::write_file_atomically(*path, held_out_csv(outcome));
    print_to(out, "{} held-out predictions written to {}\n", outcome.held_out.size(), *path);
  }
  return 0;
}

int run_predict_command(const ParsedOptions& options, std::FILE* out, std::FILE* err) {
  std::string model = options.require("--model");
  std::string data = options.require("--data");
  std::string target = options.require("--out");
  check_command_outputs(options, {{"--model", model}, {"--data", data}}, {"--out"});
  std::vector<std::string> notes;
  std::size_t rows = run_predict(model, data, target, &notes, missing_markers(options));
  for (const std::string& note : notes) print_to(err, "note: {}\n", printable_text(note));
  if (!options.has("--quiet")) print_to(err, "wrote {} to {}\n", count_of(rows, "prediction"), target);
  return 0;
}

int run_cluster(const ParsedOptions& options, std::FILE* out, std::FILE* err) {
  ClusterRequest r;
  r.data = options.require("--data");
  read_feature_options(options, "", r.features, r.preprocess);
  r.kmeans.k = to_int(options.get_int("-k").value_or(0), "-k");
  if (!options.has("-k"))
    throw UsageError("'cluster' needs the option -k (the number of segments)");
  if (auto restarts = options.get_int("--restarts"))
    r.kmeans.restarts = to_int(*restarts, "--restarts");
  if (auto iterations = options.get_int("--max-iterations"))
    r.kmeans.max_iterations = to_int(*iterations, "--max-iterations");
  if (auto seed = read_seed(options)) r.kmeans.seed = *seed;
  r.segment_column = options.get("--segment-column").value_or(r.segment_column);
  if (trim(r.segment_column).empty())
    throw UsageError("--segment-column is empty; give the name of the new column, such as segment");
  if (options.has("--segment-column") && !options.has("--out"))
    throw UsageError("--segment-column names the column that --out writes, and has no effect without "
                     "--out; add --out FILE.csv or leave it out");
  r.labelled_output = options.has("--out");
  check_command_outputs(options, {{"--data", r.data}}, {"--out"});
  // As for train, a setting out of its range is a command-line error (exit 2).
  try {
    validate_kmeans_options(r.kmeans);
  } catch (const damo::UserError& e) {
    throw UsageError(e.what());
  }

  ProgressPrinter printer(err, is_terminal(err), options.has("--quiet"));
  r.kmeans.on_restart = [&](int done, int restarts, double best_inertia) {
    printer.step(done, restarts, done == restarts,
                 fmt::format("restart {}/{}  lowest inertia {:.4g}", done, restarts, best_inertia),
                 false);
  };
  ClusterOutcome outcome;
  {
    InterruptMessage interrupted(
        err, is_terminal(err),
        interrupt_message("clustering", described_outputs(options, {{"--out", "the segments file"}})));
    outcome = cluster_table(r);
  }
  printer.finish();
  out = report_stream(options, {"--out"}, out, err);
  print_to(out, "damo-segment: {} clustered into {} on {}\n", r.data,
           count_of(static_cast<std::size_t>(r.kmeans.k), "segment"),
           count_of(outcome.feature_names.size(), "feature"));
  for (const std::string& note : outcome.notes) print_to(out, "  note: {}\n", printable_text(note));
  print_to(out,
           "  inertia {:.4g} after {} (best of {}), compile {:.1f} ms\n\n", outcome.result.inertia,
           count_of(static_cast<std::size_t>(outcome.result.iterations), "iteration"),
           count_of(static_cast<std::size_t>(r.kmeans.restarts), "restart"),
             outcome.result.compile_ms);
  print_to(out, "{}", outcome.profile);
  if (auto path = options.get("--out")) {
    damo::write_file_atomically(*path, outcome.csv);
    print_to(out, "\nsegments written to {} (column '{}'; train on it with --label {})\n", *path,
               r.segment_column, r.segment_column);
  }
  return 0;
}

// Trains on the shipped wholesale table with label Channel: what running without
// arguments shows.
int run_default(std::FILE* out, std::FILE* err) {
  std::string data = find_data_dir() + "/wholesale_customers.csv";
  ParsedOptions options("train", {"--data", data, "--label", "Channel"}, kTrainOptions);
  return run_train(options, train_request(options), out, err);
}

int dispatch(const std::vector<std::string>& arguments, std::FILE* out, std::FILE* err) {
  if (arguments.empty()) return run_default(out, err);
  const std::string& command = arguments[0];
  if (command == "--help" || command == "-h" || command == "help") {
    std::string topic = arguments.size() > 1 ? arguments[1] : "";
    if (arguments.size() > 2)
      throw UsageError(fmt::format("help takes one command name, but '{}' follows '{}'", arguments[2], topic));
    if (arguments.size() > 1 && topic != "train" && topic != "predict" && topic != "cluster")
      throw UsageError(fmt::format("no help for '{}'; the commands are train, predict and cluster",
                                   topic));
    print_to(out, "{}", help_text(topic));
    return 0;
  }
  std::vector<std::string> rest(arguments.begin() + 1, arguments.end());
  const std::vector<OptionSpec>* specs = command == "train"     ? &kTrainOptions
                                         : command == "predict" ? &kPredictOptions
                                         : command == "cluster" ? &kClusterOptions
                                                                : nullptr;
  if (!specs)
    throw UsageError(
        fmt::format("unknown command '{}'; the commands are train, predict and "
                    "cluster",
                    command));
  ParsedOptions options(command, rest, *specs);
  if (options.has("--help")) {
    print_to(out, "{}", help_text(command));
    return 0;
  }
  if (command == "train") return run_train(options, train_request(options), out, err);
  if (command == "predict") return run_predict_command(options, out, err);
  return run_cluster(options, out, err);
}

}  // namespace

std::string find_data_dir() {
  std::vector<std::string> tried;
  std::error_code error;
  std::filesystem::path executable = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) {
    // <prefix>/bin/damo-segment -> <prefix>/share/damo/data once installed, and
    // build/demo/damo-segment -> <source>/data when the build folder is inside the source.
    std::filesystem::path folder = executable.parent_path();
    for (const auto& candidate : {folder.parent_path() / "share" / "damo" / "data",
                                  folder.parent_path().parent_path() / "data",
                                  folder.parent_path() / "data"}) {
      tried.push_back(candidate.string());
      if (std::filesystem::exists(candidate / "wholesale_customers.csv", error)) return candidate.string();
    }
  }
  std::filesystem::path source = DAMO_SEGMENT_SOURCE_DATA_DIR;
  tried.push_back(source.string());
  if (std::filesystem::exists(source / "wholesale_customers.csv", error)) return source.string();
  throw damo::UserError(
      fmt::format("the shipped data folder was not found (tried {}); pass a "
                  "table with 'damo-segment train --data FILE --label COLUMN'",
                  quoted_list(tried)));
}

int run_command(const std::vector<std::string>& arguments, std::FILE* out, std::FILE* err) {
  try {
    return dispatch(arguments, out, err);
  } catch (const UsageError& e) {
    print_to(err, "damo-segment: error: {}\nRun 'damo-segment --help' for the options.\n",
             printable_text(e.what()));
    return 2;
  } catch (const damo::UserError& e) {
    print_to(err, "damo-segment: error: {}\n", printable_text(e.what()));
    return 1;
  } catch (const damo::RuntimeError& e) {
    // A failure of the run rather than of Damo, such as an allocation larger than memory.
    std::string_view message = e.what();
    print_to(err, "damo-segment: error: {}{}\n", printable_text(message),
               message.starts_with("out of memory")
                   ? "; use smaller --hidden layers or a smaller --batch-size"
                   : "");
    return 1;
  } catch (const damo::Error& e) {
    // InternalError: a Damo bug.
    print_to(err, "damo-segment: internal error: {}\n", printable_text(e.what()));
    return 3;
  }
}

int run_cli(int argc, char** argv) {
  // A reader that closes the pipe early, as `| head` does, must not end the program before
  // it saves the model. Writes to the pipe fail instead, and the exit status reports it.
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> arguments(argv + 1, argv + argc);
  int status = run_command(arguments, stdout, stderr);
  // A report lost to a full disk or a closed stdout is a failure, not a success. A command
  // that failed has printed its error already, often the same write failure.
  errno = 0;
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    if (status != 0) return status;
    print_to(stderr, "damo-segment: error: cannot write to standard output: {}\n",
             std::strerror(errno != 0 ? errno : EIO));
    return 1;
  }
  return status;
}

}  // namespace segment
