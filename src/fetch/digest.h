// SHA-256 and MD5 of a file (OpenSSL EVP), and the check of a file against an artifact's pinned values.
#pragma once
#include <cstdint>
#include <string>

#include "fetch/manifest.h"

namespace tinyptq::fetch {

struct FileDigests {
  int64_t bytes = 0;
  std::string sha256;  // lowercase hex
  std::string md5;     // lowercase hex
};

// Reads the file once. Throws Error naming the path if it cannot be read.
FileDigests digest_file(const std::string& path);

// Throws Error naming `path` and the artifact when the size or a pinned checksum (sha256, md5) differs, or
// when the artifact pins no checksum at all (nothing unverified is ever placed).
void verify_artifact(const std::string& path, const Artifact& a);

}  // namespace tinyptq::fetch
