// Training and inference workloads of the benchmark network (damo_mlp.h). The training
// step is one compiled function that returns the loss and updates the weights. An epoch
// passes views of the data rows to it, batch by batch, so no rows are copied.
#include <algorithm>
#include <vector>

#include "damo_mlp.h"

namespace damo_bench {

namespace {

// Runs the step on rows [start, start + batch) of the data, clipped at the end.
double step_on_rows(const damo::Function& step, MlpData& data, std::int64_t start,
                    std::int64_t batch) {
  std::int64_t count = std::min(batch, data.rows() - start);
  Tensor x = Tensor::view(data.x.data<float>() + start * data.features(), DType::Float32,
                          {count, data.features()});
  Tensor y = Tensor::view(data.y.data<std::int32_t>() + start, DType::Int32, {count});
  return step.call({x, y}, borrowed_outputs()).at(0).item();
}

}  // namespace

void run_train(const bench::Options& options, bench::Report& report) {
  MlpData data(options.text("data"));
  std::int64_t rss_after_load = bench::proc_status_bytes("VmRSS");
  std::int64_t batch = std::min(options.integer("batch"), data.rows());
  std::int64_t batches = (data.rows() + batch - 1) / batch;
  Mlp mlp(data);
  damo::Function step = mlp.training_step(options.number("lr"), compile_options(options));
  print_graph_if_asked(options, step);

  // The losses of the first check-steps steps from the initial weights, batch after batch.
  mlp.reset(data);
  for (std::int64_t s = 0; s < options.integer("check-steps", 11); ++s)
    report.add_check(step_on_rows(step, data, (s % batches) * batch, batch));

  // Peak memory before the timed epochs, which includes loading, then during them alone.
  std::int64_t peak_before_epochs = bench::proc_status_bytes("VmHWM");
  bool peak_was_reset = bench::reset_peak_rss();
  auto epoch = [&] {
    for (std::int64_t b = 0; b < batches; ++b) step_on_rows(step, data, b * batch, batch);
  };
  report.set_times(bench::time_repeats(
      options.integer("warmup"), options.integer("repeats"), [&] { mlp.reset(data); }, epoch));
  std::int64_t peak_in_epochs = bench::proc_status_bytes("VmHWM");

  report.add_info("batches_per_epoch", static_cast<double>(batches));
  report.add_info("compile_ms", step.stats().total_ms);
  report.add_info("data_bytes", static_cast<double>(data.bytes()));
  report.add_info("rss_after_load_bytes", static_cast<double>(rss_after_load));
  report.add_info("peak_rss_before_epochs_bytes", static_cast<double>(peak_before_epochs));
  if (peak_was_reset)
    report.add_info("peak_rss_in_epochs_bytes", static_cast<double>(peak_in_epochs));
  // Resident pages mapped from files, mostly the LLVM shared library's code and data.
  report.add_info("rss_file_bytes_after_epochs",
                  static_cast<double>(bench::proc_status_bytes("RssFile")));
  report.add_info("max_rss_bytes",
                  static_cast<double>(std::max(peak_before_epochs, peak_in_epochs)));
}

void run_infer(const bench::Options& options, bench::Report& report) {
  MlpData data(options.text("data"));
  Mlp mlp(data);
  damo::Function predict =
      damo::compile({mlp.x}, {damo::argmax(mlp.logits, 1)}, {}, compile_options(options));
  print_graph_if_asked(options, predict);

  Tensor classes;
  report.set_times(bench::time_repeats(
      options.integer("warmup"), options.integer("repeats"), [] {},
      [&] { classes = predict.call({data.x}, borrowed_outputs()).at(0); }));

  // The check is how many rows fall in each class.
  std::vector<double> counts(static_cast<std::size_t>(data.classes()), 0.0);
  for (std::int64_t r = 0; r < classes.numel(); ++r)
    counts[static_cast<std::size_t>(classes.get_int64(r))] += 1;
  for (double count : counts) report.add_check(count);
  report.add_info("compile_ms", predict.stats().total_ms);
}

}  // namespace damo_bench
