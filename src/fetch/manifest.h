// What `tinyptq fetch` downloads: a typed manifest of artifacts, each with its official URL, its size and
// pinned checksums, and how it is placed in the destination directory. Tests inject their own manifest.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tinyptq::fetch {

enum class Placement {
  kFile,        // the verified file itself becomes DEST/<file_name>
  kExtractTar,  // a .tar/.tar.gz whose entries all lie under DEST/<output>/ is extracted there
};

struct Artifact {
  std::string id;         // short name for --only ("cifar-10-binary")
  std::string file_name;  // name on the server / in a mirror directory, and of the partial download
  std::string url;        // official location; --from URL replaces everything before file_name
  int64_t size = -1;      // expected bytes; -1 when unknown (then only the checksums bound the download)
  std::string sha256;     // lowercase hex; "" when no authoritative value is known
  std::string md5;        // lowercase hex as published by the authors; "" when none
  std::string checksum_source;  // where the pinned values come from (shown by --list, documented)
  Placement placement = Placement::kFile;
  std::string output;     // what appears in DEST: file_name for kFile, the archive's root dir for kExtractTar
  int64_t max_extracted_bytes = int64_t(1) << 30;  // kExtractTar: refuses archives that expand beyond this
};

struct Manifest {
  std::vector<Artifact> artifacts;
};

// CIFAR-10 binary and python archives (University of Toronto) and the MLPerf Tiny ResNet8 Keras model.
Manifest official_manifest();

// The artifacts whose ids are listed (all when `ids` is empty). Throws Error naming an unknown id.
std::vector<Artifact> select_artifacts(const Manifest& m, const std::vector<std::string>& ids);

}  // namespace tinyptq::fetch
