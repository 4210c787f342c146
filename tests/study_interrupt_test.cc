// Ctrl-C during `tinyptq study` on the real ResNet8 and CIFAR-10 (TINYPTQ_SHARED): the study stops between
// configurations with a non-zero status, every finished result stays intact, nothing is half-written, and
// `--resume` completes the study without redoing the finished configurations.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "test_util.h"

namespace tinyptq {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Starts the CLI with stdout and stderr to `log`; returns its pid.
pid_t start_cli(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> argv_s = {testing::tinyptq_binary()};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) _exit(126);
    dup2(fd, 1);
    dup2(fd, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

// Finished results: results.d/*.json (temporaries are named "*.json.tmp-<pid>").
std::vector<std::string> finished_results(const std::string& out) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(out + "/results.d", ec))
    if (e.path().extension() == ".json") names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> temporaries(const std::string& out) {
  std::vector<std::string> names;
  for (const auto& e : fs::recursive_directory_iterator(out))
    if (e.path().filename().string().find(".tmp-") != std::string::npos) names.push_back(e.path().string());
  return names;
}

TEST(StudyInterrupt, SigintKeepsFinishedResultsAndResumeCompletesTheRest) {
  TempDir dir;
  const std::string out = dir.file("study"), log = dir.file("first.log");
  const std::vector<std::string> args = {"study", "--model", testing::resnet8_h5(), "--data", testing::cifar_dir(),
                                         "--quick", "--jobs", "2", "-o", out};
  const pid_t pid = start_cli(args, log);
  ASSERT_GT(pid, 0);

  // Wait for the first persisted configuration result, then interrupt. The loop ends on its own if the
  // study exits first (which fails below); the CTest timeout guards against a hang.
  int status = 0;
  bool exited_early = false;
  while (finished_results(out).empty()) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      exited_early = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_FALSE(exited_early) << "study ended before any result was written:\n" << slurp(log);
  ASSERT_EQ(::kill(pid, SIGINT), 0);
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  const std::string first_log = slurp(log);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status) << ":\n" << first_log;
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGINT) << first_log;
  EXPECT_NE(first_log.find("tinyptq: error: study interrupted: "), std::string::npos) << first_log;
  EXPECT_NE(first_log.find("run it again with --resume"), std::string::npos) << first_log;

  // Finished results are complete JSON documents; nothing is half-written; the study outputs (written
  // only at the end) are absent.
  const std::vector<std::string> finished = finished_results(out);
  ASSERT_FALSE(finished.empty());
  std::map<std::string, std::pair<ino_t, std::string>> before;  // name → (inode, bytes)
  for (const auto& name : finished) {
    const std::string path = out + "/results.d/" + name;
    const std::string bytes = slurp(path);
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(bytes)) << name;
    EXPECT_TRUE(j.contains("name")) << name;
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    before[name] = {st.st_ino, bytes};
  }
  EXPECT_EQ(temporaries(out), std::vector<std::string>{});
  EXPECT_FALSE(fs::exists(out + "/results.json"));
  EXPECT_FALSE(fs::exists(out + "/REPORT.md"));
  const std::string k_of = std::to_string(finished.size()) + " of ";
  EXPECT_NE(first_log.find("study interrupted: " + k_of), std::string::npos) << first_log;

  // --resume: reuses every finished result (same file, not rewritten) and completes the study.
  std::string cmd = "'" + testing::tinyptq_binary() + "'";
  for (const auto& a : args) cmd += " '" + a + "'";
  const testing::CommandResult r = testing::run_command(cmd + " --resume");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("study: --resume: " + k_of), std::string::npos) << r.output;
  for (const auto& [name, prev] : before) {
    struct stat st {};
    ASSERT_EQ(::stat((out + "/results.d/" + name).c_str(), &st), 0) << name;
    EXPECT_EQ(st.st_ino, prev.first) << name << " was rewritten";
    EXPECT_EQ(slurp(out + "/results.d/" + name), prev.second) << name;
  }
  const nlohmann::json results = nlohmann::json::parse(slurp(out + "/results.json"));
  ASSERT_TRUE(results.contains("configurations")) << results.dump().substr(0, 400);
  EXPECT_EQ(results["configurations"].size(), finished_results(out).size());
  EXPECT_GT(finished_results(out).size(), finished.size());
  EXPECT_TRUE(fs::exists(out + "/REPORT.md"));
  EXPECT_EQ(temporaries(out), std::vector<std::string>{});
}

}  // namespace
}  // namespace tinyptq
