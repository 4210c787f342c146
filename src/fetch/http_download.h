// Resumable HTTP(S) download with libcurl: the bytes go to a partial file, and a later run continues it with
// a Range request instead of starting over. Progress is drawn on stderr.
#pragma once
#include <cstdint>
#include <string>

namespace tinyptq::fetch {

struct DownloadOptions {
  long connect_timeout_seconds = 30;
  long stall_seconds = 60;   // abort when fewer than 1 byte/s arrive for this long (no hang)
  long max_redirects = 5;
  bool progress = true;      // progress on stderr: a redrawn line on a terminal, every 10% otherwise
  std::string label;         // shown in progress lines (default: the URL's last path component)
};

// Downloads `url` into `partial_path`, continuing from the partial file's current size with
// "Range: bytes=N-". A 206 reply is appended (its Content-Range must start at N); a 200 reply restarts the
// file from zero; 416 (nothing left to send) restarts once from zero unless the file already has
// `expected_size` bytes. Only http/https are followed. Throws Error naming the URL on an HTTP status >= 400,
// a network failure or interruption (the partial file keeps what arrived, so the next call resumes) or more
// bytes than `expected_size` (>= 0) — the partial file is then removed.
void download_resumable(const std::string& url, const std::string& partial_path, int64_t expected_size,
                        const DownloadOptions& opt = {});

}  // namespace tinyptq::fetch
