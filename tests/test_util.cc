#include "test_util.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>

namespace tinyptq::testing {

std::string shared_dir() {
  const char* env = std::getenv("TINYPTQ_SHARED");
  return env && *env ? env : TINYPTQ_DEFAULT_SHARED;
}
std::string cifar_dir() { return shared_dir() + "/data/cifar-10-batches-bin"; }
std::string resnet8_h5() { return shared_dir() + "/models/mlperf-tiny-resnet8/pretrainedResnet.h5"; }
std::string tinyptq_binary() { return TINYPTQ_BINARY; }
std::string build_dir() { return TINYPTQ_BUILD_DIR; }

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "tinyptq-test-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}
TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

CommandResult run_command(const std::string& command_line) {
  CommandResult r;
  std::string cmd = command_line + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

CommandResult run_tinyptq(const std::string& args) {
  return run_command(shell_quote(tinyptq_binary()) + " " + args + " </dev/null");
}

std::string resnet8_onnx() {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  const std::string dir = build_dir() + "/test-cache";
  const std::string path = dir + "/resnet8.onnx";
  if (!std::filesystem::exists(path)) {
    std::filesystem::create_directories(dir);
    auto r = run_command("'" + tinyptq_binary() + "' import-keras '" + resnet8_h5() + "' -o '" + path + "'");
    if (r.exit_code != 0) throw std::runtime_error("import-keras failed: " + r.output);
  }
  return path;
}

}  // namespace tinyptq::testing
