// Extraction of a downloaded .tar / .tar.gz (libarchive) that cannot write outside its destination: every
// entry must be a regular file or directory under one expected root directory, with a relative path free
// of ".." components; symlinks, hard links, devices, absolute paths and duplicates are refused. The
// entries are written into a fresh staging directory, and only a complete extraction is renamed into place.
#pragma once
#include <cstdint>
#include <string>

namespace tinyptq::fetch {

struct ExtractResult {
  int64_t files = 0;
  int64_t bytes = 0;
};

// Extracts `archive_path` so that `dest_dir/root` appears atomically (one rename). `root` must not exist
// yet. Throws Error naming the archive and the offending entry; nothing is left in dest_dir on failure.
ExtractResult extract_tar_root(const std::string& archive_path, const std::string& dest_dir, const std::string& root,
                               int64_t max_bytes);

}  // namespace tinyptq::fetch
