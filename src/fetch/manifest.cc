#include "fetch/manifest.h"

#include <algorithm>

#include "core/error.h"

namespace tinyptq::fetch {

Manifest official_manifest() {
  Manifest m;
  Artifact bin;
  bin.id = "cifar-10-binary";
  bin.file_name = "cifar-10-binary.tar.gz";
  bin.url = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
  bin.size = 170052171;
  bin.sha256 = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd";
  bin.md5 = "c32a1d4ab5d03f1284b67883e8d87530";
  bin.checksum_source =
      "md5: the dataset authors' page https://www.cs.toronto.edu/~kriz/cifar.html; sha256 and size: "
      "TensorFlow Datasets url_checksums/cifar10.txt";
  bin.placement = Placement::kExtractTar;
  bin.output = "cifar-10-batches-bin";
  m.artifacts.push_back(bin);

  Artifact py;
  py.id = "cifar-10-python";
  py.file_name = "cifar-10-python.tar.gz";
  py.url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz";
  py.size = 170498071;
  py.sha256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce";
  py.md5 = "c58f30108f718f92721af3b95e74349a";
  py.checksum_source =
      "md5: the dataset authors' page https://www.cs.toronto.edu/~kriz/cifar.html; sha256: Keras "
      "keras/datasets/cifar10.py (file_hash)";
  py.placement = Placement::kExtractTar;
  py.output = "cifar-10-batches-py";
  m.artifacts.push_back(py);

  Artifact model;
  model.id = "resnet8";
  model.file_name = "pretrainedResnet.h5";
  model.url = "https://raw.githubusercontent.com/mlcommons/tiny/master/benchmark/training/image_classification/"
              "trained_models/pretrainedResnet.h5";
  model.size = 1116712;
  model.sha256 = "5f938a8eea605438cc7360aa13c987bc6d7bd0c8d931b2917361ae7ae4eeda2f";
  model.checksum_source =
      "sha256 and size: the project's provenance note for the reference copy "
      "(shared/models/mlperf-tiny-resnet8/README.md); MLCommons publishes no checksum";
  model.placement = Placement::kFile;
  model.output = model.file_name;
  m.artifacts.push_back(model);
  return m;
}

std::vector<Artifact> select_artifacts(const Manifest& m, const std::vector<std::string>& ids) {
  if (ids.empty()) return m.artifacts;
  std::vector<Artifact> out;
  for (const std::string& id : ids) {
    auto it = std::find_if(m.artifacts.begin(), m.artifacts.end(), [&](const Artifact& a) { return a.id == id; });
    if (it == m.artifacts.end()) {
      std::string known;
      for (const Artifact& a : m.artifacts) known += (known.empty() ? "" : ", ") + a.id;
      throw Error("fetch: unknown artifact '" + id + "' (known: " + known + ")");
    }
    if (std::none_of(out.begin(), out.end(), [&](const Artifact& a) { return a.id == id; })) out.push_back(*it);
  }
  return out;
}

}  // namespace tinyptq::fetch
