// File helpers shared by the model writer, the compile cache and the .npy reader.
#pragma once

#include <string>
#include <string_view>

namespace damo {

/// Reads a whole file; throws UserError naming the path and the system error.
std::string read_file(const std::string& path);

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
