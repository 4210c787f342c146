#include "fetch/fetch.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "fetch/digest.h"
#include "fetch/safe_extract.h"

namespace tinyptq::fetch {

namespace {

namespace fs = std::filesystem;

enum class SourceKind { kOfficial, kBaseUrl, kDirectory };

SourceKind source_kind(const std::string& from) {
  if (from.empty()) return SourceKind::kOfficial;
  if (from.rfind("http://", 0) == 0 || from.rfind("https://", 0) == 0) return SourceKind::kBaseUrl;
  if (from.find("://") != std::string::npos)
    throw Error("fetch: --from '" + from + "': only http://, https:// or a local directory are supported");
  return SourceKind::kDirectory;
}

void check_artifact(const Artifact& a) {
  const bool plain_name = !a.file_name.empty() && a.file_name.find('/') == std::string::npos &&
                          a.file_name != "." && a.file_name != "..";
  const bool plain_output = !a.output.empty() && a.output.find('/') == std::string::npos && a.output != "." &&
                            a.output != ".." && a.output[0] != '.';
  if (!plain_name || !plain_output) throw Error("fetch: artifact '" + a.id + "' has an unsafe file or output name");
}

void remove_quietly(const std::string& path) {
  std::error_code ec;
  fs::remove(path, ec);
}

// Copies a mirror file into the partial path (from scratch).
void copy_from_mirror(const std::string& src, const std::string& partial) {
  std::error_code ec;
  if (!fs::is_regular_file(src, ec)) throw Error("fetch: mirror file '" + src + "' does not exist");
  remove_quietly(partial);
  if (!fs::copy_file(src, partial, ec) || ec) {
    remove_quietly(partial);
    throw Error("cannot copy '" + src + "' to '" + partial + "': " + ec.message());
  }
}

FetchOutcome fetch_one(const Artifact& a, const FetchOptions& opt, SourceKind kind, const std::string& partial_dir) {
  check_artifact(a);
  FetchOutcome out;
  out.id = a.id;
  out.path = opt.dest + "/" + a.output;
  std::error_code ec;
  if (fs::exists(fs::symlink_status(out.path, ec))) {
    out.already_present = true;
    return out;
  }
  const std::string partial = partial_dir + "/" + a.file_name;
  if (kind == SourceKind::kDirectory) {
    copy_from_mirror(opt.from + "/" + a.file_name, partial);
  } else {
    std::string url = a.url;
    if (kind == SourceKind::kBaseUrl) {
      url = opt.from;
      if (url.back() != '/') url += '/';
      url += a.file_name;
    }
    DownloadOptions d = opt.download;
    if (d.label.empty()) d.label = a.file_name;
    download_resumable(url, partial, a.size, d);  // an interrupted download stays for the next run
  }
  try {
    verify_artifact(partial, a);
    out.bytes = int64_t(fs::file_size(partial));
    if (a.placement == Placement::kExtractTar) {
      out.files = extract_tar_root(partial, opt.dest, a.output, a.max_extracted_bytes).files;
      remove_quietly(partial);
    } else if (::rename(partial.c_str(), out.path.c_str()) != 0) {
      throw Error("cannot move '" + partial + "' to '" + out.path + "': " + std::strerror(errno));
    }
  } catch (...) {
    remove_quietly(partial);  // verified bad or unusable: never resumed, never placed
    throw;
  }
  return out;
}

}  // namespace

std::vector<FetchOutcome> run_fetch(const Manifest& manifest, const FetchOptions& opt) {
  const SourceKind kind = source_kind(opt.from);
  const std::vector<Artifact> todo = select_artifacts(manifest, opt.only);
  std::error_code ec;
  if (kind == SourceKind::kDirectory && !fs::is_directory(opt.from, ec))
    throw Error("fetch: mirror directory '" + opt.from + "' does not exist");
  fs::create_directories(opt.dest, ec);
  if (ec || !fs::is_directory(opt.dest)) throw Error("fetch: cannot create destination '" + opt.dest + "'");
  const std::string partial_dir = opt.dest + "/.partial";
  std::vector<FetchOutcome> done;
  try {
    for (const Artifact& a : todo) {
      fs::create_directories(partial_dir, ec);
      if (ec) throw Error("fetch: cannot create '" + partial_dir + "': " + ec.message());
      done.push_back(fetch_one(a, opt, kind, partial_dir));
    }
  } catch (...) {
    fs::remove(partial_dir, ec);  // only when empty: a resumable download stays
    throw;
  }
  fs::remove(partial_dir, ec);
  return done;
}

}  // namespace tinyptq::fetch
