// Fuzz target: calibration lockfile JSON → calibration_from_json. Accepted lockfiles must round-trip:
// calibration_to_json of the result parses back to the same set, and check_indices accepts exactly the
// sets whose indices fit the dataset. Bad input must end in tinyptq::Error.
#include <cstdio>
#include <cstdlib>

#include "core/error.h"
#include "data/calibration.h"
#include "fuzz_util.h"

namespace {

[[noreturn]] void property_failed(const char* what) {
  std::fprintf(stderr, "property violated: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tinyptq;
  CalibrationSet c;
  try {
    c = calibration_from_json(std::string(fuzz::as_view(data, size)), "fuzz.lock.json");
  } catch (const Error&) {
    return 0;
  }
  CalibrationSet back;
  try {
    back = calibration_from_json(calibration_to_json(c), "roundtrip.lock.json");
  } catch (const Error&) {
    property_failed("written lockfile does not read back");
  }
  if (back.dataset != c.dataset || back.split != c.split || back.seed != c.seed || back.per_class != c.per_class ||
      back.indices != c.indices)
    property_failed("lockfile round trip changed the set");

  Dataset d;
  d.split = c.split == "train" ? Split::kTrain : Split::kTest;
  d.count = 100;
  bool fits = true;
  for (int64_t i : c.indices) fits = fits && i >= 0 && i < d.count;
  try {
    check_indices(c, d);
    if (!fits) property_failed("check_indices accepted an out-of-range index");
  } catch (const Error&) {
    if (fits) property_failed("check_indices refused a valid set");
  }
  return 0;
}
