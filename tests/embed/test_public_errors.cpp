// Misuse of the public API reaches the caller as a documented exception type (UserError,
// derived from damo::Error) instead of std::out_of_range, a null dereference, undefined
// behaviour or std::terminate. Each case below is such a misuse.
#include <damo/damo.h>
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace {

// Runs action and returns the what() of the UserError it throws, or "<no error>". Any
// other exception fails the test, which is the point of this file.
template <class Action>
std::string user_error(Action action) {
  try {
    action();
  } catch (const damo::UserError& error) {
    return error.what();
  }
  return "<no error>";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

static_assert(std::is_base_of_v<damo::Error, damo::UserError>);
static_assert(std::is_base_of_v<damo::Error, damo::InternalError>);
static_assert(std::is_base_of_v<damo::Error, damo::RuntimeError>);
static_assert(std::is_base_of_v<std::runtime_error, damo::Error>);

TEST_CASE("tensor dim rejects a bad axis") {
  damo::Tensor t(damo::DType::Float32, {2, 3});
  CHECK(t.dim(1) == 3);
  std::string message = user_error([&] { (void)t.dim(2); });
  CHECK(contains(message, "axis 2 is out of range"));
  CHECK(contains(message, "(2, 3)"));
  CHECK(contains(user_error([&] { (void)t.dim(-1); }), "axis -1"));
  CHECK(contains(user_error([] { (void)damo::Tensor().dim(0); }), "rank 0"));
}

TEST_CASE("tensor element access checks the index") {
  damo::Tensor t = damo::Tensor::from_list({1, 2, 3});
  CHECK(t.get_double(2) == 3.0);
  CHECK(contains(user_error([&] { (void)t.get_double(3); }), "index 3 is out of range"));
  CHECK(contains(user_error([&] { (void)t.get_double(-1); }), "index -1"));
  CHECK(contains(user_error([&] { (void)t.get_int64(7); }), "Tensor::get_int64"));
  CHECK(contains(user_error([&] { t.set_double(3, 1.0); }), "Tensor::set_double"));
  CHECK(contains(user_error([] { (void)damo::Tensor().get_double(0); }), "the tensor is undefined"));
  CHECK(t.get_double(0) == 1.0);
}

TEST_CASE("tensor typed access names both dtypes") {
  damo::Tensor t(damo::DType::Float64, {2});
  std::string message = user_error([&] { (void)t.data<float>(); });
  CHECK(contains(message, "contains f64 elements"));
  CHECK(contains(message, "accessed as f32"));
  const damo::Tensor& constant = t;
  CHECK(contains(user_error([&] { (void)constant.data<std::int32_t>(); }), "accessed as i32"));
  CHECK(t.data<double>() != nullptr);
}

TEST_CASE("tensor full converts NaN to integers") {
  // static_cast of NaN to an integer is undefined behaviour; full() follows cast(): 0.
  double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK(damo::Tensor::full(damo::DType::Int32, {2}, nan).get_int64(1) == 0);
  CHECK(damo::Tensor::scalar(damo::DType::Int64, 1e30).get_int64(0) ==
        std::numeric_limits<std::int64_t>::max());
  CHECK(damo::Tensor::scalar(damo::DType::Int32, -1e30).get_int64(0) ==
        std::numeric_limits<std::int32_t>::min());
}

TEST_CASE("node accessors check the index") {
  damo::Graph graph;
  damo::Expr x = graph.input("x", damo::DType::Float32, {3});
  damo::Expr y = damo::softmax(x + 1);
  CHECK(y->input(0) == (x + 1).node());
  CHECK(y->attr(0) == 0);
  std::string message = user_error([&] { (void)y->input(1); });
  CHECK(contains(message, "Node::input: index 1 is out of range"));
  CHECK(contains(message, "softmax"));
  CHECK(contains(user_error([&] { (void)y->attr(1); }), "Node::attr: index 1"));
  CHECK(contains(user_error([&] { (void)x->input(0); }), "0 entries"));
}

TEST_CASE("shape indexing checks the axis") {
  damo::Shape shape{"n", 3};
  CHECK(shape[1] == damo::Dim(3));
  CHECK(contains(user_error([&] { (void)shape[2]; }), "axis 2 is out of range for shape (n, 3)"));
  CHECK(contains(user_error([&] { (void)shape[-1]; }), "axis -1"));
}

TEST_CASE("axes list of every axis throws") {
  damo::Axes every;
  damo::Axes some{0, 2};
  CHECK(every.all());
  CHECK(some.list().size() == 2);
  CHECK(contains(user_error([&] { (void)every.list(); }), "check all() first"));
}

TEST_CASE("undefined expr is a user error") {
  damo::Expr undefined;
  CHECK(contains(user_error([&] { (void)undefined.dtype(); }), "undefined Expr"));
  CHECK(contains(user_error([&] { (void)undefined.shape(); }), "undefined Expr"));
  CHECK(contains(user_error([&] { (void)undefined.rank(); }), "undefined Expr"));
  CHECK(contains(user_error([&] { (void)undefined.graph(); }), "undefined Expr"));
  // A number next to an undefined Expr needs its graph for the literal.
  CHECK(contains(user_error([&] { (void)(undefined * 2); }), "undefined Expr"));
  CHECK(contains(user_error([&] { (void)(1.5 + undefined); }), "undefined Expr"));
  CHECK(user_error([&] { (void)damo::exp(undefined); }) != "<no error>");
  CHECK(user_error([&] { (void)damo::grad(undefined, undefined); }) != "<no error>");
  CHECK(damo::to_infix(undefined) == "<undefined>");
}

TEST_CASE("parallel for rethrows on the caller") {
  damo::set_num_threads(4);
  std::atomic<std::int64_t> visited{0};
  std::string message = user_error([&] {
    damo::parallel_for(1 << 16, 1, [&](std::int64_t begin, std::int64_t end) {
      visited += end - begin;
      if (begin == 0) throw damo::UserError("chunk at 0 failed");
    });
  });
  CHECK(message == "chunk at 0 failed");
  CHECK(visited.load() <= (1 << 16));

  // Other exception types pass through unchanged.
  CHECK_THROWS_AS(damo::parallel_for(1000, 1,
                                     [](std::int64_t begin, std::int64_t) {
                                       if (begin == 0) throw std::length_error("too long");
                                     }),
                  std::length_error);

  // The pool still works afterwards, and every iteration runs exactly once.
  std::atomic<std::int64_t> total{0};
  damo::parallel_for(1 << 16, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) total += i;
  });
  CHECK(total.load() == (std::int64_t{1} << 16) * ((1 << 16) - 1) / 2);
  damo::set_num_threads(0);
}

TEST_CASE("compile rejects a bad opt level") {
  damo::Graph graph;
  damo::Expr x = graph.input("x", damo::DType::Float32, {2});
  damo::CompileOptions options;
  options.opt_level = 7;
  CHECK(contains(user_error([&] { damo::compile({x}, {x + 1}, {}, options); }),
                 "opt_level 7 is not between 0 and 3"));
  options.opt_level = -1;
  CHECK(user_error([&] { damo::compile({x}, {x + 1}, {}, options); }) != "<no error>");
}

TEST_CASE("empty function call throws") {
  damo::Function empty;
  CHECK(contains(user_error([&] { empty({}); }), "create it with damo::compile()"));
  CHECK(user_error([&] { (void)empty.stats(); }) != "<no error>");
}

TEST_CASE("function call checks its arguments") {
  damo::Graph graph;
  damo::Expr x = graph.input("x", damo::DType::Float32, {"n"});
  damo::CompileOptions options;
  options.backend = damo::Backend::Reference;
  damo::Function f = damo::compile({x}, {x * 2}, {}, options);
  CHECK(contains(user_error([&] { f({}); }), "takes 1 argument ("));
  CHECK(contains(user_error([&] { f({damo::Tensor()}); }), "undefined tensor"));
  CHECK(contains(user_error([&] { f({damo::Tensor(damo::DType::Float64, {2})}); }),
                 "the dtype must be f32"));
  CHECK(contains(user_error([&] {
                   f({damo::Tensor(damo::DType::Float32, {2, 2})});
                 }),
                 "the rank must be 1"));
}

TEST_CASE("function call checks class labels") {
  // Labels that a sparse cross-entropy reads straight from an argument must lie in
  // [0, classes) on both backends, for the loss and for its gradient alone.
  for (damo::Backend backend : {damo::Backend::Jit, damo::Backend::Reference}) {
    for (damo::DType label_dtype : {damo::DType::Int32, damo::DType::Int64}) {
      damo::Graph graph;
      damo::Expr z = graph.input("z", damo::DType::Float32, {"n", 3});
      damo::Expr y = graph.input("y", label_dtype, {"n"});
      damo::Expr loss = damo::mean(damo::softmax_crossentropy(z, y));
      damo::CompileOptions options;
      options.backend = backend;
      damo::Function f = damo::compile({z, y}, {loss}, {}, options);
      damo::Function slope = damo::compile(
          {z, y}, {damo::grad(damo::mean(damo::categorical_crossentropy(damo::softmax(z), y)), {z})[0]},
          {}, options);
      damo::Tensor logits = damo::Tensor::zeros(damo::DType::Float32, {3, 3});
      damo::Tensor good = damo::Tensor::from_list({0, 2, 1}, label_dtype);
      CHECK(f({logits, good})[0].item() == doctest::Approx(std::log(3.0)));
      CHECK(user_error([&] { f({logits, damo::Tensor::from_list({0, 3, 1}, label_dtype)}); }) ==
            "argument 2 ('y') contains the class label 3 at flat index 1, outside [0, 3): a "
            "cross-entropy of the function reads it as one of 3 classes, counted from 0; fix the "
            "label or give the model more classes");
      CHECK(contains(user_error([&] { slope({logits, damo::Tensor::from_list({-1, 0, 0}, label_dtype)}); }),
                     "class label -1 at flat index 0, outside [0, 3)"));

      // A symbolic class axis: the call's logits give the class count.
      damo::Expr wide = graph.input("wide", damo::DType::Float64, {"m", "c"});
      damo::Expr labels = graph.input("labels", label_dtype, {"m"});
      damo::Expr total = damo::sum(damo::softmax_crossentropy(wide, labels));
      damo::Function symbolic = damo::compile({wide, labels}, {total, damo::grad(total, {wide})[0]}, {}, options);
      damo::Tensor two_by_three = damo::Tensor::zeros(damo::DType::Float64, {2, 3});
      CHECK(symbolic({two_by_three, damo::Tensor::from_list({2, 0}, label_dtype)})[0].item() ==
            doctest::Approx(2 * std::log(3.0)));
      CHECK(contains(user_error([&] { symbolic({two_by_three, damo::Tensor::from_list({3, 1}, label_dtype)}); }),
                     "argument 2 ('labels') contains the class label 3 at flat index 0, outside [0, 3)"));
      damo::Tensor two_by_five = damo::Tensor::zeros(damo::DType::Float64, {2, 5});
      CHECK(symbolic({two_by_five, damo::Tensor::from_list({3, 4}, label_dtype)})[0].item() ==
            doctest::Approx(2 * std::log(5.0)));
      CHECK(contains(user_error([&] { symbolic({two_by_five, damo::Tensor::from_list({0, -1}, label_dtype)}); }),
                     "class label -1 at flat index 1, outside [0, 5)"));
    }
  }
}

TEST_CASE("function call checks class labels read through a reshape") {
  // Labels of shape (n, 2) flattened for a per-step loss over (n*2, 3) logits, as in a
  // sequence model: every element of the argument is read as a label, so all are checked.
  for (damo::Backend backend : {damo::Backend::Jit, damo::Backend::Reference}) {
    damo::Graph graph;
    damo::Expr z = graph.input("z", damo::DType::Float64, {"n", 2, 3});
    damo::Expr y = graph.input("y", damo::DType::Int64, {"n", 2});
    damo::Expr flat_logits = damo::reshape(z, {-1, 3});
    damo::Expr loss = damo::mean(damo::categorical_crossentropy(damo::softmax(flat_logits), damo::reshape(y, {-1})));
    damo::Expr turned = damo::mean(damo::softmax_crossentropy(damo::transpose(z, {1, 0, 2}),
                                                              damo::transpose(y, {1, 0})));
    damo::CompileOptions options;
    options.backend = backend;
    damo::Function f = damo::compile({z, y}, {loss, damo::grad(loss, {z})[0]}, {}, options);
    damo::Function g = damo::compile({z, y}, {turned}, {}, options);
    damo::Tensor logits = damo::Tensor::zeros(damo::DType::Float64, {2, 2, 3});
    CHECK(f({logits, damo::Tensor::from_list({{0, 2}, {1, 1}}, damo::DType::Int64)})[0].item() ==
          doctest::Approx(std::log(3.0)));
    damo::Tensor bad = damo::Tensor::from_list({{0, 1}, {2, 3}}, damo::DType::Int64);
    CHECK(user_error([&] { f({logits, bad}); }) ==
          "argument 2 ('y') contains the class label 3 at flat index 3, outside [0, 3): a "
          "cross-entropy of the function reads it as one of 3 classes, counted from 0; fix the "
          "label or give the model more classes");
    CHECK(contains(user_error([&] { g({logits, bad}); }), "class label 3 at flat index 3, outside [0, 3)"));

    // A broadcast may read no label at all, so its argument is not checked.
    damo::Expr single_label = graph.input("single_label", damo::DType::Int64, {1});
    damo::Expr rows = graph.input("rows", damo::DType::Float64, {"m", 4});
    damo::Function broadcast = damo::compile(
        {rows, single_label},
        {damo::mean(damo::softmax_crossentropy(rows, damo::broadcast_to(single_label, damo::Shape{"m"})))}, {},
        options);
    damo::Tensor none = damo::Tensor::zeros(damo::DType::Float64, {0, 4});
    CHECK(std::isnan(broadcast({none, damo::Tensor::from_list({4}, damo::DType::Int64)})[0].item()));
  }
}

TEST_CASE("evaluate and verify grad name a missing feed") {
  damo::Graph graph;
  damo::Expr x = graph.input("x", damo::DType::Float64, {2});
  damo::Expr cost = damo::sum(x * x);
  CHECK(contains(user_error([&] { damo::evaluate(cost); }), "'x'"));
  CHECK(contains(user_error([&] { damo::verify_grad(cost, {x}, {}); }), "needs an f64 feed"));
}

TEST_CASE("npy loading reports bad files") {
  CHECK(contains(user_error([] { damo::load_npy("/nonexistent/damo/file.npy"); }),
                 "/nonexistent/damo/file.npy"));
  CHECK(user_error([] { damo::parse_npy("\x93NUMPY\x01\x00"); }) != "<no error>");
  CHECK(user_error([] { damo::parse_npy(""); }) != "<no error>");
}

TEST_CASE("session errors carry a location") {
  damo::Session session;
  try {
    session.run("x = 1\ny = undefined_name + x", "script.damo");
    FAIL("expected a UserError");
  } catch (const damo::UserError& error) {
    CHECK(error.location().source_name == "script.damo");
    CHECK(error.location().line == 2);
    CHECK(error.location().column == 5);
    CHECK(contains(error.what(), "script.damo:2:5"));
  }
}

TEST_CASE("scatter factories check their shapes") {
  // The scatter kernels write where these nodes point without checks of their own, so a
  // mismatch must fail when the node is built.
  damo::Graph graph;
  damo::Expr v = graph.input("v", damo::DType::Float32, {4});
  damo::Expr i = graph.input("i", damo::DType::Int64, {2});
  CHECK(damo::slice_scatter(v, damo::Shape{8}, 0, 1, 8, 2).shape() == damo::Shape{8});
  CHECK(contains(user_error([&] { damo::slice_scatter(v, damo::Shape{2}, 0, 0, 4, 1); }),
                 "reaches outside axis 0 of size 2"));
  CHECK(contains(user_error([&] { damo::slice_scatter(v, damo::Shape{8}, 0, 0, 2, 1); }),
                 "selects 2 elements"));
  CHECK(contains(user_error([&] { damo::slice_scatter(v, damo::Shape{8}, 0, 0, 4, 0); }),
                 "step must not be zero"));
  CHECK(contains(user_error([&] {
                   damo::slice_scatter(v, damo::Shape{4, 4}, 0, 0, 4, 1);
                 }),
                 "rank"));
  // A symbolic target axis could be shorter than the slice at call time.
  CHECK(contains(user_error([&] { damo::slice_scatter(v, damo::Shape{"n"}, 0, 0, 4, 1); }),
                 "on a symbolic axis the start is 0 or more"));

  CHECK(damo::index_add(damo::take(v, i), i, damo::Shape{4}, 0).shape() == damo::Shape{4});
  CHECK(contains(user_error([&] { damo::index_add(v, i, damo::Shape{3}, 0); }),
                 "must have the shape (2,)"));
  CHECK(contains(user_error([&] { damo::index_add(i, v, damo::Shape{3}, 0); }),
                 "indices must be i32 or i64"));

  CHECK(contains(user_error([&] { damo::scatter_add_along_axis(v, i, damo::Shape{3}, 0); }),
                 "do not broadcast"));
  CHECK(contains(user_error([&] {
                   damo::scatter_add_along_axis(v, i, damo::Shape{3, 3}, 0);
                 }),
                 "rank"));
}

TEST_CASE("fused factories report user errors") {
  damo::Graph graph;
  damo::Expr v = graph.input("v", damo::DType::Float32, {4});
  damo::Expr m = graph.input("m", damo::DType::Float64, {4, 4});
  damo::Expr p0 = damo::param(graph, 0, damo::DType::Float32);
  CHECK(damo::fused_elementwise(p0 * 2, {v}).shape() == damo::Shape{4});
  CHECK(contains(user_error([&] { damo::fused_elementwise(v, {v}); }), "scalar expression"));
  CHECK(contains(user_error([&] { damo::fused_elementwise(p0, {}); }), "at least one operand"));
  CHECK(contains(user_error([&] {
                   damo::fused_elementwise(damo::param(graph, 3, damo::DType::Float32), {v});
                 }),
                 "uses param 3 but there are 1 operands"));
  CHECK(contains(user_error([&] { damo::fused_elementwise(p0, {m}); }), "param 0 is f32"));
  CHECK(contains(user_error([&] { damo::param(graph, -1, damo::DType::Float32); }), "negative"));
  CHECK(contains(user_error([&] { damo::fused_reduction(damo::OpKind::Add, p0, {v}, {}, false); }),
                 "is not sum, mean, max, min or prod"));
  CHECK(contains(user_error([&] { damo::fused_matmul(m, m, damo::Expr(), damo::OpKind::Add); }),
                 "is not a unary op"));
  CHECK(contains(user_error([&] { damo::fused_matmul(m, v, damo::Expr(), damo::OpKind::Param); }),
                 "must share a dtype"));
}

TEST_CASE("rebuild checks the input count") {
  damo::Graph graph;
  damo::Expr v = graph.input("v", damo::DType::Float32, {4});
  damo::Expr sum = v + 1;
  CHECK(damo::rebuild(*sum.node(), {v, v}).node() == (v + v).node());
  CHECK(contains(user_error([&] { damo::rebuild(*sum.node(), {}); }), "takes 2 inputs, got 0"));
}

TEST_CASE("undefined tensor operations name the undefined tensor") {
  damo::Tensor undefined;
  for (const std::string& message :
       {user_error([&] { (void)undefined.cast(damo::DType::Float64); }),
        user_error([&] { (void)undefined.permute({}); }),
        user_error([&] { (void)undefined.item(); }),
        user_error([&] { (void)undefined.reshape({1}); }),
        user_error([&] { (void)undefined.get_double(0); })}) {
    CAPTURE(message);
    CHECK(contains(message, "the tensor is undefined"));
  }
  CHECK(contains(user_error([&] { (void)undefined.cast(damo::DType::Float64); }), "Tensor::cast"));
}

TEST_CASE("compile rejects expressions of two graphs") {
  damo::Graph first;
  damo::Graph second;
  damo::Expr x = first.input("x", damo::DType::Float32, {3});
  damo::Expr y = second.input("y", damo::DType::Float32, {3});
  std::string outputs = user_error([&] { damo::compile({x, y}, {x * 2.0, y + 1.0}); });
  CHECK(contains(outputs, "input 2 belongs to another Graph than input 1"));

  // One shared variable in two graphs: an update through each would write it twice.
  auto variable = std::make_shared<damo::SharedVariable>("s", damo::Tensor::from_list({1, 2, 3}));
  damo::Expr s1 = first.shared(variable);
  damo::Expr s2 = second.shared(variable);
  std::string updates = user_error([&] { damo::compile({}, {}, {{s1, s1 + 1.0}, {s2, s2 * 10.0}}); });
  CHECK(contains(updates, "the variable of the update of 's' belongs to another Graph than the "
                          "variable of the update of 's'"));
  CHECK(variable->get_value().get_double(0) == 1.0);
}

TEST_CASE("compile names the update that needs a missing input") {
  damo::Graph graph;
  damo::Expr x = graph.input("x", damo::DType::Float32, {3});
  damo::Expr total = graph.shared("total", damo::Tensor::scalar(damo::DType::Float32, 0.0));
  std::string message = user_error([&] { damo::compile({}, {total}, {{total, total + damo::sum(x)}}); });
  CHECK(contains(message, "the update of 'total' needs input 'x'"));
  std::string output = user_error([&] { damo::compile({}, {damo::sum(x)}); });
  CHECK(contains(output, "output 1 needs input 'x'"));
}

TEST_CASE("reshape with -1 of a symbolic size names the quotient") {
  damo::Graph graph;
  damo::Expr x = graph.input("x", damo::DType::Float32, {"n"});
  std::string message = user_error([&] { (void)damo::reshape(x, {-1, 2}); });
  CHECK(contains(message, "-1 would stand for 'n' / 2"));
  damo::Expr rows = graph.input("rows", damo::DType::Float32, {"m", 3});
  CHECK(contains(user_error([&] { (void)damo::reshape(rows, {-1, 2}); }), "'m' * 3 / 2"));
}
