// File helpers shared by the model writer, the compile cache and the .npy reader.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <string>
#include <string_view>

namespace damo {

/// Reads a whole file; throws UserError naming the path and the system error.
std::string read_file(const std::string& path);

/// Reads a text stream of at most max_bytes bytes, in chunks. Throws UserError naming source
/// as soon as the stream passes max_bytes or contains a NUL byte, which text never does: an
/// endless or binary input such as /dev/zero stops at once instead of filling memory.
std::string read_text(std::istream& in, const std::string& source, std::size_t max_bytes);

/// read_text() of the file at path; "-" reads standard input.
std::string read_text_file(const std::string& path, std::size_t max_bytes);

/// Writes data to a temporary file beside path, flushes it to disk and renames it over
/// path, so that a reader sees either the old file or the complete new one, even when the
/// process is killed part way. Throws UserError naming the path on failure.
///
/// The temporary is named "<path>.tmp.<pid>.<8 hex digits>". A writer killed before the
/// rename leaves it behind. The next write to the same path removes such orphans when no
/// process with their pid runs and no writer holds their flock() lock. Readers of path
/// never open temporaries.
///
/// A symbolic link is followed: the file it points to is replaced and the link stays.
/// A pipe, a terminal or /dev/stdout cannot be renamed over, so such a path is written
/// through in place, which is not atomic.
void write_file_atomically(const std::string& path, std::string_view data);

}  // namespace damo
