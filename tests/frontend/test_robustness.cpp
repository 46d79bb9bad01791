// Hostile input: deep nesting, huge literals, unclosed brackets, stray bytes, invalid UTF-8,
// long statement chains and random token soup. Every input must end in a value or a
// UserError; none may crash, hang or raise an internal error.
#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>

#include "child_process.h"
#include "frontend_test_util.h"

using namespace damo;
using damo::testing::error_of;
using damo::testing::run_damo;

namespace {

constexpr int kDeep = 100000;

std::string repeat(const std::string& text, int count) {
  std::string out;
  out.reserve(text.size() * static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) out += text;
  return out;
}

// Runs code and reports how it ended: "ok", "user error" or the unexpected exception.
std::string outcome(const std::string& code) {
  Session session(damo::testing::reference_options());
  try {
    session.run(code, "<fuzz>");
  } catch (const UserError&) {
    return "user error";
  } catch (const std::exception& e) {
    return std::string("unexpected: ") + e.what();
  }
  return "ok";
}

// The virtual memory size of this process in bytes, from /proc/self/statm.
std::size_t virtual_memory_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0;
  statm >> pages;
  return pages * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

// Runs code in a child process whose address space may grow by only headroom bytes, and
// returns the message of the UserError it raises, or how the child ended otherwise.
std::string error_with_memory_limit(const std::string& code, std::size_t headroom) {
  return damo::testing::text_from_child([&]() -> std::string {
    try {
      Session session(damo::testing::reference_options());
      rlimit limit{};
      limit.rlim_cur = limit.rlim_max = virtual_memory_bytes() + headroom;
      if (::setrlimit(RLIMIT_AS, &limit) != 0) return "cannot limit the address space";
      session.run(code, "<big>");
    } catch (const UserError& e) {
      return e.message();
    } catch (const std::exception& e) {
      return std::string("unexpected: ") + e.what();
    }
    return "no error";
  });
}

// A list literal of count integers, as sum([0, 1, ...]).
std::string sum_of_integers(int count) {
  std::string code = "sum([";
  for (int i = 0; i < count; ++i) code += (i == 0 ? "" : ", ") + std::to_string(i);
  return code + "])";
}

}  // namespace

TEST_CASE("robustness deep parentheses") {
  auto e = error_of(repeat("(", kDeep) + "1" + repeat(")", kDeep));
  CHECK(e.message.find("nested too deeply") != std::string::npos);
}

TEST_CASE("robustness deep prefix minus") {
  auto e = error_of(repeat("-(", kDeep) + "1" + repeat(")", kDeep));
  CHECK(e.message.find("nested too deeply") != std::string::npos);
  auto f = error_of(repeat("-", kDeep) + "x");
  CHECK(f.message.find("nested too deeply") != std::string::npos);
}

TEST_CASE("robustness deep not") {
  auto e = error_of(repeat("not ", kDeep) + "true");
  CHECK(e.message.find("nested too deeply") != std::string::npos);
}

TEST_CASE("robustness deep lists") {
  auto e = error_of(repeat("[", kDeep) + "1" + repeat("]", kDeep));
  CHECK(e.message.find("nested too deeply") != std::string::npos);
}

TEST_CASE("robustness long power chain") {
  auto e = error_of("2" + repeat(" ** 2", kDeep));
  CHECK(e.message.find("nested too deeply") != std::string::npos);
}

TEST_CASE("robustness long operator chain") {
  auto e = error_of("1" + repeat(" + 1", kDeep));
  CHECK(e.message.find("nested too deeply") != std::string::npos);
}

TEST_CASE("robustness long postfix chains") {
  CHECK(error_of("f" + repeat("()", kDeep)).message.find("nested too deeply") != std::string::npos);
  CHECK(error_of("x" + repeat("[0]", kDeep)).message.find("nested too deeply") !=
        std::string::npos);
}

TEST_CASE("robustness unclosed brackets at the end of input") {
  CHECK(error_of(repeat("(", kDeep)).message.find("nested too deeply") != std::string::npos);
  CHECK(error_of("f(1, [2, 3").message == "'[' is never closed; add ']'");
  CHECK(error_of("f(1, [2, 3]").message == "'(' is never closed; add ')'");
  CHECK(error_of("fused{$0").message == "'{' is never closed; add '}'");
}

TEST_CASE("robustness huge literals") {
  CHECK(error_of(repeat("9", 10000)).message ==
        "integer literal 999999999999999999999999... (10000 digits) does not fit in i64 (the range is "
        "-9223372036854775808 to 9223372036854775807); write it as a float by adding .0");
  CHECK(error_of("1" + repeat("0", 400) + ".0").message.find("too large for f64") !=
        std::string::npos);
  CHECK(outcome("0." + repeat("0", 400) + "1") == "ok");
  CHECK(outcome("[" + repeat("1, ", 10000) + "1]") == "ok");
}

TEST_CASE("robustness every single byte") {
  for (int byte = 0; byte < 256; ++byte) {
    CAPTURE(byte);
    std::string code(1, static_cast<char>(byte));
    std::string result = outcome(code);
    CHECK(result.find("unexpected") == std::string::npos);
    CHECK(outcome("x = 1 " + code + " 2").find("unexpected") == std::string::npos);
  }
}

TEST_CASE("robustness invalid utf8") {
  for (const char* bytes : {"\x80", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                            "\xf0\x9f\x98", "\xfe", "\xc3"}) {
    CAPTURE(bytes);
    CHECK(outcome(bytes) == "user error");
    CHECK(outcome(std::string("\"") + bytes + "\"") == "user error");
    CHECK(outcome(std::string("1 # ") + bytes) == "user error");
  }
  // Valid multi-byte text is fine in strings and comments.
  CHECK(outcome("\"日本 😀\" # ünïcode") == "ok");
}

TEST_CASE("robustness long statement chain") {
  // 100,000 statements build a graph 100,000 nodes deep, which evaluates and prints
  // without recursion.
  std::string code = "y = 1\n" + repeat("y = y + 1\n", kDeep) + "y";
  CHECK(damo::testing::output(code) == "100001 : i64 ()");
  std::string symbolic = "x = vector(f32)\n" + repeat("x = x * 2\n", kDeep) + ":type x\n";
  CHECK(damo::testing::output(symbolic) == "f32 (x_0,)");
}

TEST_CASE("robustness deep graph prints") {
  std::string code = "x = vector(f32)\n" + repeat("x = -x\n", 20000) + "x";
  std::string out = damo::testing::output(code);
  CHECK(out.ends_with("x : f32 (x_0,)"));
  CHECK(out.size() > 20000);
}

TEST_CASE("robustness random token soup") {
  const std::vector<std::string> alphabet = {
      "x",     "X",   "v",    "W",           "sum",   "softmax", "reshape",   "take",  "one_hot",
      "f32",   "i64", "grad", "concatenate", "where", "slice",   "transpose", "fused", "fused_sum",
      "$0",    "$1",  "0",    "1",           "2",     "-1",      "0.5",       "nan",   "true",
      "\"s\"", "+",   "-",    "*",           "/",     "//",      "%",         "@",     "**",
      "==",    "<",   "and",  "or",          "not",   "(",       ")",         "[",     "]",
      "{",     "}",   ",",    ":",           "=",     "axis=",   "keepdims=",
  };
  const std::string prelude =
      "x = vector(f32, [3])\nX = matrix(f32, [n, 3])\nv = [1.0, 2.0, 3.0]\n"
      "W = shared(\"W\", ones(f32, [3, 3]))\n";
  std::mt19937 engine(12345);
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::uniform_int_distribution<int> length(1, 12);
  int unexpected = 0;
  for (int program = 0; program < 3000; ++program) {
    std::string line;
    for (int i = length(engine); i > 0; --i) line += alphabet[pick(engine)] + " ";
    std::string result = outcome(prelude + line);
    if (result.find("unexpected") != std::string::npos) {
      ++unexpected;
      CAPTURE(line);
      CAPTURE(result);
      CHECK(result == "ok or user error");
    }
  }
  CHECK(unexpected == 0);
}

namespace {

// Random well-formed expressions: builtin calls with random arguments and keywords,
// operators, subscripts and lists over a few declared names.
class ExpressionGenerator {
 public:
  explicit ExpressionGenerator(std::vector<std::string> functions)
      : functions_(std::move(functions)), engine_(2024) {}

  std::string expression(int depth) {
    if (depth <= 0) return atom();
    switch (below(6)) {
    case 0: {
      static const char* kOperators[] = {"+", "-",  "*",  "/", "//",  "%",
                                         "@", "**", "==", "<", "and", "or"};
      return "(" + expression(depth - 1) + " " + kOperators[below(12)] + " " +
             expression(depth - 1) + ")";
    }
    case 1: return "-" + expression(depth - 1);
    case 2: {
      std::string index = below(2) ? std::to_string(below(4) - 2)
                                   : std::to_string(below(3)) + ":" + std::to_string(below(4) - 1);
      return expression(depth - 1) + "[" + index + "]";
    }
    case 3: return "[" + expression(depth - 1) + ", " + expression(depth - 1) + "]";
    default:
      return functions_[static_cast<std::size_t>(below(static_cast<int>(functions_.size())))] +
             "(" + arguments(depth) + ")";
    }
  }

 private:
  int below(int n) { return std::uniform_int_distribution<int>(0, n - 1)(engine_); }

  std::string atom() {
    static const char* kAtoms[] = {
        "-1",  "0",   "1", "2", "0.5", "-2.5", "true", "nan", "[0, 2]", "[[1, 2], [3, 4]]",
        "f32", "i64", "x", "X", "v",   "W",    "M",    "y",   "b",      "t"};
    return kAtoms[below(20)];
  }

  std::string arguments(int depth) {
    std::string out;
    int count = below(4);
    for (int i = 0; i < count; ++i) out += (i > 0 ? ", " : "") + expression(depth - 1);
    if (below(3) == 0) {
      static const char* kKeywords[] = {"axis=", "keepdims=", "dtype=", "perm=", "seed="};
      out += (count > 0 ? ", " : "") + std::string(kKeywords[below(5)]) + expression(depth - 1);
    }
    return out;
  }

  std::vector<std::string> functions_;
  std::mt19937 engine_;
};

}  // namespace

TEST_CASE("robustness random well-formed programs") {
  // Builtins that allocate by a size argument are left out, so that no program takes long.
  std::vector<std::string> functions;
  Session names(damo::testing::reference_options());
  for (const std::string& name : names.completions("")) {
    bool allocates = name == "zeros" || name == "ones" || name == "full" || name == "arange" ||
                     name == "rand" || name == "randn" || name == "function";
    if (name.size() > 1 && !allocates) functions.push_back(name);
  }
  const std::string prelude =
      "x = vector(f32, [3])\nX = matrix(f32, [n, 3])\nv = [1.0, 2.0, 3.0]\n"
      "M = [[1, 2], [3, 4]]\ny = vector(i64, [n])\nb = vector(bool, [3])\n"
      "t = tensor(f32, [2, 3])\nW = shared(\"W\", ones(f32, [3, 3]))\n";
  ExpressionGenerator generator(functions);
  int ok = 0;
  int unexpected = 0;
  for (int program = 0; program < 5000; ++program) {
    std::string line = generator.expression(1 + program % 3);
    std::string result = outcome(prelude + line);
    if (result == "ok") ++ok;
    if (result.find("unexpected") != std::string::npos) {
      ++unexpected;
      CAPTURE(line);
      CHECK(result == "ok or user error");
    }
  }
  CHECK(unexpected == 0);
  // The generator reaches evaluation, not only error paths.
  CHECK(ok > 500);
}

TEST_CASE("robustness cli deep nesting does not crash") {
  auto result = run_damo({}, repeat("(", kDeep) + "1" + repeat(")", kDeep) + "\n");
  CHECK(result.status == 1);
  CHECK(result.err.find("nested too deeply") != std::string::npos);
}

TEST_CASE("robustness cli binary garbage") {
  std::string garbage;
  std::mt19937 engine(7);
  for (int i = 0; i < 5000; ++i) garbage += static_cast<char>(engine() & 0xff);
  auto result = run_damo({}, garbage);
  CHECK(result.status == 1);
  CHECK_FALSE(result.err.empty());
}

TEST_CASE("robustness number list literal") {
  // A million integers make one i64 tensor, without a graph node per number.
  Session session(damo::testing::reference_options());
  std::string code = sum_of_integers(1000000);
  CHECK(session.run(code) == std::vector<std::string>{"499999500000 : i64 ()"});
  CHECK(session.graph().node_count() < 10);
}

// GCC defines __SANITIZE_ADDRESS__ under AddressSanitizer, and clang reports it through
// __has_feature.
#if defined(__SANITIZE_ADDRESS__)
#define DAMO_TEST_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DAMO_TEST_UNDER_ASAN 1
#endif
#endif

TEST_CASE("robustness out of memory in a list literal") {
#if defined(DAMO_TEST_UNDER_ASAN)
  // AddressSanitizer reserves terabytes of address space, so RLIMIT_AS cannot bound it.
  return;
#endif
  // 4 million numbers take over 100 bytes each in the syntax tree, beyond 256 MiB, while
  // the 31 MB of source text and its copies for the message fit.
  std::string message = error_with_memory_limit(sum_of_integers(4000000), std::size_t{256} << 20);
  CHECK(message ==
        "out of memory while parsing this statement; a list literal takes memory for every "
        "number in it, so save large data to a .npy file and read it with load_npy(path)");
}
