// Compiles an expression written in Damo's expression language and runs it.
//
// Usage: compile_expression ['EXPRESSION']
//
// The expression may use x, a float32 vector of any length; the default is
// "sum(x * x) / 2". A Session declares x and turns the text into a graph node, compile()
// turns the node into native code, and the program calls it on x = [1, 2, 3, 4]. A
// mistake in the text is a damo::UserError whose what() shows the line, the column and a
// caret under the error.
#include <damo/damo.h>
#include <fmt/format.h>

#include <string>

int main(int argc, char** argv) {
  std::string text = argc > 1 ? argv[1] : "sum(x * x) / 2";

  damo::Session session;
  session.run("x = vector(f32, n)");
  damo::Expr x = session.evaluate("x").expr();

  try {
    damo::Value value = session.evaluate(text);
    if (!value.is(damo::Value::Kind::Tensor)) {
      fmt::print(stderr, "'{}' is {}, not a tensor expression\n", text, value.kind_name());
      return 1;
    }
    damo::Function f = damo::compile({x}, {value.expr()});
    damo::Tensor result = f({damo::Tensor::from_list({1, 2, 3, 4})})[0];
    fmt::print("{} = {}\n", damo::to_infix(value.expr()), result.to_string());
  } catch (const damo::UserError& error) {
    fmt::print(stderr, "error: {}\n", error.what());
    return 1;
  }
  return 0;
}
