#include "fetch/http_download.h"

#include <curl/curl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>

#include "core/error.h"

namespace tinyptq::fetch {

namespace {

namespace fs = std::filesystem;

// With an unknown size, no single artifact may exceed this.
constexpr int64_t kMaxUnknownSize = int64_t(4) << 30;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) throw Error("fetch: libcurl initialisation failed");
  });
}

std::string megabytes(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", double(bytes) / 1e6);
  return buf;
}

// State shared with the libcurl callbacks of one transfer.
struct Transfer {
  std::string url, path, label;
  FILE* file = nullptr;
  int64_t offset = 0;         // bytes already in the file when the request was sent
  int64_t written = 0;        // bytes written by this transfer
  int64_t limit = 0;          // the file may never exceed this
  bool started = false;       // first body byte seen (reply status checked)
  bool too_large = false;
  std::string failure;        // set by a callback that aborts the transfer
  int64_t range_start = -1;   // from Content-Range of the last reply
  CURL* curl = nullptr;
  // progress
  bool progress = false, tty = false;
  int last_decile = -1;
  std::chrono::steady_clock::time_point last_draw{};
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) t->range_start = -1;  // a new reply (after a redirect)
  long long start = 0, end = 0;
  if (line.size() > 14 && (line.compare(0, 14, "Content-Range:") == 0 || line.compare(0, 14, "content-range:") == 0) &&
      std::sscanf(line.c_str() + 14, " bytes %lld-%lld", &start, &end) == 2)
    t->range_start = start;
  return size * n;
}

// The first body byte decides: 206 continues the file, anything else 2xx starts it over.
bool begin_body(Transfer* t) {
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status == 206) {
    if (t->range_start != t->offset) {
      t->failure = "server resumed at byte " + std::to_string(t->range_start) + ", asked for " +
                   std::to_string(t->offset);
      return false;
    }
  } else {
    if (std::fflush(t->file) != 0 || ::ftruncate(fileno(t->file), 0) != 0) {
      t->failure = "cannot truncate '" + t->path + "'";
      return false;
    }
    t->offset = 0;
  }
  t->started = true;
  return true;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t bytes = size * n;
  if (!t->started && !begin_body(t)) return 0;
  if (t->offset + t->written + int64_t(bytes) > t->limit) {
    t->too_large = true;
    return 0;
  }
  if (std::fwrite(data, 1, bytes, t->file) != bytes) {
    t->failure = "cannot write '" + t->path + "' (disk full?)";
    return 0;
  }
  t->written += int64_t(bytes);
  return bytes;
}

int on_progress(void* user, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (!t->progress || total <= 0) return 0;
  const int64_t done = t->offset + int64_t(now), all = t->offset + int64_t(total);
  const int percent = int(100 * done / all);
  if (t->tty) {
    const auto now_t = std::chrono::steady_clock::now();
    if (now_t - t->last_draw < std::chrono::milliseconds(200) && done < all) return 0;
    t->last_draw = now_t;
    std::cerr << "\rfetch: " << t->label << "  " << megabytes(done) << " / " << megabytes(all) << "  " << percent
              << "%   " << std::flush;
  } else if (percent / 10 > t->last_decile) {
    t->last_decile = percent / 10;
    std::cerr << "fetch: " << t->label << "  " << megabytes(done) << " / " << megabytes(all) << "  " << percent
              << "%\n";
  }
  return 0;
}

int64_t file_size_or_zero(const std::string& path) {
  std::error_code ec;
  const auto n = fs::file_size(path, ec);
  return ec ? 0 : int64_t(n);
}

// One request. Returns the HTTP status; throws on transport errors.
long transfer_once(const std::string& url, const std::string& path, int64_t expected_size,
                   const DownloadOptions& opt, int64_t offset) {
  Transfer t;
  t.url = url, t.path = path, t.offset = offset;
  t.label = opt.label.empty() ? fs::path(path).filename().string() : opt.label;
  t.limit = expected_size >= 0 ? expected_size : kMaxUnknownSize;
  t.progress = opt.progress;
  t.tty = ::isatty(2) == 1;
  std::unique_ptr<FILE, decltype(&std::fclose)> file(std::fopen(path.c_str(), "ab"), &std::fclose);
  if (!file) throw Error("cannot write '" + path + "'");
  t.file = file.get();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) throw Error("fetch: libcurl could not create a handle");
  t.curl = curl.get();
  char errbuf[CURL_ERROR_SIZE] = "";
  CURL* c = curl.get();
  const std::string range = std::to_string(offset) + "-";
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, opt.max_redirects);
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, opt.connect_timeout_seconds);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, opt.stall_seconds);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "tinyptq-fetch/0.1");
  if (offset > 0) curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  const CURLcode rc = curl_easy_perform(c);
  if (t.progress && t.tty) std::cerr << "\n";
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  const bool flushed = std::fflush(t.file) == 0;
  file.reset();
  if (t.too_large) {
    std::error_code ec;
    fs::remove(path, ec);
    throw Error(url + ": the server sent more than the expected " + std::to_string(t.limit) + " bytes");
  }
  if (!t.failure.empty()) throw Error(url + ": " + t.failure);
  if (!flushed) throw Error("cannot write '" + path + "' (disk full?)");
  if (rc == CURLE_HTTP_RETURNED_ERROR) {
    if (status == 416) return status;
    throw Error(url + ": HTTP status " + std::to_string(status));
  }
  if (rc != CURLE_OK) {
    const std::string detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    const int64_t have = file_size_or_zero(path);
    if (have == 0) throw Error(url + ": download failed (" + detail + ")");
    throw Error(url + ": download failed (" + detail + ") with " + std::to_string(have) + " bytes in '" + path +
                "'; run fetch again to resume");
  }
  if (!t.started && status != 206 && offset > 0) {  // an empty full reply replaces the partial file
    std::error_code ec;
    fs::resize_file(path, 0, ec);
  }
  return status;
}

}  // namespace

void download_resumable(const std::string& url, const std::string& partial_path, int64_t expected_size,
                        const DownloadOptions& opt) {
  global_init();
  int64_t offset = file_size_or_zero(partial_path);
  if (expected_size >= 0 && offset > expected_size) offset = 0;  // not the file we want: start over
  if (expected_size >= 0 && offset == expected_size) return;     // complete; verification decides
  if (offset == 0) {
    std::error_code ec;
    fs::remove(partial_path, ec);
  }
  try {
    if (transfer_once(url, partial_path, expected_size, opt, offset) != 416) return;
    // Nothing after `offset`: the partial file is longer than the server's copy. Start over once.
    std::error_code ec;
    fs::remove(partial_path, ec);
    if (transfer_once(url, partial_path, expected_size, opt, 0) == 416)
      throw Error(url + ": HTTP status 416 for a request from byte 0");
  } catch (...) {
    if (file_size_or_zero(partial_path) == 0) {  // nothing worth resuming
      std::error_code ec;
      fs::remove(partial_path, ec);
    }
    throw;
  }
}

}  // namespace tinyptq::fetch
