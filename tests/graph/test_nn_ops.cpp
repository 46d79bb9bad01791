// Shape inference of the neural-network ops, the ops autodiff introduces and the fused ops.
#include <doctest/doctest.h>

#include "damo/graph/ops.h"

using namespace damo;

namespace {

constexpr DType F32 = DType::Float32;
constexpr DType F64 = DType::Float64;
constexpr DType I32 = DType::Int32;
constexpr DType I64 = DType::Int64;

using Ints = std::vector<std::int64_t>;

}  // namespace

TEST_CASE("softmax shapes and axis") {
  Graph g;
  Expr x = g.input("x", F32, {"n", 3});
  CHECK(softmax(x).shape() == Shape{"n", 3});
  CHECK(softmax(x)->attrs().ints == Ints{1});
  CHECK(softmax(x, 0)->attrs().ints == Ints{0});
  CHECK(softmax(x, -2).node() == softmax(x, 0).node());
  CHECK(log_softmax(x).shape() == Shape{"n", 3});
  CHECK(log_softmax(x)->op() == OpKind::LogSoftmax);
  Expr i = g.input("i", I32, {4});
  CHECK(softmax(i).dtype() == F32);
  CHECK(softmax(i)->input(0)->op() == OpKind::Cast);
}

TEST_CASE("crossentropy shapes") {
  Graph g;
  Expr p = g.input("p", F32, {"n", 3});
  Expr dense = g.input("t", F32, {"n", 3});
  Expr labels = g.input("labels", I64, {"n"});
  CHECK(categorical_crossentropy(p, dense).shape() == Shape{"n"});
  CHECK(categorical_crossentropy(p, dense)->op() == OpKind::CategoricalCrossentropy);
  CHECK(categorical_crossentropy(p, labels).shape() == Shape{"n"});
  CHECK(categorical_crossentropy(p, labels)->op() == OpKind::SparseCategoricalCrossentropy);
  CHECK(categorical_crossentropy(p, labels).dtype() == F32);

  Expr batch = g.input("batch", F64, {2, "n", 5});
  Expr classes = g.input("classes", I32, {2, "n"});
  CHECK(categorical_crossentropy(batch, classes).shape() == Shape{2, "n"});
  CHECK(categorical_crossentropy(batch, classes).dtype() == F64);

  Expr v = g.input("v", F32, {4});
  Expr k = g.input("k", I64, {});
  CHECK(categorical_crossentropy(v, k).shape() == Shape{});

  Expr col = g.input("col", F32, {"n", 1});
  CHECK(binary_crossentropy(col, dense).shape() == Shape{"n", 3});
  CHECK(binary_crossentropy(col, dense)->op() == OpKind::BinaryCrossentropy);
  Expr bits = g.input("bits", I32, {"n", 3});
  CHECK(binary_crossentropy(bits, bits).dtype() == F32);
  CHECK(binary_crossentropy(col, bits).dtype() == F32);
}

TEST_CASE("gradient op shapes") {
  Graph g;
  Expr src = g.input("src", F32, {2, 3});
  Expr i = g.input("i", I64, {2});
  Expr idx = g.input("idx", I64, {2, 3});
  Expr scattered = slice_scatter(src, {5, 3}, 0, 1, 3, 1);
  CHECK(scattered.shape() == Shape{5, 3});
  CHECK(scattered->attrs().ints == Ints{0, 1, 3, 1});
  CHECK(slice_scatter(src, {2, 5}, -1, 0, 3, 1)->attrs().ints == Ints{1, 0, 3, 1});
  CHECK(index_add(src, i, {7, 3}, 0).shape() == Shape{7, 3});
  CHECK(index_add(src, i, {7, 3}, -2)->attrs().ints == Ints{0});
  CHECK(scatter_add_along_axis(src, idx, {2, 9}, 1).shape() == Shape{2, 9});
  CHECK(scatter_add_along_axis(src, idx, {2, 9}, 1)->op() == OpKind::ScatterAddAlongAxis);
}

TEST_CASE("softmax crossentropy shapes") {
  Graph g;
  Expr logits = g.input("logits", F32, {"n", 3});
  Expr dense = g.input("t", F32, {"n", 3});
  Expr labels = g.input("labels", I64, {"n"});
  Expr upstream = g.input("g", F32, {"n"});
  CHECK(softmax_crossentropy(logits, dense).shape() == Shape{"n"});
  CHECK(softmax_crossentropy(logits, dense)->op() == OpKind::SoftmaxCrossEntropy);
  CHECK(softmax_crossentropy(logits, labels)->op() == OpKind::SparseSoftmaxCrossEntropy);
  CHECK(softmax_crossentropy_grad(logits, dense, upstream).shape() == Shape{"n", 3});
  CHECK(softmax_crossentropy_grad(logits, dense, upstream)->op() ==
        OpKind::SoftmaxCrossEntropyGrad);
  CHECK(softmax_crossentropy_grad(logits, labels, upstream).shape() == Shape{"n", 3});
  CHECK(softmax_crossentropy_grad(logits, labels, upstream)->op() ==
        OpKind::SparseSoftmaxCrossEntropyGrad);
}

TEST_CASE("fused matmul shapes") {
  Graph g;
  Expr a = g.input("a", F32, {"n", 4});
  Expr at = g.input("at", F32, {4, "n"});
  Expr b = g.input("b", F32, {4, 3});
  Expr bt = g.input("bt", F32, {3, 4});
  Expr bias = g.input("bias", F32, {3});
  CHECK(fused_matmul(a, b, bias, OpKind::Sigmoid).shape() == Shape{"n", 3});
  CHECK(fused_matmul(at, b, bias, OpKind::Param, true).shape() == Shape{"n", 3});
  CHECK(fused_matmul(a, bt, Expr(), OpKind::Relu, false, true).shape() == Shape{"n", 3});
  CHECK(fused_matmul(at, bt, Expr(), OpKind::Param, true, true).shape() == Shape{"n", 3});
  Expr f = fused_matmul(at, b, bias, OpKind::Tanh, true);
  CHECK(f->input_count() == 3);
  CHECK(f->attrs().sub_op == OpKind::Tanh);
  CHECK(f->attrs().ints == Ints{1, 0});
  CHECK(fused_matmul(a, b, Expr(), OpKind::Param)->input_count() == 2);
}

TEST_CASE("fused elementwise and reduction shapes") {
  Graph g;
  Expr col = g.input("col", F32, {"n", 1});
  Expr row = g.input("row", F32, {3});
  Expr p0 = param(g, 0, F32);
  Expr p1 = param(g, 1, F32);
  CHECK(p0.shape() == Shape{});
  CHECK(p0->attrs().ints == Ints{0});
  CHECK(param(g, 0, F64).node() != p0.node());

  Expr body = sigmoid(p0 + p1);
  Expr f = fused_elementwise(body, {col, row});
  CHECK(f.shape() == Shape{"n", 3});
  CHECK(f.dtype() == F32);
  CHECK(f->attrs().body == body.node());
  CHECK(fused_elementwise(p0 < p1, {col, row}).dtype() == DType::Bool);

  Expr r = fused_reduction(OpKind::Sum, p0 * p1, {col, row}, 1, false);
  CHECK(r.shape() == Shape{"n"});
  CHECK(r->attrs().sub_op == OpKind::Sum);
  CHECK(fused_reduction(OpKind::Max, p0, {col, row}, 1, true).shape() == Shape{"n", 1});
  CHECK(fused_reduction(OpKind::Sum, p0, {col, row}, {}, false).shape() == Shape{});
  CHECK(fused_reduction(OpKind::Min, p0, {col, row}, -2, false).shape() == Shape{3});
  CHECK(fused_reduction(OpKind::Min, p0, {col, row}, -2, false)->attrs().ints == Ints{0});
}
