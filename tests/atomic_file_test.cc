// Crash-safe outputs (core/atomic_file.h): temporary + rename for regular files, in-place writes for
// devices, symlinks kept, staged multi-file outputs that appear together or not at all.
#include "core/atomic_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "core/error.h"
#include "model_fixtures.h"
#include "test_util.h"

namespace tinyptq {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::error_of;

// Everything in dir, so a stray "*.tmp-<pid>" shows up.
std::vector<std::string> listing(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(AtomicFile, ReplacesRegularFileAndLeavesNoTemporary) {
  TempDir dir;
  const std::string p = dir.file("out.txt");
  write_file_atomic(p, "first");
  write_file_atomic(p, "second");
  EXPECT_EQ(read_file(p), "second");
  EXPECT_EQ(listing(dir.path()), std::vector<std::string>{"out.txt"});
}

TEST(AtomicFile, CharacterDeviceIsWrittenInPlace) {
  // /dev/null takes the bytes; the node must still be a device afterwards (a rename would have replaced
  // it — as root, for everyone).
  write_file_atomic("/dev/null", "discarded");
  struct stat st {};
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  // /dev/full: ENOSPC, reported with the path.
  const std::string e = error_of([] { write_file_atomic("/dev/full", "x"); });
  EXPECT_NE(e.find("'/dev/full'"), std::string::npos) << e;
  EXPECT_NE(e.find("No space left on device"), std::string::npos) << e;
}

TEST(AtomicFile, SymlinkToRegularFileIsKeptAndItsTargetReplaced) {
  TempDir dir;
  fs::create_directories(dir.file("real"));
  write_file_atomic(dir.file("real/model.onnx"), "old");
  fs::create_symlink("real/model.onnx", dir.file("link.onnx"));
  write_file_atomic(dir.file("link.onnx"), "new");
  EXPECT_TRUE(fs::is_symlink(dir.file("link.onnx")));
  EXPECT_EQ(read_file(dir.file("real/model.onnx")), "new");
  EXPECT_EQ(listing(dir.file("real")), std::vector<std::string>{"model.onnx"});
}

TEST(AtomicFile, DirectoryAndMissingDirectoryAreRefusedByName) {
  TempDir dir;
  EXPECT_EQ(error_of([&] { write_file_atomic(dir.path(), "x"); }), "cannot write '" + dir.path() + "': it is a directory");
  const std::string missing = dir.file("missing/out.txt");
  EXPECT_EQ(error_of([&] { check_writable(missing); }), "cannot write '" + missing + "': No such file or directory");
  EXPECT_EQ(error_of([&] { check_writable(dir.path()); }), "cannot write '" + dir.path() + "': it is a directory");
  check_writable(dir.file("fine.txt"));
  EXPECT_TRUE(fs::is_empty(dir.path()));  // the probe leaves nothing
}

TEST(StagedFiles, NothingAppearsUntilCommit) {
  TempDir dir;
  {
    StagedFiles files;
    files.add(dir.file("a"), "A");
    files.add(dir.file("b"), "B");
    EXPECT_FALSE(fs::exists(dir.file("a")));
    EXPECT_FALSE(fs::exists(dir.file("b")));
    files.commit();
  }
  EXPECT_EQ(read_file(dir.file("a")), "A");
  EXPECT_EQ(read_file(dir.file("b")), "B");
  EXPECT_EQ(listing(dir.path()), (std::vector<std::string>{"a", "b"}));
}

TEST(StagedFiles, AFailingLaterOutputLeavesNoEarlierOne) {
  TempDir dir;
  {
    StagedFiles files;
    files.add(dir.file("model.onnx"), "M");
    EXPECT_NE(error_of([&] { files.add(dir.file("missing/lock.json"), "L"); }), "");
    // The command fails here: the staged model is dropped with its temporary.
  }
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(StagedFiles, TheSameTargetTwiceIsRefused) {
  TempDir dir;
  fs::create_symlink("x.json", dir.file("alias.json"));
  write_file_atomic(dir.file("x.json"), "{}");
  StagedFiles files;
  files.add(dir.file("x.json"), "1");
  const std::string e = error_of([&] { files.add(dir.file("alias.json"), "2"); });
  EXPECT_NE(e.find("are the same output file"), std::string::npos) << e;
}

}  // namespace
}  // namespace tinyptq
