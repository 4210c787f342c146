// `tinyptq fetch`: brings the artifacts of a manifest into a destination directory — downloaded from their
// official URLs, from a mirror base URL, or copied from a local mirror directory — verified against their
// pinned checksums and placed atomically (archives extracted safely, files renamed into place).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "fetch/http_download.h"
#include "fetch/manifest.h"

namespace tinyptq::fetch {

struct FetchOptions {
  // "" = each artifact's official URL; "http://…" or "https://…" = a base URL the file names are appended
  // to; anything else = a local mirror directory holding the files under their file names.
  std::string from;
  std::string dest = ".";
  std::vector<std::string> only;  // artifact ids; empty = all
  DownloadOptions download;
};

struct FetchOutcome {
  std::string id;
  std::string path;       // DEST/<output>
  bool already_present = false;
  int64_t bytes = 0;      // verified download size (0 when already present)
  int64_t files = 0;      // files extracted (archives)
};

// Work files live in DEST/.partial (downloads being resumed) and DEST/.extract-* (staging); both are gone
// after a successful run. On failure an interrupted download stays in DEST/.partial for the next run to
// resume; a file that fails verification or extraction is deleted, so DEST gains nothing. An artifact
// whose output already exists in DEST is skipped. Throws Error naming the file or URL.
std::vector<FetchOutcome> run_fetch(const Manifest& manifest, const FetchOptions& opt);

}  // namespace tinyptq::fetch
