// The fuzz harnesses. Each takes one fuzzer input and returns a description of the failure
// it found, or an empty string when the input passed. fuzz_entry.cpp wraps one of them as
// libFuzzer's entry point; tests/reliability/test_fuzz_corpus.cpp replays the stored
// corpora through them in the ordinary test suite.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace damo::fuzz {

/// The damo-segment CSV reader: parse_csv() either throws UserError or returns a table
/// whose columns all have one cell per row.
std::string csv_reader(const std::uint8_t* data, std::size_t size);

/// The damo-segment model reader: parse_model() either throws UserError or returns a model
/// that serializes back to the same bytes.
std::string model_reader(const std::uint8_t* data, std::size_t size);

/// The expression language's parser: parse_program() either throws a UserError located in
/// the text or returns statements whose trees print.
std::string expression_parser(const std::uint8_t* data, std::size_t size);

/// Differential test of the JIT: decodes a random well-typed graph and its arguments,
/// compiles it and checks that the results match the reference evaluator's.
std::string jit_differential(const std::uint8_t* data, std::size_t size);

}  // namespace damo::fuzz
