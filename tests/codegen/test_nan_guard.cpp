// The NaN guard of compiled functions (CompileOptions::nan_guard), on both backends. The
// first node that makes a NaN from operands without NaN, or an infinity from finite
// operands, stops the call with a RuntimeError naming it. Non-finite values that come in
// through the arguments propagate.
#include <cmath>
#include <limits>

#include "damo/codegen/program.h"
#include "damo/graph/autodiff.h"
#include "jit_check.h"

using namespace damo;
using namespace damo::testing;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

CompileOptions guarded(Backend backend) {
  CompileOptions options;
  options.backend = backend;
  options.nan_guard = true;
  options.use_cache = false;
  return options;
}

// The message of the RuntimeError that calling f raises, or "no error".
std::string guard_message(const Function& f, const std::vector<Tensor>& arguments) {
  try {
    f(arguments);
  } catch (const RuntimeError& e) {
    return e.what();
  }
  return "no error";
}

const Backend kBackends[] = {Backend::Jit, Backend::Reference};

std::string backend_name(Backend backend) { return backend == Backend::Jit ? "jit" : "reference"; }

}  // namespace

TEST_CASE("nan guard names the node that made NaN") {
  for (Backend backend : kBackends) {
    INFO(backend_name(backend));
    Graph g;
    Expr x = g.input("x", DType::Float32, {"n"});
    Function f = compile({x}, {log(x - 1.0) * 2.0}, {}, guarded(backend));
    std::string message = guard_message(f, {Tensor::from_list({2, 3, 4, 0.5, 5})});
    CHECK(message ==
          "NaN guard: log(x - 1) produced NaN at element 3 of f32 (n,) (op log, shape (5,) in "
          "this call); its inputs were finite");
  }
}

TEST_CASE("nan guard says that an operand was empty") {
  // A mean over an empty batch is NaN, and the message gives the reason.
  for (Backend backend : kBackends) {
    INFO(backend_name(backend));
    Graph g;
    Expr x = g.input("x", DType::Float32, {"n"});
    Function f = compile({x}, {mean(x)}, {}, guarded(backend));
    CHECK(guard_message(f, {Tensor::from_list({1, 2})}) == "no error");
    CHECK(guard_message(f, {Tensor(DType::Float32, {0})}) ==
          "NaN guard: mean(x) produced NaN at element 0 of f32 () (op mean, shape () in this "
          "call); its inputs were finite, but one of them was empty, and a mean over 0 elements "
          "is NaN");
  }
}

TEST_CASE("nan guard finds NaN beside an infinite argument") {
  // The infinity at element 0 propagates, but the NaN at element 1 comes from -0.5.
  for (Backend backend : kBackends) {
    INFO(backend_name(backend));
    Graph g;
    Expr x = g.input("x", DType::Float32, {"n"});
    Function f = compile({x}, {log(x - 1.0)}, {}, guarded(backend));
    CHECK(guard_message(f, {Tensor::from_list({kInf, 0.5, 2})}) ==
          "NaN guard: log(x - 1) produced NaN at element 1 of f32 (n,) (op log, shape (3,) in "
          "this call); its inputs held no NaN");
    std::vector<Tensor> out = f({Tensor::from_list({kInf, 3, 2})});
    CHECK(out[0].get_double(0) == kInf);
    CHECK(out[0].get_double(2) == doctest::Approx(0.0));
  }
}

TEST_CASE("nan guard reports overflow to infinity") {
  for (Backend backend : kBackends) {
    INFO(backend_name(backend));
    Graph g;
    Expr x = g.input("x", DType::Float64, {2, 2});
    Function f = compile({x}, {sum(exp(x))}, {}, guarded(backend));
    std::string message = guard_message(f, {Tensor::from_list({{1, 2}, {800, 3}}, DType::Float64)});
    CHECK(message ==
          "NaN guard: exp(x) produced +inf at element 2 of f64 (2, 2) (op exp, shape (2, 2) in "
          "this call); its inputs were finite");
    std::vector<Tensor> fine = f({Tensor::from_list({{0, 0}, {0, 0}}, DType::Float64)});
    CHECK(fine[0].item() == doctest::Approx(4.0));
  }
}

TEST_CASE("nan guard reports division by zero") {
  for (Backend backend : kBackends) {
    INFO(backend_name(backend));
    Graph g;
    Expr a = g.input("a", DType::Float64, {"n"});
    Expr b = g.input("b", DType::Float64, {"n"});
    Function f = compile({a, b}, {a / b}, {}, guarded(backend));
    Tensor numerators = Tensor::from_list({1, -1, 0}, DType::Float64);
    Tensor zeros = Tensor::zeros(DType::Float64, {3});
    CHECK(guard_message(f, {numerators, zeros}) ==
          "NaN guard: a / b produced +inf at element 0 of f64 (n,) (op div, shape (3,) in this "
          "call); its inputs were finite");
  }
}

TEST_CASE("nan guard checks a slice of an argument with infinities") {
  // The infinity lies outside the slice, so the slice's values are finite and the product
  // that overflows is reported.
  for (Backend backend : kBackends) {
    INFO(backend_name(backend));
    Graph g;
    Expr x = g.input("x", DType::Float32, {2});
    Function f = compile({x}, {slice(x, 0, 1, std::nullopt) * 1e30}, {}, guarded(backend));
    std::string message = guard_message(f, {Tensor::from_list({kInf, 1e30})});
    CHECK(message.find("produced +inf at element 0") != std::string::npos);
    CHECK(message.find("its inputs were finite") != std::string::npos);
  }
}

TEST_CASE("nan guard lets non-finite arguments propagate") {
  for (Backend backend : kBackends) {
    INFO(backend_name(backend));
    Graph g;
    Expr x = g.input("x", DType::Float32, {"n"});
    Function f = compile({x}, {x * 2.0 + 1.0}, {}, guarded(backend));
    std::vector<Tensor> out = f({Tensor::from_list({1, kNaN, kInf, -kInf})});
    CHECK(out[0].get_double(0) == 3.0);
    CHECK(std::isnan(out[0].get_double(1)));
    CHECK(out[0].get_double(2) == kInf);
    CHECK(out[0].get_double(3) == -kInf);
  }
}

TEST_CASE("nan guard exempts a non-finite constant operand") {
  for (Backend backend : kBackends) {
    INFO(backend_name(backend));
    Graph g;
    Expr x = g.input("x", DType::Float32, {2});
    Expr limits = g.constant(Tensor::from_list({kInf, 1}));
    Function f = compile({x}, {minimum(x, limits)}, {}, guarded(backend));
    std::vector<Tensor> out = f({Tensor::from_list({5, 7})});
    CHECK(out[0].get_double(0) == 5.0);
    CHECK(out[0].get_double(1) == 1.0);
    Function g_inf = compile({x}, {x + limits}, {}, guarded(backend));
    CHECK(g_inf({Tensor::from_list({5, 7})})[0].get_double(0) == kInf);
  }
}

TEST_CASE("nan guard off keeps NaN silent") {
  for (Backend backend : kBackends) {
    INFO(backend_name(backend));
    Graph g;
    Expr x = g.input("x", DType::Float32, {"n"});
    CompileOptions options = guarded(backend);
    options.nan_guard = false;
    Function f = compile({x}, {sqrt(x)}, {}, options);
    std::vector<Tensor> out = f({Tensor::from_list({4, -1})});
    CHECK(out[0].get_double(0) == 2.0);
    CHECK(std::isnan(out[0].get_double(1)));
  }
}

TEST_CASE("nan guard stop applies no update") {
  for (Backend backend : kBackends) {
    INFO(backend_name(backend));
    Graph g;
    Expr w = g.shared("w", Tensor::from_list({1, 1}));
    Expr x = g.input("x", DType::Float32, {2});
    Function step = compile({x}, {sum(w)}, {{w, w + sqrt(x)}}, guarded(backend));
    CHECK(guard_message(step, {Tensor::from_list({4, -4})}) ==
          "NaN guard: sqrt(x) produced NaN at element 1 of f32 (2,) (op sqrt, shape (2,) in this "
          "call); its inputs were finite");
    CHECK(g.find_shared("w")->get_value().equals(Tensor::from_list({1, 1})));
    step({Tensor::from_list({4, 9})});
    CHECK(g.find_shared("w")->get_value().equals(Tensor::from_list({3, 4})));
  }
}

TEST_CASE("nan guard checks reductions and matmul") {
  for (Backend backend : kBackends) {
    INFO(backend_name(backend));
    Graph g;
    Expr a = g.input("a", DType::Float32, {2, 2});
    Expr b = g.input("b", DType::Float32, {2, 2});
    Function f = compile({a, b}, {matmul(a, b)}, {}, guarded(backend));
    Tensor big = Tensor::full(DType::Float32, {2, 2}, 3e38);
    CHECK(guard_message(f, {big, big}) ==
          "NaN guard: a @ b produced +inf at element 0 of f32 (2, 2) (op matmul, shape (2, 2) "
          "in this call); its inputs were finite");
    Function total = compile({a}, {sum(a, 0)}, {}, guarded(backend));
    CHECK(guard_message(total, {big}) ==
          "NaN guard: sum(a, axis=[0]) produced +inf at element 0 of f32 (2,) (op sum, shape "
          "(2,) in this call); its inputs were finite");
  }
}

TEST_CASE("nan guard passes logaddexp of equal infinities") {
  // logaddexp(-inf, -inf) is -inf, routine in log-space sums; no kernel may make inf - inf.
  for (Backend backend : kBackends) {
    INFO(backend_name(backend));
    Graph g;
    Expr x = g.input("x", DType::Float64, {"n"});
    Expr y = g.input("y", DType::Float64, {"n"});
    Expr total = sum(logaddexp(x, y));
    std::vector<Expr> gradients = grad(total, {x, y});
    Function f = compile({x, y}, {logaddexp(x, y), gradients[0], gradients[1]}, {}, guarded(backend));
    std::vector<Tensor> out = f({Tensor::from_list({-kInf, kInf, 1, -kInf}, DType::Float64),
                                 Tensor::from_list({-kInf, kInf, 1, 2}, DType::Float64)});
    CHECK(out[0].get_double(0) == -kInf);
    CHECK(out[0].get_double(1) == kInf);
    CHECK(out[0].get_double(2) == doctest::Approx(1 + std::log(2.0)));
    CHECK(out[0].get_double(3) == 2);
    CHECK(out[1].get_double(0) == 0.5);
    CHECK(out[2].get_double(1) == 0.5);
    CHECK(out[1].get_double(3) == 0);
    CHECK(out[2].get_double(3) == 1);
  }
}

TEST_CASE("nan guard ignores integer and bool kernels") {
  Graph g;
  Expr i = g.input("i", DType::Int32, {3});
  Function f = compile({i}, {floor_div(i, i) > 0}, {}, guarded(Backend::Jit));
  std::vector<Tensor> out = f({Tensor::from_list({0, 2, -3}, DType::Int32)});
  CHECK(out[0].get_int64(0) == 0);
  CHECK(out[0].get_int64(1) == 1);
  CHECK(out[0].get_int64(2) == 1);
}

TEST_CASE("node label shortens long and deep expressions") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {"n"});
  Expr y = g.input("a_rather_long_input_name", DType::Float32, {"n"});
  Expr wide = x;
  for (int i = 0; i < 4; ++i) wide = wide * y + 1.0;
  std::string label = node_label(*wide.node());
  CHECK(label.size() == 80);
  // The middle is elided, so the outermost op and its last operand stay visible.
  INFO(label);
  CHECK(label == "(((x * a_rather_long_input_name + 1) * a ... + 1) * a_rather_long_input_name + 1");
  CHECK(label.ends_with("* a_rather_long_input_name + 1"));
  Expr product = matmul(reshape(wide, {-1, 1}), g.input("W2", DType::Float32, {1, 3}));
  CHECK(node_label(*product.node()).ends_with("@ W2"));
  // A sum of many terms stays infix text, cut in the middle.
  Expr terms = x * 2.0;
  for (int i = 3; i < 13; ++i) terms = terms + (i % 2 ? y : x) * static_cast<double>(i);
  std::string sum_label = node_label(*log(terms - x * 1000.0).node());
  CHECK(sum_label.starts_with("log(x * 2 + "));
  CHECK(sum_label.find(" ... ") != std::string::npos);
  CHECK(sum_label.ends_with(" - x * 1000)"));
  Expr deep = x;
  for (int i = 0; i < 300; ++i) deep = exp(deep);
  CHECK(node_label(*deep.node()) == fmt::format("exp(%{})", deep->input(0)->id()));
  CHECK(node_label(*exp(x).node()) == "exp(x)");
}
