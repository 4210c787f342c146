// Fuzz target: the CIFAR-10 binary layout. The input is used twice: as test_batch.bin (records of 1 label
// byte + 3072 pixels) and as batches.meta.txt next to a valid one-image batch. Bad input must end in
// tinyptq::Error; accepted input must give a consistent Dataset (sizes, labels 0..9, 10 class names).
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "core/error.h"
#include "data/cifar.h"
#include "fuzz_util.h"

namespace {

void check_dataset(const tinyptq::Dataset& d, int64_t expected_count) {
  bool ok = d.count == expected_count && d.pixels.size() == size_t(d.count) * tinyptq::Dataset::kImageBytes &&
            d.labels.size() == size_t(d.count) && d.class_names.size() == 10;
  for (uint8_t l : d.labels) ok = ok && l < 10;
  if (!ok) {
    std::fprintf(stderr, "property violated: inconsistent dataset (count %lld)\n", (long long)d.count);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tinyptq;
  const std::string batches = fuzz::scratch_dir() + "/bin";
  const std::string meta = fuzz::scratch_dir() + "/meta";
  static const bool made = [&] {
    std::filesystem::create_directories(batches);
    std::filesystem::create_directories(meta);
    fuzz::write_file(meta + "/test_batch.bin", std::string(3073, '\x01'));
    return true;
  }();
  (void)made;

  fuzz::write_file(batches + "/test_batch.bin", fuzz::as_view(data, size));
  const int64_t records = int64_t(size / 3073);
  try {
    check_dataset(load_cifar10(batches, Split::kTest), records);
  } catch (const Error&) {
  }
  try {  // a limit stops reading early: records past it are never checked
    check_dataset(load_cifar10(batches, Split::kTest, 1), records > 0 ? 1 : 0);
  } catch (const Error&) {
  }
  fuzz::write_file(meta + "/batches.meta.txt", fuzz::as_view(data, size));
  try {
    check_dataset(load_cifar10(meta, Split::kTest), 1);
  } catch (const Error&) {
  }
  return 0;
}
