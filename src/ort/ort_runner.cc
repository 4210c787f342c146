#include "ort/ort_runner.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"

namespace tinyptq {

namespace fs = std::filesystem;

namespace {

// Single-quotes a string for /bin/sh.
std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// A private temporary directory, removed with its contents when the object dies.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "tinyptq-ort-XXXXXX").string();
    check(mkdtemp(pattern.data()) != nullptr, "cannot create a temporary directory under " +
                                                  fs::temp_directory_path().string() + ": " +
                                                  std::strerror(errno));
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct CommandOutput {
  int status = -1;  // exit status, -1 when killed by a signal
  std::string out;  // stdout only
};

CommandOutput run_shell(const std::string& command) {
  CommandOutput r;
  FILE* pipe = popen(command.c_str(), "r");
  check(pipe != nullptr, "cannot run '" + command + "': " + std::strerror(errno));
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) r.out.append(buf, n);
  const int st = pclose(pipe);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// Throws Error with run_ort.js's stderr (err_path) when it exited non-zero.
void check_runner_status(const CommandOutput& r, const std::string& err_path, const std::string& model_path) {
  if (r.status == 0) return;
  std::string message;
  try {
    message = trim(read_file(err_path));
  } catch (const Error&) {
  }
  throw Error("ONNX Runtime failed on '" + model_path + "': " +
              (message.empty() ? "run_ort.js exited with status " + std::to_string(r.status) : message));
}

}  // namespace

std::string ort_dir() {
  if (const char* d = std::getenv("TINYPTQ_ORT_DIR"); d && *d) return d;
  return std::string(TINYPTQ_SOURCE_DIR) + "/tools/ort";
}

std::string ort_unavailable_reason() {
  const std::string dir = ort_dir();
  if (!fs::exists(dir + "/run_ort.js")) return "ONNX Runtime runner " + dir + "/run_ort.js does not exist";
  if (!fs::exists(dir + "/node_modules/onnxruntime-node/package.json"))
    return "onnxruntime-node is not installed in " + dir + "/node_modules: run scripts/install_ort.sh";
  if (run_shell("command -v node >/dev/null 2>&1").status != 0)
    return "node is not on PATH (apt-get install nodejs npm, then scripts/install_ort.sh)";
  return "";
}

bool ort_available() { return ort_unavailable_reason().empty(); }

Tensor run_ort(const std::string& model_path, const Tensor& input, int threads) {
  if (const std::string why = ort_unavailable_reason(); !why.empty()) throw Error("ONNX Runtime: " + why);
  check(input.dtype == DType::kFloat32, "ONNX Runtime input must be float32");
  check(!input.shape.empty() && int64_t(input.f.size()) == num_elements(input.shape),
        "ONNX Runtime input holds " + std::to_string(input.f.size()) + " values for shape " +
            shape_str(input.shape));
  check(threads >= 1, "ONNX Runtime threads must be >= 1");

  ScratchDir dir;
  const std::string in_path = dir.file("input.bin"), out_path = dir.file("output.bin"),
                    err_path = dir.file("err");
  write_file_atomic(in_path,
                    std::string_view(reinterpret_cast<const char*>(input.f.data()), input.f.size() * 4));
  std::string dims;
  for (size_t d = 0; d < input.shape.size(); ++d) {
    if (d) dims += ',';
    dims += std::to_string(input.shape[d]);
  }
  const std::string command = "node " + shell_quote(ort_dir() + "/run_ort.js") + " " +
                              shell_quote(model_path) + " " + shell_quote(in_path) + " " + dims + " " +
                              shell_quote(out_path) + " --threads " + std::to_string(threads) + " 2>" +
                              shell_quote(err_path);
  const CommandOutput r = run_shell(command);
  check_runner_status(r, err_path, model_path);

  Shape shape;
  try {
    const auto j = nlohmann::json::parse(r.out);
    shape = j.at("shape").get<Shape>();
  } catch (const std::exception&) {
    throw Error("ONNX Runtime runner printed unexpected output for '" + model_path + "': " + trim(r.out));
  }
  const std::string bytes = read_file(out_path);
  const int64_t count = num_elements(shape);
  check(int64_t(bytes.size()) == count * 4, "ONNX Runtime output for '" + model_path + "' has " +
                                                std::to_string(bytes.size()) + " bytes for shape " +
                                                shape_str(shape));
  Tensor out = Tensor::zeros(shape);
  std::memcpy(out.f.data(), bytes.data(), bytes.size());
  return out;
}

}  // namespace tinyptq

namespace tinyptq {

OrtBenchResult run_ort_bench(const std::string& model_path, const Shape& image_shape, int64_t batch,
                             int threads, double seconds) {
  if (const std::string why = ort_unavailable_reason(); !why.empty()) throw Error("ONNX Runtime: " + why);
  check(!image_shape.empty() && batch >= 1 && threads >= 1 && seconds > 0, "bad ONNX Runtime bench settings");
  ScratchDir dir;
  const std::string err_path = dir.file("err");
  std::string dims;
  // The runner replaces dim 0 by the batch; a symbolic batch (−1) is passed as 1.
  for (size_t d = 0; d < image_shape.size(); ++d)
    dims += (d ? "," : "") + std::to_string(d == 0 ? 1 : image_shape[d]);
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.3f", seconds);
  const std::string command = "node " + shell_quote(ort_dir() + "/run_ort.js") + " --bench " +
                              shell_quote(model_path) + " --shape " + dims + " --batch " +
                              std::to_string(batch) + " --threads " + std::to_string(threads) +
                              " --seconds " + secs + " 2>" + shell_quote(err_path);
  const CommandOutput r = run_shell(command);
  check_runner_status(r, err_path, model_path);
  OrtBenchResult out;
  try {
    const auto j = nlohmann::json::parse(r.out);
    out.images_per_second = j.at("images_per_second").get<double>();
    out.p50_ms = j.at("latency_ms").at("p50").get<double>();
    out.p90_ms = j.at("latency_ms").at("p90").get<double>();
    out.p99_ms = j.at("latency_ms").at("p99").get<double>();
    out.runs = j.at("runs").get<int64_t>();
  } catch (const std::exception&) {
    throw Error("ONNX Runtime bench printed unexpected output for '" + model_path + "': " + trim(r.out));
  }
  return out;
}

}  // namespace tinyptq
