// Shared helpers for tests: where ../shared is, scratch directories, running the CLI binary.
#pragma once
#include <string>

namespace tinyptq::testing {

// Root of the shared data (env TINYPTQ_SHARED, else ../shared beside the source tree).
std::string shared_dir();
std::string cifar_dir();       // shared_dir()/data/cifar-10-batches-bin
std::string resnet8_h5();      // shared_dir()/models/mlperf-tiny-resnet8/pretrainedResnet.h5
std::string tinyptq_binary();  // path of the built CLI
std::string build_dir();       // CMake binary dir (for cached artefacts shared across tests)

// A fresh empty directory under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string output;  // stdout and stderr interleaved
};
// Runs a shell command line, capturing its combined output.
CommandResult run_command(const std::string& command_line);
// s in single quotes for sh.
std::string shell_quote(const std::string& s);
// The built CLI with these (already quoted) arguments, stdin from /dev/null.
CommandResult run_tinyptq(const std::string& args);

// Writes bytes to path (plain write, for fixtures).
void write_bytes(const std::string& path, const std::string& bytes);

// Path of an ONNX model converted from the shared Keras ResNet8, built once per build dir and cached
// (build_dir()/test-cache/resnet8.onnx).
std::string resnet8_onnx();

}  // namespace tinyptq::testing
