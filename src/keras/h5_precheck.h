// Structural checks run on an HDF5 file before libhdf5 parses it, for damage that libhdf5 1.10 does not
// detect itself but loops forever or reads out of bounds on.
#pragma once
#include <string>

namespace tinyptq {

// Global heap collections ("GCOL", where variable-length strings such as model_config live): walking the
// objects of each collection must advance and stay inside it. libhdf5 1.10.8 loops forever on a free-space
// object of size 0 (H5HG__cache_heap_deserialize) and copies past the collection for an object whose size
// overruns it (H5HG_read). Throws Error naming the file and the byte offset of the damaged collection.
void check_hdf5_global_heaps(const std::string& path);

}  // namespace tinyptq
