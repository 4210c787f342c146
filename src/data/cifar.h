// CIFAR-10 loading from the official binary layout (data_batch_1..5.bin, test_batch.bin, batches.meta.txt)
// or the official python layout (cifar-10-batches-py: pickled dicts). Either directory, or a parent holding
// cifar-10-batches-bin/ or cifar-10-batches-py/, may be given; the binary layout wins when both exist.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tinyptq {

enum class Split { kTrain, kTest };
const char* split_name(Split s);               // "train" / "test"
Split parse_split(const std::string& name);    // inverse; Error on anything else

struct Dataset {
  static constexpr int kHeight = 32, kWidth = 32, kChannels = 3, kImageBytes = 3072;
  static constexpr int kNumClasses = 10;

  std::string source;                    // directory the batch files were read from
  Split split = Split::kTrain;
  int64_t count = 0;                     // images
  std::vector<uint8_t> pixels;           // count × 3072, each image CHW (R plane, G plane, B plane)
  std::vector<uint8_t> labels;           // count, each 0..9
  std::vector<std::string> class_names;  // 10 names (batches.meta.txt / batches.meta, else the standard names)

  // Pixels of image k (3072 bytes, CHW). Error when k is outside [0, count).
  const uint8_t* image(int64_t k) const;
};

// True when dir (or its cifar-10-batches-bin/ or cifar-10-batches-py/ child, which also counts by itself)
// holds an entry named like a CIFAR-10 file: data_batch_N, test_batch, batches.meta (with or without
// .bin/.txt), whatever its type, so that a damaged CIFAR-10 folder still gets load_cifar10's errors.
bool looks_like_cifar10(const std::string& dir);

// Train concatenates the present data_batch_N (N = 1..5, in order); test reads test_batch.
// limit >= 0 keeps the first `limit` images and reads no batch file beyond the one that reaches it.
// Errors name the file: missing directory or batch files, size not a multiple of 3073, label outside
// 0..9, empty split, malformed pickle or meta file.
Dataset load_cifar10(const std::string& dir, Split split, int64_t limit = -1);

}  // namespace tinyptq
