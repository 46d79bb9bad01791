// Graphs 100,000 nodes deep: printing, evaluation, differentiation and compilation finish
// or raise an error, and never overflow the call stack. Text nested as deep is a parse
// error.
#include <doctest/doctest.h>

#include "damo/frontend/function.h"
#include "damo/frontend/parser.h"
#include "damo/graph/autodiff.h"
#include "damo/graph/eval.h"
#include "damo/graph/ops.h"
#include "damo/graph/printer.h"
#include "reliability_util.h"

using namespace damo;
using damo::reliability::message_of;

namespace {

constexpr int kDepth = 100'000;

// x + 1 + 1 + ... nested kDepth deep: ((x + 1) + 1) + ...
Expr deep_chain(Graph& g) {
  Expr e = g.input("x", DType::Float64, {"n"});
  for (int i = 0; i < kDepth; ++i) e = e + 1.0;
  return e;
}

}  // namespace

TEST_CASE("deep graph prints") {
  Graph g;
  Expr e = deep_chain(g);
  std::string infix = to_infix(e);
  CHECK(infix.starts_with("x + 1 + 1 + "));
  CHECK(infix.size() == 1 + 4 * static_cast<std::size_t>(kDepth));
  std::string tree = dump({e});
  CHECK(tree.find("(continued below)") != std::string::npos);
  std::string dot = to_dot({e});
  CHECK(dot.starts_with("digraph"));
}

TEST_CASE("deep graph evaluates") {
  Graph g;
  Expr e = deep_chain(g);
  Tensor x = Tensor::from_list({0.5, -2}, DType::Float64);
  Tensor value = evaluate(e, {{"x", x}});
  CHECK(value.get_double(0) == kDepth + 0.5);
  CHECK(value.get_double(1) == kDepth - 2.0);
}

TEST_CASE("deep graph differentiates") {
  Graph g;
  Expr e = deep_chain(g);
  Expr x(g.find_input("x"));
  Expr dx = grad(sum(e * e), x);
  Tensor value = evaluate(dx, {{"x", Tensor::from_list({0.5}, DType::Float64)}});
  CHECK(value.get_double(0) == doctest::Approx(2 * (kDepth + 0.5)));
}

TEST_CASE("deep graph compiles with the reference backend") {
  Graph g;
  Expr e = deep_chain(g);
  Expr x(g.find_input("x"));
  CompileOptions options;
  options.backend = Backend::Reference;
  Function f = compile({x}, {e}, {}, options);
  CHECK(f({Tensor::from_list({1}, DType::Float64)})[0].get_double(0) == kDepth + 1.0);
}

TEST_CASE("deep graph compiles with the JIT") {
  Graph g;
  Expr e = deep_chain(g);
  Expr x(g.find_input("x"));
  // The optimizer fuses the chain into about 1,600 kernels; O0 keeps LLVM's share short.
  CompileOptions options;
  options.use_cache = false;
  options.opt_level = 0;
  Function f = compile({x}, {e}, {}, options);
  CHECK(f({Tensor::from_list({1}, DType::Float64)})[0].get_double(0) == kDepth + 1.0);
}

TEST_CASE("deep expression text is a parse error") {
  const std::pair<std::string, std::string> texts[] = {
      {std::string(kDepth, '(') + "x" + std::string(kDepth, ')'), "parentheses"},
      {std::string(kDepth, '-') + "x", "prefix minus"},
      {std::string(kDepth, '['), "unclosed lists"},
  };
  for (const auto& [text, what] : texts) {
    INFO(what);
    SourceFile source("deep.dm", text);
    try {
      parse_program(source);
      FAIL("no error");
    } catch (const UserError& e) {
      CHECK(e.message() ==
            "expression is nested too deeply (more than 256 levels); split it into several "
            "statements");
      CHECK(e.location().line == 1);
      CHECK(e.location().column == 257);
    }
  }
}
