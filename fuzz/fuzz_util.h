// Helpers shared by the fuzz targets: a per-process scratch directory (on /dev/shm when it exists, so file
// round trips cost no disk I/O) and plain file writes. Targets treat tinyptq::Error as the expected outcome
// of bad input; any other exception escapes to libFuzzer and is reported as a crash.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

namespace tinyptq::fuzz {

// A directory that lives as long as the process (removed at exit).
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path base = fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
    std::string tmpl = (base / "tinyptq-fuzz-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) std::abort();
    static const std::string path = tmpl;
    std::atexit([] {
      std::error_code e;
      fs::remove_all(path, e);
    });
    return tmpl;
  }();
  return dir;
}

inline void write_file(const std::string& path, std::string_view bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) std::abort();
  std::fclose(f);
}

inline std::string_view as_view(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace tinyptq::fuzz
