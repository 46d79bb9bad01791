// Tests of the damo program, run as a subprocess: scripts on standard input, files, -e,
// --json, --help, and the exit status after errors.
#include <doctest/doctest.h>

#include <fstream>

#include "frontend_test_util.h"

using damo::testing::run_damo;

TEST_CASE("cli script on standard input") {
  auto result = run_damo({"--backend=reference"},
                         "x = vector(f32, [2])\n"
                         "W = shared(\"W\", [[1.0, 2.0], [3.0, 4.0]])\n"
                         "f = function([x], x @ W)\n"
                         "1 + 2\n"
                         "f([1, 1])\n"
                         "x @ W\n");
  CHECK(result.status == 0);
  CHECK(result.out == "3 : i64 ()\n[4., 6.] : f32 (2,)\nx @ W : f32 (2,)\n");
  CHECK(result.err.empty());
}

TEST_CASE("cli stops a script at the first error") {
  auto result = run_damo({}, "1\nsoftmx(2)\n3\n");
  CHECK(result.status == 1);
  CHECK(result.out == "1 : i64 ()\n");
  CHECK(result.err ==
        "<stdin>:2:1: unknown function 'softmx'; did you mean 'softmax'?\n"
        "  softmx(2)\n  ^\n");
}

TEST_CASE("cli syntax error exit status") {
  auto result = run_damo({}, "x = (1 +\n");
  CHECK(result.status == 1);
  CHECK(result.out.empty());
  CHECK(result.err == "<stdin>:1:5: '(' is never closed; add ')'\n  x = (1 +\n      ^\n");
}

TEST_CASE("cli snippet") {
  auto result = run_damo({"-e", "a = [1, 2]\nsum(a) * 2"});
  CHECK(result.status == 0);
  CHECK(result.out == "6 : i64 ()\n");
}

TEST_CASE("cli snippet error") {
  auto result = run_damo({"-e", "1 +"});
  CHECK(result.status == 1);
  CHECK(result.err.starts_with("<string>:1:4: expected an expression, found end of input"));
}

TEST_CASE("cli script file") {
  std::string path = std::string(DAMO_BINARY_DIR) + "/tests/cli_script.damo";
  {
    std::ofstream file(path);
    file << "# a comment\nv = arange(4)\nv[1:3]\n:type v\nv[9]\nv\n";
  }
  auto result = run_damo({path});
  CHECK(result.status == 1);
  CHECK(result.out == "[1, 2] : i64 (2,)\ni64 (4,)\n");
  CHECK(result.err.starts_with(path + ":5:3: index 9 is out of range for axis 0 of size 4"));
}

TEST_CASE("cli missing script file") {
  auto result = run_damo({"/nonexistent/script.damo"});
  CHECK(result.status == 1);
  CHECK(result.err.find("/nonexistent/script.damo") != std::string::npos);
}

TEST_CASE("cli json output") {
  auto result = run_damo({"--json", "-e",
                          "[[1, 2, 3], [4, 5, 6]] * 0.5\n[nan, inf, -inf]\nx = vector(f32)\n"
                          "exp(x)"});
  CHECK(result.status == 0);
  CHECK(result.out ==
        "{\"dtype\": \"f64\", \"shape\": [2, 3], \"data\": [[0.5, 1, 1.5], [2, 2.5, 3]]}\n"
        "{\"dtype\": \"f64\", \"shape\": [3], \"data\": [\"nan\", \"inf\", \"-inf\"]}\n"
        "{\"expr\": \"exp(x)\", \"dtype\": \"f32\", \"shape\": [\"x_0\"]}\n");
}

TEST_CASE("cli help") {
  auto result = run_damo({"--help"});
  CHECK(result.status == 0);
  for (const char* text : {"usage: damo", "-e CODE", "--json", ":dot EXPR FILE", ":time EXPR",
                           "DAMO_HISTORY", "Exit status"})
    CHECK(result.out.find(text) != std::string::npos);
}

TEST_CASE("cli invalid arguments") {
  CHECK(run_damo({"--frobnicate"}).status == 2);
  CHECK(run_damo({"-e"}).status == 2);
  CHECK(run_damo({"--backend=gpu"}).status == 2);
  CHECK(run_damo({"-e", "1", "file.damo"}).status == 2);
}

TEST_CASE("cli quit stops the script") {
  auto result = run_damo({}, "1\n:quit\n2\n");
  CHECK(result.status == 0);
  CHECK(result.out == "1 : i64 ()\n");
}

TEST_CASE("cli empty input") {
  auto result = run_damo({}, "");
  CHECK(result.status == 0);
  CHECK(result.out.empty());
  CHECK(result.err.empty());
}

TEST_CASE("cli jit function") {
  auto result = run_damo({}, "x = vector(f32)\nf = function([x], sum(exp(x)))\nf([0, 0, 0])\n");
  CHECK(result.status == 0);
  CHECK(result.out == "3. : f32 ()\n");
}

TEST_CASE("cli several snippets and option forms") {
  // Several -e run in order as one script.
  auto several = run_damo({"-e", "x = 2", "-e", "x * 3"});
  CHECK(several.status == 0);
  CHECK(several.out == "6 : i64 ()\n");
  // --backend takes its value after = or as the next argument.
  auto spaced = run_damo({"--backend", "reference", "-e", "1 + 1"});
  CHECK(spaced.status == 0);
  CHECK(spaced.out == "2 : i64 ()\n");
  auto missing = run_damo({"--backend"});
  CHECK(missing.status == 2);
  CHECK(missing.err == "damo: --backend needs jit or reference, as in --backend=reference\n");
  // After --, a name that starts with '-' is the script file.
  std::string script = std::string(DAMO_BINARY_DIR) + "/tests/frontend_scratch/-dash.damo";
  {
    std::ofstream out(script);
    out << "2 * 2\n";
  }
  auto dashed = run_damo({"--", script});
  CHECK(dashed.status == 0);
  CHECK(dashed.out == "4 : i64 ()\n");
  std::remove(script.c_str());
}

TEST_CASE("cli failed output write exit status") {
  // Printed values that cannot be written make the exit status 1, not 0.
  std::string damo = std::string(DAMO_BINARY_DIR) + "/tools/damo";
  int raw = std::system(("'" + damo + "' -e '1 + 1' > /dev/full 2> /dev/null").c_str());
  CHECK(WIFEXITED(raw));
  CHECK(WEXITSTATUS(raw) == 1);
}

TEST_CASE("cli thread count from the environment") {
  const std::string code = "x = vector(f32)\nf = function([x], x * 2)\nf([1, 2])";
  // Set but empty counts as unset, without a warning.
  auto empty = run_damo({"-e", code}, "", "DAMO_NUM_THREADS=");
  CHECK(empty.status == 0);
  CHECK(empty.out == "[2., 4.] : f32 (2,)\n");
  CHECK(empty.err == "");
  auto invalid = run_damo({"-e", code}, "", "DAMO_NUM_THREADS=many");
  CHECK(invalid.status == 0);
  CHECK(invalid.err.find("ignoring DAMO_NUM_THREADS='many'") != std::string::npos);
}
