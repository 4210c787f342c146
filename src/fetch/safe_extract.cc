#include "fetch/safe_extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "core/error.h"

namespace tinyptq::fetch {

namespace {

namespace fs = std::filesystem;

constexpr int64_t kMaxEntries = 100000;

// "a/./b/" → {"a", "b"}; empty when the path is absolute, empty or has a ".." component.
std::vector<std::string> safe_components(const std::string& path) {
  if (path.empty() || path[0] == '/') return {};
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string part = path.substr(start, end - start);
    start = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") return {};
    parts.push_back(part);
  }
  return parts;
}

// Removes the staging directory unless released.
class StagingDir {
 public:
  explicit StagingDir(const std::string& dest) {
    std::string tmpl = dest + "/.extract-XXXXXX";
    if (!::mkdtemp(tmpl.data()))
      throw Error("cannot create a staging directory in '" + dest + "': " + std::strerror(errno));
    path_ = tmpl;
  }
  ~StagingDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

using Archive = std::unique_ptr<struct archive, decltype(&archive_read_free)>;

void write_entry_data(struct archive* a, const std::string& out_path, const std::string& what, int64_t& budget,
                      ExtractResult& result) {
  const int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == EEXIST) throw Error(what + " appears twice in the archive");
    throw Error(what + ": cannot create '" + out_path + "': " + std::strerror(errno));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  for (;;) {
    const void* buf = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    const int r = archive_read_data_block(a, &buf, &size, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK) throw Error(what + ": " + archive_error_string(a));
    budget -= int64_t(size);
    if (budget < 0) throw Error(what + ": the archive expands beyond its size limit");
    if (::lseek(fd, offset, SEEK_SET) < 0) throw Error(what + ": cannot seek in '" + out_path + "'");
    const char* p = static_cast<const char*>(buf);
    for (size_t done = 0; done < size;) {
      const ssize_t n = ::write(fd, p + done, size - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw Error(what + ": cannot write '" + out_path + "': " + std::strerror(n < 0 ? errno : ENOSPC));
      done += size_t(n);
    }
    result.bytes += int64_t(size);
  }
  if (::fsync(fd) != 0) throw Error(what + ": cannot write '" + out_path + "': " + std::strerror(errno));
}

}  // namespace

ExtractResult extract_tar_root(const std::string& archive_path, const std::string& dest_dir, const std::string& root,
                               int64_t max_bytes) {
  std::error_code ec;
  if (fs::exists(dest_dir + "/" + root, ec)) throw Error("'" + dest_dir + "/" + root + "' already exists");
  Archive a(archive_read_new(), &archive_read_free);
  if (!a) throw Error("fetch: libarchive could not create a reader");
  archive_read_support_filter_gzip(a.get());
  archive_read_support_filter_none(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_filename(a.get(), archive_path.c_str(), 1 << 16) != ARCHIVE_OK)
    throw Error("'" + archive_path + "': cannot open the archive: " + archive_error_string(a.get()));

  StagingDir staging(dest_dir);
  ExtractResult result;
  int64_t budget = max_bytes, entries = 0;
  for (;;) {
    struct archive_entry* e = nullptr;
    const int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
      throw Error("'" + archive_path + "': damaged archive: " + archive_error_string(a.get()));
    const char* raw_name = archive_entry_pathname(e);
    const std::string name = raw_name ? raw_name : "";
    const std::string what = "'" + archive_path + "': entry '" + name + "'";
    if (++entries > kMaxEntries) throw Error("'" + archive_path + "': more than " + std::to_string(kMaxEntries) + " entries");
    const std::vector<std::string> parts = safe_components(name);
    if (parts.empty()) throw Error(what + " is refused: absolute path, '..' component or empty name");
    if (archive_entry_hardlink(e) != nullptr) throw Error(what + " is refused: hard links are not extracted");
    const auto type = archive_entry_filetype(e);
    if (type == AE_IFLNK || archive_entry_symlink(e) != nullptr)
      throw Error(what + " is refused: symbolic links are not extracted");
    if (type != AE_IFREG && type != AE_IFDIR) throw Error(what + " is refused: not a regular file or directory");
    if (parts[0] != root) throw Error(what + " is refused: outside the expected directory '" + root + "/'");
    fs::path out = staging.path();
    for (const std::string& p : parts) out /= p;
    if (type == AE_IFDIR) {
      fs::create_directories(out, ec);
      if (ec) throw Error(what + ": cannot create '" + out.string() + "': " + ec.message());
      continue;
    }
    fs::create_directories(out.parent_path(), ec);
    if (ec) throw Error(what + ": cannot create '" + out.parent_path().string() + "': " + ec.message());
    write_entry_data(a.get(), out.string(), what, budget, result);
    ++result.files;
  }
  const std::string staged_root = staging.path() + "/" + root;
  if (!fs::is_directory(staged_root, ec))
    throw Error("'" + archive_path + "': the archive holds no '" + root + "/' directory");
  if (::rename(staged_root.c_str(), (dest_dir + "/" + root).c_str()) != 0)
    throw Error("cannot move the extracted '" + root + "' into '" + dest_dir + "': " + std::strerror(errno));
  return result;
}

}  // namespace tinyptq::fetch
