// Crash-safe output: content goes to "<path>.tmp-<pid>" and is renamed over <path> only when complete,
// so a reader never sees a half-written file and a failed write leaves no file behind.
// An existing target that is not a regular file (a character device such as /dev/null or /dev/full, a
// FIFO, /dev/stdout) is written in place instead: renaming over it would replace the node. A symlink to a
// regular file is resolved and its target replaced atomically, so the link survives.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace tinyptq {

// Writes bytes to path atomically. Throws Error naming the path on any failure (missing directory,
// path is a directory, permission, full disk); on failure the temporary file is removed.
void write_file_atomic(const std::string& path, std::string_view bytes);

// Fails now (Error naming the path) if path could not be written later: it is a directory, its directory
// is missing or read-only, or a temporary file cannot be created beside it. Leaves nothing behind. For
// commands with several outputs, so that a bad last path does not leave the first outputs written.
void check_writable(const std::string& path);

// Several outputs that appear together: add() writes each to its temporary file (so a full disk or any
// write error shows up before any target is touched), commit() renames them all. Whatever was not
// committed is removed when the object goes away. Non-regular targets are written in place by commit().
class StagedFiles {
 public:
  StagedFiles() = default;
  StagedFiles(const StagedFiles&) = delete;
  StagedFiles& operator=(const StagedFiles&) = delete;
  ~StagedFiles();

  void add(const std::string& path, std::string_view bytes);
  void commit();

 private:
  struct Entry {
    std::string path;  // what the user named (for messages)
    std::string target;  // where the content goes (symlinks resolved)
    std::string tmp;     // empty: written in place at commit
    std::string in_place_bytes;
  };
  std::vector<Entry> entries_;
};

// Reads a whole file; throws Error naming the path if it cannot be opened or read.
std::string read_file(const std::string& path);

}  // namespace tinyptq
