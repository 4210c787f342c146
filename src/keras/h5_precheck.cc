#include "keras/h5_precheck.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string_view>

#include "core/error.h"

namespace tinyptq {

namespace {

constexpr std::string_view kSignature("\x89HDF\r\n\x1a\n", 8);

uint64_t load_le(const unsigned char* p, int n) {
  uint64_t v = 0;
  for (int b = n - 1; b >= 0; --b) v = (v << 8) | p[b];
  return v;
}

// "Size of lengths" from the superblock (at 0, 512, 1024, ...): byte 14 in versions 0/1, byte 10 in 2/3.
int size_of_lengths(std::string_view file) {
  for (size_t at = 0; at + 16 <= file.size(); at = at == 0 ? 512 : at * 2) {
    if (file.substr(at, 8) != kSignature) continue;
    const unsigned version = uint8_t(file[at + 8]);
    const unsigned n = uint8_t(file[at + (version <= 1 ? 14 : 10)]);
    return n == 2 || n == 4 || n == 8 ? int(n) : 8;
  }
  return 8;
}

// Mirrors the object walk of H5HG__cache_heap_deserialize over one collection. Returns "" if it is sound.
std::string collection_problem(std::string_view file, size_t at, int len_size) {
  const size_t header = 8 + size_t(len_size);      // "GCOL", version, 3 reserved, collection size
  const size_t object_header = 8 + size_t(len_size);  // index, references, 4 reserved, object size
  if (file.size() - at < header) return "";       // libhdf5 itself refuses a collection past the end
  if (uint8_t(file[at + 4]) != 1) return "";      // not a version-1 collection: not one libhdf5 reads
  const auto* base = reinterpret_cast<const unsigned char*>(file.data()) + at;
  const uint64_t size = load_le(base + 8, len_size);
  if (size > file.size() - at) return "";  // libhdf5 fails to read it whole, before walking it
  for (uint64_t p = header; p < size;) {
    if (size - p < object_header) break;  // trailing free space
    const unsigned index = unsigned(load_le(base + p, 2));
    const uint64_t object_size = load_le(base + p + 8, len_size);
    if (index == 0) {  // free space: its size is the distance to the next object
      if (object_size == 0) return "a free-space object of size 0";
      if (object_size > size - p) return "free space beyond the collection";
      p += object_size;
      continue;
    }
    if (object_size > size - p - object_header) return "object " + std::to_string(index) + " overruns the collection";
    p += object_header + (object_size + 7) / 8 * 8;
  }
  return "";
}

}  // namespace

void check_hdf5_global_heaps(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;  // the caller reports unreadable files
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size <= 0) {
    ::close(fd);
    return;
  }
  void* map = ::mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return;
  const std::string_view file(static_cast<const char*>(map), size_t(st.st_size));
  std::string problem;
  size_t at = 0;
  const int len_size = size_of_lengths(file);
  while (problem.empty() && (at = file.find("GCOL", at)) != std::string_view::npos) {
    problem = collection_problem(file, at, len_size);
    if (problem.empty()) ++at;
  }
  ::munmap(map, size_t(st.st_size));
  if (!problem.empty())
    throw Error(path + ": damaged HDF5 file: global heap collection at byte " + std::to_string(at) + " has " + problem);
}

}  // namespace tinyptq
