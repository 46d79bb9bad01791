// The code examples of docs/api.md, compiled and checked. Each test case contains one
// example between "snippet" comments. tests/embed/check_doc_snippets.sh checks that every
// C++ block of docs/api.md is a copy of lines from this file or from examples/, so the
// documentation cannot drift from code that compiles. Like a user program, this file
// includes only <damo/damo.h>.
#include <damo/damo.h>
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace {

// A compile-cache folder inside the build tree, so the tests leave the home folder alone.
damo::CompileOptions test_options() {
  damo::CompileOptions options;
  options.cache_dir = std::string(DAMO_BINARY_DIR) + "/tests/embed_jit_cache";
  return options;
}

}  // namespace

TEST_CASE("tensors and npy files") {
  std::string path = std::string(DAMO_BINARY_DIR) + "/tests/api_snippet_tensor.npy";
  // snippet: tensors
  damo::Tensor a = damo::Tensor::from_list({{1, 2, 3}, {4, 5, 6}});  // float32 by default
  damo::Tensor zeros(damo::DType::Float64, {2, 3});
  damo::Tensor ids = damo::Tensor::from_vector(std::vector<std::int32_t>{0, 2, 1}, {3});
  float* data = a.data<float>();  // row-major and 64-byte aligned
  data[0] = 10;
  damo::save_npy(path, a);
  damo::Tensor back = damo::load_npy(path);
  // end snippet
  CHECK(back.dtype() == damo::DType::Float32);
  CHECK(back.shape() == damo::Dims{2, 3});
  CHECK(back.get_double(0) == 10.0);
  CHECK(back.get_double(5) == 6.0);
  CHECK(zeros.get_double(4) == 0.0);
  CHECK(ids.get_int64(1) == 2);
  std::remove(path.c_str());
}

TEST_CASE("graph expressions and evaluation") {
  // snippet: graph
  damo::Graph graph;
  damo::Expr x = graph.input("x", damo::DType::Float32, {"n", 3});  // n is bound per call
  damo::Expr w = graph.input("w", damo::DType::Float32, {3});
  damo::Expr y = damo::sigmoid(damo::matmul(x, w) * 0.5 + 1);  // stays float32
  std::string text = damo::to_infix(y);                        // "sigmoid(x @ w * 0.5 + 1)"
  // end snippet
  CHECK(text == "sigmoid(x @ w * 0.5 + 1)");
  CHECK(y.dtype() == damo::DType::Float32);
  CHECK(y.shape() == damo::Shape{"n"});

  // snippet: evaluate
  damo::Feeds feeds{{"x", damo::Tensor::from_list({{1, 2, 3}, {0, 0, 0}})},
                    {"w", damo::Tensor::from_list({1, 0, -1})}};
  damo::Tensor value = damo::evaluate(y, feeds);  // shape (2,), n = 2
  // end snippet
  REQUIRE(value.shape() == damo::Dims{2});
  CHECK(value.get_double(0) == doctest::Approx(1 / (1 + std::exp(-0.0))));
  CHECK(value.get_double(1) == doctest::Approx(1 / (1 + std::exp(-1.0))));
}

TEST_CASE("shared variables") {
  // snippet: shared
  damo::Graph graph;
  damo::Expr W = graph.shared("W", damo::Tensor(damo::DType::Float32, {3, 2}));
  std::shared_ptr<damo::SharedVariable> variable = graph.find_shared("W");
  variable->set_value(damo::Tensor::full(damo::DType::Float32, {3, 2}, 0.25));
  damo::Tensor current = variable->get_value();  // a copy
  // end snippet
  CHECK(W->shared() == variable);
  CHECK(current.get_double(5) == 0.25);
  CHECK_THROWS_AS(variable->set_value(damo::Tensor(damo::DType::Float32, {2, 3})), damo::UserError);
}

TEST_CASE("gradients") {
  // snippet: grad
  damo::Graph graph;
  damo::Expr x = graph.input("x", damo::DType::Float64, {"n"});
  damo::Expr cost = damo::sum(x * x);
  damo::Expr dx = damo::grad(cost, x);  // a node of the same graph, shape (n,)
  damo::Tensor at =
      damo::evaluate(dx, {{"x", damo::Tensor::from_list({1, -2}, damo::DType::Float64)}});
  // end snippet
  CHECK(dx.shape() == damo::Shape{"n"});
  CHECK(at.get_double(0) == 2.0);
  CHECK(at.get_double(1) == -4.0);
}

TEST_CASE("compiled functions") {
  damo::CompileOptions options = test_options();
  // snippet: function
  damo::Graph graph;
  damo::Expr x = graph.input("x", damo::DType::Float32, {"n"});
  damo::Function f = damo::compile({x}, {damo::exp(x), damo::sum(x)}, {}, options);
  std::vector<damo::Tensor> out = f({damo::Tensor::from_list({0, 1, 2})});
  // out[0] is exp(x) of shape (3,), out[1] is sum(x) of shape ()
  // end snippet
  REQUIRE(out.size() == 2);
  CHECK(out[0].get_double(2) == doctest::Approx(std::exp(2.0)));
  CHECK(out[1].item() == 3.0);
}

TEST_CASE("stopping a call part way") {
  damo::Graph graph;
  damo::Expr v = graph.input("v", damo::DType::Float32, {"n"});
  damo::Expr w = graph.shared("w", damo::Tensor::from_list({1, 2}));
  // Row sums of sin(v_i * v_j): several minutes of work for 1,000,000 values.
  damo::Expr rows = damo::sum(damo::sin(damo::expand_dims(v, 1) * damo::expand_dims(v, 0)), {1});
  damo::Function slow = damo::compile({v}, {rows}, {{w, w + 1.0}}, test_options());
  damo::Tensor x = damo::Tensor::full(damo::DType::Float32, {1000000}, 0.5);
  // snippet: stop
  std::atomic<bool> stop{false};
  damo::CallOptions options;
  options.stop = &stop;
  std::thread watchdog([&stop] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stop = true;
  });
  bool stopped = false;
  try {
    std::vector<damo::Tensor> out = slow.call({x}, options);
  } catch (const damo::CallStopped&) {
    stopped = true;  // slow's shared variables hold their old values
  }
  watchdog.join();
  // end snippet
  CHECK(stopped);
  CHECK(graph.find_shared("w")->get_value().get_double(1) == 2.0);
}

TEST_CASE("updates of shared variables") {
  damo::CompileOptions options = test_options();
  // snippet: updates
  damo::Graph graph;
  damo::Expr x = graph.input("x", damo::DType::Float32, {"n"});
  damo::Expr total = graph.shared("total", damo::Tensor::scalar(damo::DType::Float32, 0));
  damo::Function add = damo::compile({x}, {total}, {{total, total + damo::sum(x)}}, options);
  double before = add({damo::Tensor::from_list({1, 2})})[0].item();  // 0; total becomes 3
  double after = add({damo::Tensor::from_list({4})})[0].item();      // 3; total becomes 7
  // end snippet
  CHECK(before == 0.0);
  CHECK(after == 3.0);
  CHECK(graph.find_shared("total")->get_value().item() == 7.0);
}

TEST_CASE("random numbers and dropout") {
  // snippet: random
  damo::Graph graph;
  damo::Expr x = graph.input("x", damo::DType::Float32, {"n", 64});
  damo::Expr key = graph.shared("key", damo::Tensor::scalar(damo::DType::Int64, 0));
  damo::Expr hidden = damo::dropout(damo::relu(x), key, 0.5);  // training only
  damo::Expr noise = damo::random_normal(key, x.shape(), damo::DType::Float32, 1);
  damo::Function step = damo::compile({x}, {hidden, x + noise}, {{key, key + 1}});
  // each call draws new values; key 0 on the first call, 1 on the second, ...
  // end snippet
  damo::Tensor ones = damo::Tensor::full(damo::DType::Float32, {3, 64}, 1.0);
  std::vector<damo::Tensor> first = step({ones});
  std::vector<damo::Tensor> second = step({ones});
  int zeros = 0, changed = 0;
  for (std::int64_t i = 0; i < first[0].numel(); ++i) {
    zeros += first[0].get_double(i) == 0;
    CHECK((first[0].get_double(i) == 0 || first[0].get_double(i) == 2));
    changed += first[0].get_double(i) != second[0].get_double(i);
  }
  CHECK(zeros > 60);
  CHECK(zeros < 132);
  CHECK(changed > 40);
  CHECK(graph.find_shared("key")->get_value().get_int64(0) == 2);
}

TEST_CASE("compile options") {
  damo::Graph graph;
  // snippet: options
  damo::Expr x = graph.input("x", damo::DType::Float32, {"n"});
  damo::Expr y = damo::tanh(x) * 2;
  damo::CompileOptions options;
  options.opt_level = 3;
  options.keep_text = true;  // keeps LLVM IR and assembly; skips the compile cache
  damo::Function fast = damo::compile({x}, {y}, {}, options);
  std::string ir = fast.llvm_ir();
  double milliseconds = fast.stats().total_ms;

  damo::CompileOptions reference;
  reference.backend = damo::Backend::Reference;  // the evaluator, op by op: no LLVM
  damo::Function slow = damo::compile({x}, {y}, {}, reference);
  // end snippet
  damo::Tensor input = damo::Tensor::from_list({-1, 0.5});
  CHECK(ir.find("define") != std::string::npos);
  CHECK(milliseconds > 0);
  CHECK(fast({input})[0].get_double(0) == doctest::Approx(2 * std::tanh(-1.0)));
  CHECK(slow({input})[0].get_double(1) == doctest::Approx(2 * std::tanh(0.5)));
  CHECK(slow.llvm_ir().empty());
}

TEST_CASE("expression language session") {
  // snippet: session
  damo::Session session;
  session.run("x = matrix(f32, [n, 2])\nW = shared(\"W\", [1.0, 2.0])");
  damo::Expr e = session.evaluate("sigmoid(x @ W)").expr();  // a node of session.graph()
  damo::Tensor doubled = session.compute("W * 2");
  std::vector<std::string> printed = session.run("W + 1");  // {"[2., 3.] : f32 (2,)"}
  // end snippet
  CHECK(e.dtype() == damo::DType::Float32);
  CHECK(e.shape() == damo::Shape{"n"});
  CHECK(doubled.get_double(1) == 4.0);
  REQUIRE(printed.size() == 1);
  CHECK(printed[0] == "[2., 3.] : f32 (2,)");
}

// The snippet names the sum that throws, so that the reader sees what fails, and never reads it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
TEST_CASE("errors are typed exceptions") {
  std::string message;
  // snippet: errors
  try {
    damo::Graph graph;
    damo::Expr a = graph.input("a", damo::DType::Float32, {2, 3});
    damo::Expr b = graph.input("b", damo::DType::Float32, {4});
    damo::Expr c = a + b;  // throws: (2, 3) and (4,) do not broadcast
  } catch (const damo::UserError& error) {
    message = error.what();  // names the op and both shapes
  } catch (const damo::RuntimeError& error) {
    // compiled code failed, for example out of memory
  } catch (const damo::Error& error) {
    // an InternalError: a bug in Damo
  }
  // end snippet
  CHECK(message.find("(2, 3)") != std::string::npos);
  CHECK(message.find("(4,)") != std::string::npos);
}
#pragma GCC diagnostic pop

TEST_CASE("error locations in source text") {
  damo::SourceLocation where;
  std::string bare;
  // snippet: location
  damo::Session session;
  try {
    session.run("y = 1 +* 2");
  } catch (const damo::UserError& error) {
    where = error.location();  // where.line == 1, where.column == 8
    bare = error.message();    // what() without the location and the caret line
  }
  // end snippet
  CHECK(where.valid());
  CHECK(where.line == 1);
  CHECK(where.column == 8);
  CHECK(where.source_name == "<string>");
  CHECK(!bare.empty());
  CHECK(bare.find("^") == std::string::npos);
}

TEST_CASE("thread and log settings") {
  // snippet: settings
  damo::set_num_threads(4);  // 0 restores the default: DAMO_NUM_THREADS or the core count
  int threads = damo::num_threads();
  damo::set_log_level(1);  // a line per pass run and compile stage on stderr; DAMO_LOG sets the start
  // end snippet
  CHECK(threads == 4);
  CHECK(damo::log_level() == 1);
  damo::set_log_level(0);
  damo::set_num_threads(0);
}

TEST_CASE("version of headers and library") {
  // snippet: version
  std::string linked = damo::version();       // the library, such as "0.1.0"
  bool same = linked == DAMO_VERSION_STRING;  // the headers agree with it
  int major = DAMO_VERSION_MAJOR;
  // end snippet
  CHECK(same);
  CHECK(linked == std::to_string(major) + "." + std::to_string(DAMO_VERSION_MINOR) + "." +
                      std::to_string(DAMO_VERSION_PATCH));
}
