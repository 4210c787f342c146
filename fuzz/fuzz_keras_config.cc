// Fuzz target: the input is a Keras model_config JSON. It is stored as the model_config attribute of an
// HDF5 file whose weights are those of the fixture model (keras_fixture.h), then imported. This reaches
// the JSON parser, the per-layer config parsers, the converters and the weight-shape checks without
// having to get past HDF5 first. Bad input must end in tinyptq::Error.
#include <hdf5.h>

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "fuzz_util.h"
#include "keras/keras_import.h"
#include "keras_fixture.h"

namespace {

// The weights-only fixture file, written once; each input starts from a copy of its bytes.
const std::string& template_bytes() {
  static const std::string bytes = [] {
    const std::string path = tinyptq::fuzz::scratch_dir() + "/template.h5";
    tinyptq::fuzz::write_fixture_h5(path, tinyptq::fuzz::fixture_model(), "");
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }();
  return bytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tinyptq;
  const std::string path = fuzz::scratch_dir() + "/config.h5";
  fuzz::write_file(path, template_bytes());
  {
    hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    if (file < 0) std::abort();
    // HDF5 variable-length strings end at the first NUL, so the attribute holds the input up to it.
    fuzz::h5_string_attr(file, "/", "model_config", std::string(fuzz::as_view(data, size)));
    H5Fclose(file);
  }
  try {
    KerasImportResult r = import_keras_model(path);
    r.graph.validate_and_sort();
  } catch (const Error&) {
  }
  return 0;
}
