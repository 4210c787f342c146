// Fuzz target: the .npy reader, and the .npz reader (libarchive zip). Bad input
// must end in tinyptq::Error; an accepted array must hold exactly
// num_elements(shape) values in the buffer its dtype names, and survive a
// write/read round trip unchanged.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "data/npy.h"
#include "fuzz_util.h"

namespace {

void check_tensor(const tinyptq::Tensor &t) {
  using namespace tinyptq;
  const bool is_f = t.dtype == DType::kFloat32;
  bool ok =
      t.stored() == num_elements(t.shape) && (is_f ? t.i.empty() : t.f.empty());
  if (ok) {
    const Tensor back = parse_npy(npy_bytes(t), "round trip");
    ok = back.shape == t.shape && back.i == t.i &&
         back.f.size() == t.f.size() &&
         (t.f.empty() ||
          std::memcmp(back.f.data(), t.f.data(), t.f.size() * 4) == 0);
  }
  if (!ok) {
    std::fprintf(stderr, "property violated: inconsistent array %s\n",
                 shape_str(t.shape).c_str());
    std::abort();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace tinyptq;
  const std::string_view bytes = fuzz::as_view(data, size);
  try {
    check_tensor(parse_npy(bytes, "fuzz.npy"));
  } catch (const Error &) {
  }
  try {
    for (const auto &[name, t] : parse_npz(bytes, "fuzz.npz"))
      check_tensor(t);
  } catch (const Error &) {
  }
  return 0;
}
