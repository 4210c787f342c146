// Fuzz target: the ONNX TensorProto (.pb) reader. Bad input must end in tinyptq::Error; an accepted tensor
// must hold exactly num_elements(shape) values in the buffer its dtype names, and survive a write/read round
// trip unchanged.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "data/tensor_pb.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace tinyptq;
  try {
    const Tensor t = parse_tensor_pb(fuzz::as_view(data, size), "fuzz.pb");
    const bool is_f = t.dtype == DType::kFloat32;
    bool ok = t.stored() == num_elements(t.shape) && (is_f ? t.i.empty() : t.f.empty());
    if (ok) {
      const Tensor back = parse_tensor_pb(tensor_pb_bytes(t), "round trip");
      ok = back.dtype == t.dtype && back.shape == t.shape && back.i == t.i && back.f.size() == t.f.size() &&
           (t.f.empty() || std::memcmp(back.f.data(), t.f.data(), t.f.size() * 4) == 0);
    }
    if (!ok) {
      std::fprintf(stderr, "property violated: inconsistent tensor %s\n", shape_str(t.shape).c_str());
      std::abort();
    }
  } catch (const Error &) {
  }
  return 0;
}
