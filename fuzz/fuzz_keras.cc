// Fuzz target: arbitrary bytes as a Keras HDF5 file → import_keras_model. The input is written to a file
// in the scratch directory (H5File opens paths). Bad input must end in tinyptq::Error; an accepted model
// must satisfy the graph invariants (validate_and_sort passes again).
#include "core/error.h"
#include "fuzz_util.h"
#include "keras/keras_import.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tinyptq;
  const std::string path = fuzz::scratch_dir() + "/model.h5";
  fuzz::write_file(path, fuzz::as_view(data, size));
  try {
    KerasImportResult r = import_keras_model(path);
    r.graph.validate_and_sort();
  } catch (const Error&) {
  }
  return 0;
}
