// Crash-safe output: content goes to "<path>.tmp-<pid>" and is renamed over <path> only when complete,
// so a reader never sees a half-written file and a failed write leaves no file behind.
#pragma once
#include <string>
#include <string_view>

namespace tinyptq {

// Writes bytes to path atomically. Throws Error naming the path on any failure (missing directory,
// path is a directory, permission, full disk); on failure the temporary file is removed.
void write_file_atomic(const std::string& path, std::string_view bytes);

// Reads a whole file; throws Error naming the path if it cannot be opened or read.
std::string read_file(const std::string& path);

}  // namespace tinyptq
