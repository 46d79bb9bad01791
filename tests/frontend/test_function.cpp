// Tests of function(...), calls of compiled functions, shared-variable updates, and the
// :ir, :asm and :time commands, on the reference backend and on the JIT.
#include <doctest/doctest.h>

#include <cmath>

#include "damo/damo.h"
#include "frontend_test_util.h"

using namespace damo;

namespace {

struct BackendCase {
  const char* name;
  Backend backend;
};

constexpr BackendCase kBackends[] = {{"reference", Backend::Reference}, {"jit", Backend::Jit}};

SessionOptions options_for(Backend backend) {
  SessionOptions options = damo::testing::reference_options();
  options.compile.backend = backend;
  options.compile.cache_dir = std::string(DAMO_BINARY_DIR) + "/tests/frontend_jit_cache";
  return options;
}

// One step of softmax regression, as the language below writes it, computed in double:
// returns the loss before the step and updates W and b in place.
double regression_step(const double (&X)[2][3], const int (&y)[2], double (&W)[3][2],
                       double (&b)[2], double rate) {
  double p[2][2];
  double loss = 0;
  for (int r = 0; r < 2; ++r) {
    double z[2];
    for (int j = 0; j < 2; ++j) {
      z[j] = b[j];
      for (int k = 0; k < 3; ++k) z[j] += X[r][k] * W[k][j];
    }
    double m = std::max(z[0], z[1]);
    double total = std::exp(z[0] - m) + std::exp(z[1] - m);
    for (int j = 0; j < 2; ++j) p[r][j] = std::exp(z[j] - m) / total;
    loss -= std::log(p[r][y[r]]) / 2;
  }
  for (int j = 0; j < 2; ++j) {
    double gb = 0;
    for (int r = 0; r < 2; ++r) gb += (p[r][j] - (y[r] == j ? 1 : 0)) / 2;
    for (int k = 0; k < 3; ++k) {
      double gw = 0;
      for (int r = 0; r < 2; ++r) gw += X[r][k] * (p[r][j] - (y[r] == j ? 1 : 0)) / 2;
      W[k][j] -= rate * gw;
    }
    b[j] -= rate * gb;
  }
  return loss;
}

constexpr const char* kRegression =
    "X = matrix(f32, [n, 3])\n"
    "y = vector(i64, [n])\n"
    "W = shared(\"W\", zeros(f32, [3, 2]))\n"
    "b = shared(\"b\", zeros(f32, [2]))\n"
    "p = softmax(X @ W + b, axis=1)\n"
    "loss = mean(categorical_crossentropy(p, y))\n"
    "train = function([X, y], loss, updates=[W: W - 0.5 * grad(loss, W),\n"
    "                                        b: b - 0.5 * grad(loss, b)])\n";

}  // namespace

TEST_CASE("function training steps update shared variables") {
  for (const BackendCase& backend : kBackends) {
    CAPTURE(backend.name);
    Session session(options_for(backend.backend));
    session.run(kRegression);

    double X[2][3] = {{1, 2, 3}, {4, 5, 6}};
    int y[2] = {0, 1};
    double W[3][2] = {};
    double b[2] = {};
    for (int step = 0; step < 3; ++step) {
      double expected = regression_step(X, y, W, b, 0.5);
      std::vector<std::string> printed =
          session.run("loss_now = train([[1, 2, 3], [4, 5, 6]], [0, 1])");
      CHECK(printed.empty());
      CHECK(session.compute("loss_now").item() == doctest::Approx(expected).epsilon(1e-5));
    }
    Tensor trained = session.compute("W");
    for (int k = 0; k < 3; ++k)
      for (int j = 0; j < 2; ++j)
        CHECK(trained.get_double(k * 2 + j) == doctest::Approx(W[k][j]).epsilon(1e-5));
    CHECK(session.compute("b").get_double(1) == doctest::Approx(b[1]).epsilon(1e-5));
  }
}

TEST_CASE("function call prints its outputs") {
  for (const BackendCase& backend : kBackends) {
    CAPTURE(backend.name);
    std::string out = damo::testing::output(
        "x = vector(f32)\n"
        "f = function([x], x * 2 + 1)\n"
        "f([1, 2, 3])\n"
        "g = function([x], [sum(x), x > 1])\n"
        "g([0.5, 1.5])",
        options_for(backend.backend));
    CHECK(out == "[3., 5., 7.] : f32 (3,)\n2. : f32 ()\n[false,  true] : bool (2,)");
  }
}

TEST_CASE("function prints its signature") {
  std::string out = damo::testing::output(
      "x = vector(f32)\ny = vector(i64, [n])\nf = function([x, y], [sum(x), y])\nf");
  CHECK(out == "function(x: f32 (x_0,), y: i64 (n,)) -> [f32 (), i64 (n,)]");
}

TEST_CASE("function without inputs reads shared values") {
  for (const BackendCase& backend : kBackends) {
    CAPTURE(backend.name);
    std::string out = damo::testing::output(
        "W = shared(\"W\", [1.0, 2.0])\n"
        "step = function([], sum(W), updates=[W: W * 2])\n"
        "step()\nstep()\nW",
        options_for(backend.backend));
    CHECK(out == "3. : f32 ()\n6. : f32 ()\n[4., 8.] : f32 (2,)");
  }
}

TEST_CASE("function update to number literals takes the variable's type") {
  for (const BackendCase& backend : kBackends) {
    CAPTURE(backend.name);
    std::string out = damo::testing::output(
        "W = shared(\"W\", zeros(f32, [2]))\n"
        "set = function([], sum(W), updates=[W: [1, 2]])\n"
        "clear = function([], sum(W), updates=[W: 0])\n"
        "set()\nW\nclear()\nW",
        options_for(backend.backend));
    CHECK(out == "0. : f32 ()\n[1., 2.] : f32 (2,)\n3. : f32 ()\n[0., 0.] : f32 (2,)");
  }
  // An integer variable takes only literals it represents exactly.
  const std::string define = "I = shared(\"I\", i32([1, 2, 3]))\n";
  CHECK(damo::testing::output(define + "f = function([], sum(I), updates=[I: 7])\nf()\nI") ==
        "6 : i64 ()\n[7, 7, 7] : i32 (3,)");
  for (const char* literal : {"3000000000", "2.5", "1 / 2"}) {
    CAPTURE(literal);
    auto e = damo::testing::error_of(define + "f = function([], sum(I), updates=[I: " + literal + "])");
    CHECK(e.message.starts_with("function(): the update of 'I' (i32 (3,)) is the literal "));
    CHECK(e.message.ends_with(", which i32 cannot represent; give a value that fits"));
  }
}

TEST_CASE("function result feeds later expressions") {
  std::string out =
      damo::testing::output("x = vector(f32)\nf = function([x], x * x)\nr = f([1, 2])\nr + 1");
  CHECK(out == "[2., 5.] : f32 (2,)");
}

TEST_CASE("function outputs list is not a tensor") {
  // The outputs differ in dtype, so stacking them would promote one of them.
  const std::string define = "x = vector(f32, [2])\nf = function([x], [x * 2, i64(x)])\nr = f([1, 2])\n";
  auto e = damo::testing::error_of(define + "r + 1");
  CHECK(e.message ==
        "expected a tensor, but this is a list of 2 items from a builtin or a compiled function; pick "
        "one with an integer subscript, as in r[0], or stack them with stack(...)");
  CHECK(damo::testing::output(define + "r[1] + 1") == "[2, 3] : i64 (2,)");
  CHECK(damo::testing::output(define + "stack([r[0], r[0]])") == "[[2., 4.],\n [2., 4.]] : f32 (2, 2)");
}

TEST_CASE("function rejects a wrong shape at call time") {
  auto e = damo::testing::error_of("X = matrix(f32, [n, 3])\nf = function([X], X)\nf([1, 2, 3])");
  CHECK(e.message == "argument 1 ('X') must have rank 2, as in shape (n, 3), not shape (3,)");
  CHECK(e.line == 3);
  CHECK(e.column == 3);
}

TEST_CASE("function size errors point at the argument") {
  const std::string define =
      "X = matrix(f32, [n, 3])\ni = vector(i64, [n])\nf = function([X, i], [sum(X, axis=1), X[i]])\n";
  auto size = damo::testing::error_of(define + "f([[1, 2]], [0])");
  CHECK(size.message == "argument 1 ('X') expects f32 (n, 3) but got f32 (1, 2): axis 1 must be 3");
  CHECK(size.line == 4);
  CHECK(size.column == 3);
  auto symbol = damo::testing::error_of(define + "f([[1, 2, 3]], [0, 1])");
  CHECK(symbol.message ==
        "argument 2 ('i') expects i64 (n,) but got i64 (2,): symbolic dimension 'n' is 2 at axis 0 but 1 "
        "in argument 1 ('X')");
  CHECK(symbol.column == 16);
  auto count = damo::testing::error_of(define + "f([[1, 2, 3]])");
  CHECK(count.message == "the function takes 2 arguments, but 1 was given");
  CHECK(count.column == 1);
  // A class label outside the classes points at the labels.
  auto label = damo::testing::error_of(
      "z = matrix(f32, [n, 3])\ny = vector(i64, [n])\n"
      "f = function([z, y], mean(categorical_crossentropy(softmax(z), y)))\nf([[1, 2, 3]], [5])");
  CHECK(label.message.starts_with("argument 2 ('y') contains the class label 5 at flat index 0"));
  CHECK(label.column == 16);
}

TEST_CASE("function call out of memory is located") {
  // 2^45 f32 elements (128 TiB) cannot be allocated on any machine these tests run on.
  for (const char* backend : {"reference", "jit"}) {
    CAPTURE(backend);
    SessionOptions options = damo::testing::reference_options();
    if (std::string(backend) == "jit") options.compile.backend = Backend::Jit;
    auto e = damo::testing::error_of(
        "x = vector(f32, [n])\nf = function([x], broadcast_to(x, [8388608, 4194304, n]))\nf([1])",
        options);
    CHECK(e.thrown);
    CHECK(e.line == 3);
    CHECK(e.message ==
          "out of memory: cannot allocate 140737488355328 bytes for a f32 tensor of shape (8388608, "
          "4194304, 1); use smaller shapes or inputs");
  }
}

TEST_CASE("function compile errors are located") {
  auto e =
      damo::testing::error_of("x = vector(f32)\nz = vector(f32, [x_0])\nf = function([x], x + z)");
  CHECK(e.thrown);
  CHECK(e.line == 3);
  CHECK(e.column == 5);
  CHECK(e.message.find("'z'") != std::string::npos);
}

TEST_CASE("ir and asm commands") {
  std::string reference = damo::testing::output("x = vector(f32)\n:ir exp(x)\n:asm exp(x)");
  CHECK(reference ==
        "(no LLVM IR: this function runs on the reference backend)\n"
        "(no assembly: this function runs on the reference backend)");

  Session session(options_for(Backend::Jit));
  session.run("x = vector(f32)");
  std::vector<std::string> ir = session.run(":ir exp(x) + 1");
  REQUIRE(ir.size() == 1);
  CHECK(ir[0].find("define") != std::string::npos);
  std::vector<std::string> assembly = session.run(":asm exp(x) + 1");
  REQUIRE(assembly.size() == 1);
  CHECK_FALSE(assembly[0].empty());
  CHECK(assembly[0].find("(no assembly") == std::string::npos);
}

TEST_CASE("time command") {
  for (const BackendCase& backend : kBackends) {
    CAPTURE(backend.name);
    Session session(options_for(backend.backend));
    std::vector<std::string> out =
        session.run("X = matrix(f32, [n, 3])\ny = vector(i64, [n])\n:time sum(X[:, 0] * y)");
    REQUIRE(out.size() == 2);
    CHECK(out[0].starts_with("compile: "));
    CHECK(out[1].starts_with("call: "));
    CHECK(out[1].find("symbolic sizes bound to 8") != std::string::npos);
  }
}

TEST_CASE("time command draws class labels within the classes") {
  // Compiled calls reject labels outside [0, 3), and the other integers go up to 7.
  for (const BackendCase& backend : kBackends) {
    CAPTURE(backend.name);
    Session session(options_for(backend.backend));
    std::vector<std::string> out = session.run(
        "X = matrix(f32, [n, 3])\ny = vector(i64, [n])\n"
        ":time mean(categorical_crossentropy(softmax(X, axis=1), y)) + sum(X[:, 0] * y)");
    REQUIRE(out.size() == 2);
    CHECK(out[1].starts_with("call: "));
  }
}

TEST_CASE("function with the nan guard") {
  for (const BackendCase& backend : kBackends) {
    CAPTURE(backend.name);
    Session session(options_for(backend.backend));
    session.run("x = vector(f32, [n])\nf = function([x], log(x - 1), nan_guard=true)\n"
                "g = function([x], log(x - 1))");
    CHECK(session.run("f([2, 3])")[0] == "[0.       , 0.6931472] : f32 (2,)");
    CHECK_THROWS_WITH(session.run("f([2, 0.5])"),
                      doctest::Contains("NaN guard: log(x - 1) produced NaN at element 1 of f32 (n,)"));
    CHECK(session.run("g([2, 0.5])")[0] == "[ 0., nan] : f32 (2,)");
  }
}

TEST_CASE("time command with derived and empty class axes") {
  for (const BackendCase& backend : kBackends) {
    CAPTURE(backend.name);
    Session session(options_for(backend.backend));
    // The classes are n-1 = 7 during :time, so the labels lie in [0, 7).
    std::vector<std::string> out = session.run(
        "X = matrix(f32, [m, n])\ny = vector(i64, [m])\n"
        ":time mean(sparse_categorical_crossentropy(softmax(X[:, 1:], axis=1), y))");
    REQUIRE(out.size() == 2);
    CHECK(out[1].starts_with("call: "));
    Session empty(options_for(backend.backend));
    CHECK_THROWS_WITH(empty.run("Z = matrix(f32, [m, 0])\ny = vector(i64, [m])\n"
                                ":time mean(sparse_categorical_crossentropy(softmax(Z, axis=1), y))"),
                      doctest::Contains(":time: a cross-entropy reads input 'y' as class labels over 0 "
                                        "classes, so no label is valid; time it with at least one class"));
  }
}

TEST_CASE("function outliving its graph") {
  CompileOptions reference;
  reference.backend = Backend::Reference;
  CompileOptions jit;
  jit.cache_dir = std::string(DAMO_BINARY_DIR) + "/tests/frontend_jit_cache";
  Function by_reference, native;
  {
    Graph g;
    Expr x = g.input("x", DType::Float32, {"n"});
    by_reference = compile({x}, {x + 1.0}, {}, reference);
    native = compile({x}, {x + 1.0}, {}, jit);
  }
  Tensor argument = Tensor::from_list({1, 2});
  // Native code keeps working; the reference backend and the Expr accessors need the graph.
  CHECK(native({argument})[0].equals(Tensor::from_list({2, 3}).cast(DType::Float32)));
  std::string message;
  try {
    by_reference({argument});
  } catch (const UserError& e) {
    message = e.what();
  }
  CHECK(message ==
        "calling a reference-backend function: the Graph this function was compiled from has "
        "been destroyed; keep the Graph alive while the function is used");
  CHECK_THROWS_AS(native.inputs(), UserError);
  CHECK_THROWS_AS(by_reference.outputs(), UserError);
}

TEST_CASE("reference backend binds sizes like the jit") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {"n"});
  Tensor argument = Tensor::from_list({1, 2, 3}).cast(DType::Float32);
  for (const BackendCase& backend : kBackends) {
    CAPTURE(backend.name);
    CompileOptions options;
    options.backend = backend.backend;
    options.cache_dir = std::string(DAMO_BINARY_DIR) + "/tests/frontend_jit_cache";
    Function f = compile({x}, {grad(sum(x), x), dim_size(g, "n")}, {}, options);
    std::vector<Tensor> out = f({argument});
    CHECK(out[0].equals(Tensor::full(DType::Float32, {3}, 1)));
    CHECK(out[1].get_int64(0) == 3);
  }
}
