// `tinyptq fetch`: downloads from a local HTTP/1.1 server started by the test (127.0.0.1, Range support,
// scripted faults), checksum verification, resume of interrupted downloads, safe extraction of generated
// archives (good, corrupted, malicious), local mirror directories, and the CLI with the official manifest.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/atomic_file.h"
#include "core/error.h"
#include "fetch/fetch.h"
#include "test_util.h"

namespace tinyptq {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

// ---------------------------------------------------------------------------------------------------------
// A single-threaded HTTP/1.1 server: GET with optional "Range: bytes=N-", one request per connection.

class TestHttpServer {
 public:
  struct Behaviour {
    int64_t cut_after = -1;  // close the connection after this many body bytes (-1: send everything)
    int cut_times = 0;       // ... for this many requests
    bool ignore_range = false;
    int64_t extra_bytes = 0;  // append this many junk bytes beyond the declared file (oversized reply)
  };

  TestHttpServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 16) != 0)
      throw std::runtime_error("test server: bind/listen failed");
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~TestHttpServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void put(const std::string& path, std::string bytes) { put(path, std::move(bytes), Behaviour()); }
  void put(const std::string& path, std::string bytes, Behaviour b) {
    std::lock_guard<std::mutex> lock(mu_);
    files_[path] = {std::move(bytes), b};
  }
  // "GET /path range=N" per request, N = -1 without a Range header.
  std::vector<std::string> log() {
    std::lock_guard<std::mutex> lock(mu_);
    return log_;
  }

 private:
  struct File {
    std::string bytes;
    Behaviour behaviour;
  };

  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      handle(c);
      ::close(c);
    }
  }

  static void send_all(int c, const std::string& s) {
    for (size_t done = 0; done < s.size();) {
      const ssize_t n = ::send(c, s.data() + done, s.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return;
      done += size_t(n);
    }
  }

  void handle(int c) {
    std::string req;
    char buf[4096];
    while (req.find("\r\n\r\n") == std::string::npos) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) return;
      const ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      req.append(buf, size_t(n));
    }
    std::istringstream in(req);
    std::string method, path;
    in >> method >> path;
    int64_t range = -1;
    const size_t r = req.find("\r\nRange: bytes=");
    if (r != std::string::npos) range = std::stoll(req.substr(r + 15));
    File f;
    bool found = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      log_.push_back(method + " " + path + " range=" + std::to_string(range));
      auto it = files_.find(path);
      if (it != files_.end()) {
        found = true;
        f = it->second;
        if (it->second.behaviour.cut_times > 0) --it->second.behaviour.cut_times;
      }
    }
    if (!found) {
      send_all(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found");
      return;
    }
    const int64_t size = int64_t(f.bytes.size());
    int64_t start = 0;
    std::string head;
    if (range >= 0 && !f.behaviour.ignore_range) {
      if (range >= size) {
        send_all(c, "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */" + std::to_string(size) +
                        "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
      }
      start = range;
      head = "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes " + std::to_string(start) + "-" +
             std::to_string(size - 1) + "/" + std::to_string(size) + "\r\n";
    } else {
      head = "HTTP/1.1 200 OK\r\n";
    }
    std::string body = f.bytes.substr(size_t(start)) + std::string(size_t(f.behaviour.extra_bytes), 'x');
    head += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
    const bool cut = f.behaviour.cut_times > 0 && f.behaviour.cut_after >= 0;
    send_all(c, head + (cut ? body.substr(0, size_t(std::min<int64_t>(f.behaviour.cut_after, int64_t(body.size()))))
                            : body));
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::map<std::string, File> files_;
  std::vector<std::string> log_;
};

// ---------------------------------------------------------------------------------------------------------
// Archives written with libarchive (tar + gzip).

struct Entry {
  std::string name;
  std::string data;
  enum Kind { kFile, kDir, kSymlink, kHardlink } kind = kFile;
  std::string target;  // links
};

std::string make_tar_gz(const std::vector<Entry>& entries) {
  std::string out;
  struct archive* a = archive_write_new();
  archive_write_add_filter_gzip(a);
  archive_write_set_format_pax_restricted(a);
  archive_write_open(
      a, &out, nullptr,
      [](struct archive*, void* user, const void* buf, size_t n) -> la_ssize_t {
        static_cast<std::string*>(user)->append(static_cast<const char*>(buf), n);
        return la_ssize_t(n);
      },
      nullptr);
  for (const Entry& e : entries) {
    struct archive_entry* ae = archive_entry_new();
    archive_entry_set_pathname(ae, e.name.c_str());
    archive_entry_set_perm(ae, 0644);
    switch (e.kind) {
      case Entry::kFile:
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_size(ae, la_int64_t(e.data.size()));
        break;
      case Entry::kDir: archive_entry_set_filetype(ae, AE_IFDIR); break;
      case Entry::kSymlink:
        archive_entry_set_filetype(ae, AE_IFLNK);
        archive_entry_set_symlink(ae, e.target.c_str());
        break;
      case Entry::kHardlink:
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_hardlink(ae, e.target.c_str());
        break;
    }
    archive_write_header(a, ae);
    if (e.kind == Entry::kFile && !e.data.empty()) archive_write_data(a, e.data.data(), e.data.size());
    archive_entry_free(ae);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

std::string pattern_bytes(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t k = 0; k < n; ++k) s[k] = char((k * 31 + size_t(seed) * 7 + k / 251) & 0xFF);
  return s;
}

std::vector<Entry> good_entries() {
  return {{"data-root/", "", Entry::kDir, ""},
          {"data-root/a.bin", pattern_bytes(300000, 1), Entry::kFile, ""},
          {"data-root/sub/b.txt", "hello\n", Entry::kFile, ""}};
}

// Independent checksums: the coreutils tools, not the code under test.
std::string tool_hex(const std::string& tool, const std::string& bytes) {
  TempDir dir;
  testing::write_bytes(dir.file("f"), bytes);
  const auto r = testing::run_command(tool + " '" + dir.file("f") + "'");
  return r.output.substr(0, r.output.find(' '));
}

fetch::Artifact archive_artifact(const std::string& bytes, const std::string& name = "data.tar.gz") {
  fetch::Artifact a;
  a.id = "data";
  a.file_name = name;
  a.url = "http://127.0.0.1:1/unused/" + name;
  a.size = int64_t(bytes.size());
  a.sha256 = tool_hex("sha256sum", bytes);
  a.md5 = tool_hex("md5sum", bytes);
  a.placement = fetch::Placement::kExtractTar;
  a.output = "data-root";
  return a;
}

fetch::Artifact file_artifact(const std::string& bytes, const std::string& name = "model.h5") {
  fetch::Artifact a;
  a.id = "model";
  a.file_name = name;
  a.url = "http://127.0.0.1:1/unused/" + name;
  a.size = int64_t(bytes.size());
  a.sha256 = tool_hex("sha256sum", bytes);
  a.placement = fetch::Placement::kFile;
  a.output = name;
  return a;
}

fetch::FetchOptions options(const std::string& from, const std::string& dest) {
  fetch::FetchOptions o;
  o.from = from;
  o.dest = dest;
  o.download.progress = false;
  o.download.stall_seconds = 10;
  return o;
}

std::vector<std::string> listing(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec))
    names.push_back(fs::relative(e.path(), dir).string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string fetch_error(const fetch::Manifest& m, const fetch::FetchOptions& o) {
  try {
    fetch::run_fetch(m, o);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "run_fetch did not throw";
  return "";
}

// ---------------------------------------------------------------------------------------------------------

TEST(Fetch, DownloadsVerifiesAndPlacesAtomically) {
  TestHttpServer server;
  const std::string archive = make_tar_gz(good_entries());
  const std::string model = pattern_bytes(5000, 9);
  server.put("/mirror/data.tar.gz", archive);
  server.put("/mirror/model.h5", model);
  fetch::Manifest m{{archive_artifact(archive), file_artifact(model)}};
  TempDir dir;
  const std::string dest = dir.file("dest");
  auto outcomes = fetch::run_fetch(m, options(server.base_url() + "/mirror", dest));
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_EQ(outcomes[0].files, 2);
  EXPECT_EQ(outcomes[0].bytes, int64_t(archive.size()));
  EXPECT_FALSE(outcomes[0].already_present);
  EXPECT_EQ(read_file(dest + "/data-root/a.bin"), pattern_bytes(300000, 1));
  EXPECT_EQ(read_file(dest + "/data-root/sub/b.txt"), "hello\n");
  EXPECT_EQ(read_file(dest + "/model.h5"), model);
  EXPECT_EQ(listing(dest), (std::vector<std::string>{"data-root", "data-root/a.bin", "data-root/sub",
                                                     "data-root/sub/b.txt", "model.h5"}));

  // A second run finds everything in place and downloads nothing.
  const size_t requests = server.log().size();
  outcomes = fetch::run_fetch(m, options(server.base_url() + "/mirror", dest));
  EXPECT_TRUE(outcomes[0].already_present && outcomes[1].already_present);
  EXPECT_EQ(server.log().size(), requests);
}

TEST(Fetch, ChecksumMismatchLeavesNothing) {
  TestHttpServer server;
  const std::string archive = make_tar_gz(good_entries());
  std::string corrupted = archive;
  corrupted[corrupted.size() / 2] ^= 0x20;
  server.put("/data.tar.gz", corrupted);
  TempDir dir;
  const std::string dest = dir.file("dest");
  const std::string msg = fetch_error(fetch::Manifest{{archive_artifact(archive)}}, options(server.base_url(), dest));
  EXPECT_NE(msg.find("data.tar.gz"), std::string::npos) << msg;
  EXPECT_NE(msg.find("failed verification: sha256"), std::string::npos) << msg;
  EXPECT_TRUE(listing(dest).empty()) << listing(dest).size();

  // Same size but no checksum pinned at all: refused, never placed unverified.
  fetch::Artifact unpinned = archive_artifact(archive);
  unpinned.sha256.clear(), unpinned.md5.clear();
  server.put("/data.tar.gz", archive);
  EXPECT_NE(fetch_error(fetch::Manifest{{unpinned}}, options(server.base_url(), dest)).find("no pinned checksum"),
            std::string::npos);
  EXPECT_TRUE(listing(dest).empty());

  // Only the md5 differs (sha256 not pinned): still refused.
  fetch::Artifact md5_only = archive_artifact(archive);
  md5_only.sha256.clear();
  md5_only.md5 = std::string(32, '0');
  EXPECT_NE(fetch_error(fetch::Manifest{{md5_only}}, options(server.base_url(), dest)).find("md5"), std::string::npos);
  EXPECT_TRUE(listing(dest).empty());
}

TEST(Fetch, MaliciousArchivesAreRefused) {
  struct Case {
    const char* what;
    std::vector<Entry> entries;
    const char* reason;
  };
  const char* const kPathReason = "refused: absolute path, '..' component";
  const std::vector<Case> cases = {
      {"dot-dot", {{"data-root/", "", Entry::kDir, ""}, {"data-root/../../evil", "pwned", Entry::kFile, ""}},
       kPathReason},
      {"parent", {{"../evil", "pwned", Entry::kFile, ""}}, kPathReason},
      {"absolute", {{"data-root/", "", Entry::kDir, ""}, {"/tmp/tinyptq-evil-abs", "pwned", Entry::kFile, ""}},
       kPathReason},
      {"symlink", {{"data-root/", "", Entry::kDir, ""}, {"data-root/link", "", Entry::kSymlink, "/etc"}},
       "refused: symbolic links"},
      {"hardlink",
       {{"data-root/", "", Entry::kDir, ""}, {"data-root/x", "x", Entry::kFile, ""},
        {"data-root/h", "", Entry::kHardlink, "/etc/passwd"}},
       "refused: hard links"},
      {"outside root", {{"other/", "", Entry::kDir, ""}, {"other/file", "x", Entry::kFile, ""}},
       "refused: outside the expected directory 'data-root/'"},
      {"duplicate", {{"data-root/f", "1", Entry::kFile, ""}, {"data-root/f", "2", Entry::kFile, ""}},
       "appears twice"},
  };
  TestHttpServer server;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string archive = make_tar_gz(c.entries);
    server.put("/data.tar.gz", archive);
    TempDir dir;
    const std::string dest = dir.file("inner/dest");
    const std::string msg = fetch_error(fetch::Manifest{{archive_artifact(archive)}}, options(server.base_url(), dest));
    EXPECT_NE(msg.find("data.tar.gz"), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.reason), std::string::npos) << msg;
    EXPECT_TRUE(listing(dest).empty()) << c.what;
    EXPECT_FALSE(fs::exists(dir.file("evil")) || fs::exists(dir.file("inner/evil")));
    EXPECT_FALSE(fs::exists("/tmp/tinyptq-evil-abs"));
  }
}

TEST(Fetch, InterruptedDownloadResumesWithRange) {
  TestHttpServer server;
  const std::string archive = make_tar_gz(good_entries());
  ASSERT_GT(archive.size(), 3000u);
  TestHttpServer::Behaviour cut;
  cut.cut_after = int64_t(archive.size() / 3);
  cut.cut_times = 1;
  server.put("/data.tar.gz", archive, cut);
  TempDir dir;
  const std::string dest = dir.file("dest");
  const fetch::Manifest m{{archive_artifact(archive)}};
  const std::string msg = fetch_error(m, options(server.base_url(), dest));
  EXPECT_NE(msg.find("resume"), std::string::npos) << msg;
  const std::string partial = dest + "/.partial/data.tar.gz";
  ASSERT_TRUE(fs::exists(partial));
  EXPECT_EQ(fs::file_size(partial), archive.size() / 3);
  EXPECT_FALSE(fs::exists(dest + "/data-root"));

  fetch::run_fetch(m, options(server.base_url(), dest));
  EXPECT_EQ(read_file(dest + "/data-root/a.bin"), pattern_bytes(300000, 1));
  const auto log = server.log();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0], "GET /data.tar.gz range=-1");
  EXPECT_EQ(log[1], "GET /data.tar.gz range=" + std::to_string(archive.size() / 3));
  EXPECT_EQ(listing(dest).front(), "data-root");
  EXPECT_FALSE(fs::exists(dest + "/.partial"));
}

TEST(Fetch, ServerIgnoringRangeRestartsFromZero) {
  TestHttpServer server;
  const std::string model = pattern_bytes(40000, 3);
  TestHttpServer::Behaviour b;
  b.ignore_range = true;
  server.put("/model.h5", model, b);
  TempDir dir;
  const std::string dest = dir.file("dest");
  fs::create_directories(dest + "/.partial");
  testing::write_bytes(dest + "/.partial/model.h5", model.substr(0, 1000));
  fetch::run_fetch(fetch::Manifest{{file_artifact(model)}}, options(server.base_url(), dest));
  EXPECT_EQ(read_file(dest + "/model.h5"), model);
  EXPECT_EQ(server.log().at(0), "GET /model.h5 range=1000");
}

TEST(Fetch, StalePartialLongerThanServerCopyStartsOver) {
  TestHttpServer server;
  const std::string model = pattern_bytes(2000, 4);
  server.put("/model.h5", model);
  TempDir dir;
  const std::string dest = dir.file("dest");
  fs::create_directories(dest + "/.partial");
  fetch::Artifact a = file_artifact(model);
  a.size = -1;  // unknown size: the 416 reply is what tells the partial file is stale
  testing::write_bytes(dest + "/.partial/model.h5", pattern_bytes(5000, 5));
  fetch::run_fetch(fetch::Manifest{{a}}, options(server.base_url(), dest));
  EXPECT_EQ(read_file(dest + "/model.h5"), model);
  const auto log = server.log();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[1], "GET /model.h5 range=-1");
}

TEST(Fetch, HttpErrorsAndOversizedRepliesFailCleanly) {
  TestHttpServer server;
  TempDir dir;
  const std::string dest = dir.file("dest");
  const std::string model = pattern_bytes(1000, 6);
  std::string msg = fetch_error(fetch::Manifest{{file_artifact(model)}}, options(server.base_url(), dest));
  EXPECT_NE(msg.find("HTTP status 404"), std::string::npos) << msg;
  EXPECT_NE(msg.find("/model.h5"), std::string::npos) << msg;
  EXPECT_TRUE(listing(dest).empty());

  TestHttpServer::Behaviour more;
  more.extra_bytes = 5000;
  server.put("/model.h5", model, more);
  msg = fetch_error(fetch::Manifest{{file_artifact(model)}}, options(server.base_url(), dest));
  EXPECT_NE(msg.find("more than the expected 1000 bytes"), std::string::npos) << msg;
  EXPECT_TRUE(listing(dest).empty());

  msg = fetch_error(fetch::Manifest{{file_artifact(model)}}, options("ftp://127.0.0.1/", dest));
  EXPECT_NE(msg.find("only http://, https://"), std::string::npos) << msg;
  // Nothing listens on this port (the server above is gone after the test body; use a closed port).
  msg = fetch_error(fetch::Manifest{{file_artifact(model)}}, options("http://127.0.0.1:1", dest));
  EXPECT_NE(msg.find("download failed"), std::string::npos) << msg;
  EXPECT_TRUE(listing(dest).empty());
}

TEST(Fetch, LocalMirrorDirectory) {
  TempDir dir;
  const std::string archive = make_tar_gz(good_entries());
  const std::string model = pattern_bytes(700, 8);
  fs::create_directories(dir.file("mirror"));
  testing::write_bytes(dir.file("mirror/data.tar.gz"), archive);
  testing::write_bytes(dir.file("mirror/model.h5"), model);
  const fetch::Manifest m{{archive_artifact(archive), file_artifact(model)}};
  auto o = options(dir.file("mirror"), dir.file("dest"));
  o.only = {"model"};
  auto outcomes = fetch::run_fetch(m, o);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(listing(dir.file("dest")), std::vector<std::string>{"model.h5"});
  o.only = {};
  fetch::run_fetch(m, o);
  EXPECT_EQ(read_file(dir.file("dest/data-root/sub/b.txt")), "hello\n");
  EXPECT_EQ(read_file(dir.file("mirror/data.tar.gz")), archive);  // the mirror is only read

  o.only = {"nope"};
  EXPECT_NE(fetch_error(m, o).find("unknown artifact 'nope'"), std::string::npos);
  o.only = {};
  o.from = dir.file("no-such-mirror");
  EXPECT_NE(fetch_error(m, o).find("mirror directory"), std::string::npos);
  fs::remove(dir.file("mirror/model.h5"));
  o.from = dir.file("mirror");
  o.dest = dir.file("dest2");
  EXPECT_NE(fetch_error(m, o).find("model.h5"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------------------
// The CLI with the official manifest: the real ResNet8 served locally must match the pinned sha256.

std::string shell_quote(const std::string& s) { return "'" + s + "'"; }

TEST(FetchCli, OfficialModelChecksumAndErrors) {
  TestHttpServer server;
  const std::string real = read_file(testing::resnet8_h5());
  server.put("/good/pretrainedResnet.h5", real);
  std::string fake = real;
  fake[fake.size() / 2] ^= 1;
  server.put("/bad/pretrainedResnet.h5", fake);
  TempDir dir;
  const std::string bin = shell_quote(testing::tinyptq_binary());

  auto r = testing::run_command("timeout 60 " + bin + " fetch --only resnet8 --from " + server.base_url() +
                                "/good --dest " + shell_quote(dir.file("ok")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("resnet8: "), std::string::npos) << r.output;
  EXPECT_EQ(read_file(dir.file("ok/pretrainedResnet.h5")), real);

  r = testing::run_command("timeout 60 " + bin + " fetch -q --only resnet8 --from " + server.base_url() +
                           "/bad --dest " + shell_quote(dir.file("bad")));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(r.output.rfind("tinyptq: error: ", 0), 0u) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_NE(r.output.find("pretrainedResnet.h5"), std::string::npos) << r.output;
  EXPECT_TRUE(listing(dir.file("bad")).empty());

  // A local mirror directory: the shared model folder itself.
  const std::string mirror = fs::path(testing::resnet8_h5()).parent_path().string();
  r = testing::run_command("timeout 60 " + bin + " fetch --only resnet8 --from " + shell_quote(mirror) + " --dest " +
                           shell_quote(dir.file("mirror")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_file(dir.file("mirror/pretrainedResnet.h5")), real);

  r = testing::run_command("timeout 60 " + bin + " fetch --list");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* s : {"https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530",
                        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a",
                        "mlcommons/tiny", "benchmark/training/image_classification/trained_models/pretrainedResnet.h5"})
    EXPECT_NE(r.output.find(s), std::string::npos) << s;
}

}  // namespace
}  // namespace tinyptq
