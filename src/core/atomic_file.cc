#include "core/atomic_file.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "core/error.h"

namespace tinyptq {
namespace {

[[noreturn]] void fail(const std::string& path, int err) {
  throw Error("cannot write '" + path + "': " + std::strerror(err));
}

// Where the bytes for `path` go, and whether they go there in place.
struct Destination {
  std::string target;
  bool in_place = false;
};

bool under_proc(const std::string& p) { return p.rfind("/proc/", 0) == 0 || p.rfind("/dev/fd/", 0) == 0; }

Destination destination_of(const std::string& path) {
  struct stat lst {};
  if (::lstat(path.c_str(), &lst) != 0) {
    if (errno == ENOENT) return {path, false};  // a new file (a missing directory fails when creating it)
    fail(path, errno);
  }
  struct stat st {};
  if (!S_ISLNK(lst.st_mode)) st = lst;
  else if (::stat(path.c_str(), &st) != 0) return {path, false};  // dangling link: replaced by the file
  if (S_ISDIR(st.st_mode)) throw Error("cannot write '" + path + "': it is a directory");
  if (!S_ISREG(st.st_mode)) return {path, true};  // device, FIFO, socket: never rename over it
  if (!S_ISLNK(lst.st_mode)) return {path, false};
  // A symlink to a regular file. Through /proc (/dev/stdout → /proc/self/fd/1 → a redirected file) the
  // file is some process's open descriptor: write it in place. Otherwise replace the final target.
  std::string hop = path;
  for (int k = 0; k < 40; ++k) {
    if (under_proc(hop)) return {path, true};
    char buf[PATH_MAX];
    const ssize_t n = ::readlink(hop.c_str(), buf, sizeof buf - 1);
    if (n < 0) break;  // not a link any more
    std::string next(buf, size_t(n));
    if (next.empty() || next[0] != '/') {
      const size_t slash = hop.rfind('/');
      next = (slash == std::string::npos ? std::string() : hop.substr(0, slash + 1)) + next;
    }
    hop = next;
  }
  char* real = ::realpath(path.c_str(), nullptr);
  if (!real) fail(path, errno);
  std::string target(real);
  std::free(real);
  if (under_proc(target)) return {path, true};
  return {target, false};
}

void write_all(int fd, std::string_view bytes, const std::string& path, const std::string& cleanup) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : ENOSPC;
      ::close(fd);
      if (!cleanup.empty()) ::unlink(cleanup.c_str());
      fail(path, err);
    }
    done += size_t(n);
  }
}

// Writes the whole content into an existing non-regular file (no temporary, no rename).
void write_in_place(const std::string& path, const std::string& target, std::string_view bytes) {
  const int fd = ::open(target.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) fail(path, errno);
  write_all(fd, bytes, path, "");
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && ::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    fail(path, err);
  }
  if (::close(fd) != 0) fail(path, errno);
}

// Writes the content to "<target>.tmp-<pid>" (synced) and returns that name; removes it on failure.
std::string write_temp(const std::string& path, const std::string& target, std::string_view bytes) {
  const std::string tmp = target + ".tmp-" + std::to_string(getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(path, errno);
  write_all(fd, bytes, path, tmp);
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    fail(path, err);
  }
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail(path, err);
  }
  return tmp;
}

void rename_into_place(const std::string& path, const std::string& tmp, const std::string& target) {
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail(path, err);
  }
}

}  // namespace

void write_file_atomic(const std::string& path, std::string_view bytes) {
  StagedFiles files;
  files.add(path, bytes);
  files.commit();
}

void check_writable(const std::string& path) {
  const Destination d = destination_of(path);
  if (d.in_place) {
    if (::access(d.target.c_str(), W_OK) != 0) fail(path, errno);
    return;
  }
  const std::string tmp = d.target + ".tmp-" + std::to_string(getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) fail(path, errno);
  ::close(fd);
  ::unlink(tmp.c_str());
}

StagedFiles::~StagedFiles() {
  for (const Entry& e : entries_)
    if (!e.tmp.empty()) ::unlink(e.tmp.c_str());
}

void StagedFiles::add(const std::string& path, std::string_view bytes) {
  const Destination d = destination_of(path);
  for (const Entry& e : entries_)
    check(e.target != d.target, "'" + path + "' and '" + e.path + "' are the same output file");
  Entry e{path, d.target, "", ""};
  if (d.in_place) e.in_place_bytes = std::string(bytes);
  else e.tmp = write_temp(path, d.target, bytes);
  entries_.push_back(std::move(e));
}

void StagedFiles::commit() {
  for (Entry& e : entries_) {
    if (e.tmp.empty()) {
      write_in_place(e.path, e.target, e.in_place_bytes);
    } else {
      const std::string tmp = std::exchange(e.tmp, "");
      rename_into_place(e.path, tmp, e.target);
    }
  }
  entries_.clear();
}

std::string read_file(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) throw Error("cannot open '" + path + "': " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw Error("cannot read '" + path + "': it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error("cannot read '" + path + "'");
  return ss.str();
}

}  // namespace tinyptq
