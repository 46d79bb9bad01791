// The pipeline: disabling passes by name and through DAMO_DISABLE_PASSES, the verifier,
// repeated groups, dumps and the log lines of each level.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "damo/frontend/function.h"
#include "damo/optimizer/canonicalize.h"
#include "damo/optimizer/simplify.h"
#include "damo/runtime/log.h"
#include "optimizer_test_util.h"

namespace damo {
namespace {

// Returns default compile options with the reference backend.
CompileOptions reference_options() {
  CompileOptions options;
  options.backend = Backend::Reference;
  return options;
}

// Captures what is written to stderr while it lives.
class StderrCapture {
 public:
  StderrCapture() {
    std::fflush(stderr);
    saved_ = dup(STDERR_FILENO);
    file_ = std::tmpfile();
    dup2(fileno(file_), STDERR_FILENO);
  }
  ~StderrCapture() { restore(); }

  std::string text() {
    restore();
    std::rewind(file_);
    std::string out;
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, file_)) out.append(buffer, n);
    return out;
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    dup2(saved_, STDERR_FILENO);
    close(saved_);
    saved_ = -1;
  }

  int saved_ = -1;
  std::FILE* file_ = nullptr;
};

// Sets an environment variable for one scope.
class ScopedEnvironment {
 public:
  ScopedEnvironment(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value, 1);
  }
  ~ScopedEnvironment() {
    if (old_)
      setenv(name_, old_->c_str(), 1);
    else
      unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

struct Example {
  Graph g;
  Expr x = g.input("x", DType::Float32, {3});
  Expr e = log(1.0 + x * 1.0);
};

OptimizeOptions options_with(std::vector<std::string> disabled, bool read_environment = false) {
  OptimizeOptions options = testing::test_options();
  options.pipeline_options.disabled_passes = std::move(disabled);
  options.pipeline_options.read_environment = read_environment;
  return options;
}

bool ran(const PipelineResult& result, const std::string& pass) {
  for (const PassRun& run : result.runs)
    if (run.pass == pass) return true;
  return false;
}

TEST_CASE("pipeline runs every pass by default") {
  Example ex;
  PipelineResult result = optimize({ex.e}, options_with({}));
  CHECK(to_infix(result.roots[0]) == "log1p(x)");
  for (const std::string& name : inference_pipeline(options_with({})).pass_names()) {
    INFO(name);
    CHECK(ran(result, name));
  }
}

TEST_CASE("pipeline disables passes by name") {
  Example ex;
  // Elementwise fusion stays off so that the results print as plain expressions.
  PipelineResult no_simplify = optimize({ex.e}, options_with({"simplify", "fuse_elementwise"}));
  CHECK(to_infix(no_simplify.roots[0]) == "log1p(x * 1)");
  CHECK_FALSE(ran(no_simplify, "simplify"));
  CHECK(ran(no_simplify, "stabilize"));

  PipelineResult no_stabilize =
      optimize({ex.e}, options_with({"stabilize", "canonicalize", "fuse_elementwise"}));
  CHECK(to_infix(no_stabilize.roots[0]) == "log(1 + x)");
}

TEST_CASE("pipeline disables passes from DAMO_DISABLE_PASSES") {
  Example ex;
  {
    ScopedEnvironment env("DAMO_DISABLE_PASSES", " simplify ,stabilize,,fuse_elementwise");
    PipelineResult result = optimize({ex.e}, options_with({}, true));
    CHECK(to_infix(result.roots[0]) == "log(x * 1 + 1)");
    CHECK_FALSE(ran(result, "simplify"));
    CHECK_FALSE(ran(result, "stabilize"));
    PipelineResult ignored = optimize({ex.e}, options_with({}, false));
    CHECK(to_infix(ignored.roots[0]) == "log1p(x)");

    Function f = compile({ex.x}, {ex.e}, {}, reference_options());
    CHECK(f.optimized_graph().find("log1p") == std::string::npos);
  }
  Function f = compile({ex.x}, {ex.e}, {}, reference_options());
  CHECK(f.optimized_graph().find("log1p") != std::string::npos);
}

TEST_CASE("compile honors disabled passes and fast-math") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {3});
  CompileOptions options = reference_options();
  options.disabled_passes = {"stabilize"};
  CHECK(compile({x}, {log(1.0 + x)}, {}, options).optimized_graph().find("log1p") ==
        std::string::npos);

  Tensor nan = Tensor::full(DType::Float32, {3}, NAN);
  CHECK(std::isnan(compile({x}, {x * 0.0}, {}, reference_options())({nan})[0].get_double(0)));
  CompileOptions fast = reference_options();
  fast.fast_math = true;
  CHECK(compile({x}, {x * 0.0}, {}, fast)({nan})[0].get_double(0) == 0.0);
}

TEST_CASE("pipeline rejects unknown names and undefined roots") {
  Example ex;
  std::string message =
      testing::user_error_message([&] { optimize({ex.e}, options_with({"simplfy"})); });
  CHECK(message.find("unknown optimizer pass 'simplfy'") != std::string::npos);
  CHECK(message.find("simplify") != std::string::npos);

  message = testing::user_error_message([&] { optimize({ex.e, Expr()}, options_with({})); });
  CHECK(message.find("inference: root 1 is an undefined expression") != std::string::npos);

  ScopedEnvironment env("DAMO_DISABLE_PASSES", "fuse_everything");
  message = testing::user_error_message([&] { optimize({ex.e}, options_with({}, true)); });
  CHECK(message.find("DAMO_DISABLE_PASSES: unknown optimizer pass 'fuse_everything'") !=
        std::string::npos);
}

// A broken pass: replaces every root by a param, which may appear only in fused bodies.
class ParamPass final : public Pass {
 public:
  std::string_view name() const override { return "param_pass"; }
  bool run(GraphState& graph) const override {
    for (Expr& root : graph.roots) root = param(root.graph(), 0, root.dtype());
    return true;
  }
};

// A broken pass: interns an add whose dtype disagrees with its factory's.
class WrongDtypePass final : public Pass {
 public:
  std::string_view name() const override { return "wrong_dtype_pass"; }
  bool run(GraphState& graph) const override {
    for (Expr& root : graph.roots) {
      NodeSpec spec = root->spec();
      spec.dtype = DType::Float64;
      root = Expr(root.graph().intern(std::move(spec)));
    }
    return true;
  }
};

TEST_CASE("pipeline verifier catches broken passes") {
  Example ex;
  PipelineOptions options;
  options.verify = true;
  options.read_environment = false;

  Pipeline params("test", options);
  params.add(std::make_unique<ParamPass>());
  std::string message;
  try {
    params.run({ex.e});
  } catch (const InternalError& e) {
    message = e.what();
  }
  CHECK(message.find("after pass param_pass") != std::string::npos);
  CHECK(message.find("param outside a fused body") != std::string::npos);

  Pipeline wrong("test", options);
  wrong.add(std::make_unique<WrongDtypePass>());
  message.clear();
  try {
    wrong.run({ex.e});
  } catch (const InternalError& e) {
    message = e.what();
  }
  CHECK(message.find("after pass wrong_dtype_pass") != std::string::npos);
  CHECK(message.find("differs from its factory's result") != std::string::npos);

  options.verify = false;
  Pipeline unchecked("test", options);
  unchecked.add(std::make_unique<ParamPass>());
  CHECK(unchecked.run({ex.e}).roots[0]->op() == OpKind::Param);
}

// Reports a change every time, like a pass that never settles.
class RestlessPass final : public Pass {
 public:
  std::string_view name() const override { return "canonicalize"; }
  bool run(GraphState&) const override { return true; }
};

TEST_CASE("pipeline repeats a group until it settles") {
  Example ex;
  PipelineOptions options;
  options.read_environment = false;
  Pipeline pipeline("test", options);
  pipeline.repeat(5, pass_list(std::make_unique<Canonicalize>(), std::make_unique<Simplify>()));
  PipelineResult result = pipeline.run({ex.e});
  // Round one changes the graph, round two finds nothing left to do.
  CHECK(result.runs.size() == 4);

  Pipeline restless("test", options);
  restless.repeat(5, pass_list(std::make_unique<RestlessPass>()));
  CHECK(restless.run({ex.e}).runs.size() == 5);
}

TEST_CASE("pipeline dumps the graph after a named pass") {
  Example ex;
  OptimizeOptions options = options_with({});
  options.pipeline_options.dump_after = {"simplify"};
  StderrCapture capture;
  PipelineResult result = optimize({ex.e}, options);
  std::string log = capture.text();
  REQUIRE(!result.dumps.empty());
  CHECK(result.dumps[0].rfind("after simplify:\n", 0) == 0);
  CHECK(result.dumps[0].find("input f32 (3,) x") != std::string::npos);
  CHECK(log.find("inference: graph after simplify:") != std::string::npos);
}

TEST_CASE("pipeline logs by level") {
  Example ex;
  int saved = log_level();

  set_log_level(1);
  StderrCapture level1;
  optimize({ex.e}, options_with({}));
  std::string one = level1.text();
  CHECK(one.find("damo: inference: pass simplify took") != std::string::npos);
  CHECK(one.find("damo: inference: pass fuse_matmul took") != std::string::npos);
  CHECK(one.find("graph after") == std::string::npos);
  CHECK(one.find("rule") == std::string::npos);

  set_log_level(2);
  StderrCapture level2;
  optimize({ex.e}, options_with({}));
  std::string two = level2.text();
  CHECK(two.find("inference: graph after stabilize:") != std::string::npos);
  // fuse_matmul finds nothing to do here, so its graph is not dumped.
  CHECK(two.find("inference: graph after fuse_matmul:") == std::string::npos);

  set_log_level(3);
  StderrCapture level3;
  optimize({ex.e}, options_with({}));
  std::string three = level3.text();
  CHECK(three.find("simplify: rule mul_one rewrote") != std::string::npos);
  CHECK(three.find("stabilize: rule log_one_plus rewrote") != std::string::npos);
  CHECK(three.find("canonicalize: rule commute_operands rewrote") != std::string::npos);

  set_log_level(saved);
}

TEST_CASE("optimize keeps each root's type") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {2, 3});
  Expr i = g.input("i", DType::Int32, {3});
  std::vector<Expr> roots = {x * 1.0, sum(i * 0, Axes(0)), x, stop_gradient(x) + 0.0};
  for (PipelineKind kind :
       {PipelineKind::Inference, PipelineKind::Training, PipelineKind::Simplify}) {
    std::vector<Expr> optimized = optimize_exprs(roots, testing::test_options(kind));
    REQUIRE(optimized.size() == roots.size());
    for (std::size_t k = 0; k < roots.size(); ++k) {
      CHECK(optimized[k].dtype() == roots[k].dtype());
      CHECK(optimized[k].shape() == roots[k].shape());
    }
  }
  CHECK(to_infix(optimize_exprs({roots[3]}, testing::test_options(PipelineKind::Simplify))[0]) ==
        "stop_gradient(x) + 0");
  CHECK(to_infix(optimize_exprs({roots[3]}, testing::test_options(PipelineKind::Inference))[0]) ==
        "x + 0");
  OptimizeOptions keep = testing::test_options(PipelineKind::Inference);
  keep.keep_stop_gradient = true;
  CHECK(to_infix(optimize_exprs({roots[3]}, keep)[0]) == "fused{stop_gradient($0) + 0}(x)");
}

}  // namespace
}  // namespace damo
