// A small, safe reader for the subset of Python pickle (protocols 2-5) that CIFAR-10 python batches use:
// dicts, lists, tuples, ints, floats, str, bytes and numpy integer/float arrays. Nothing is ever executed:
// GLOBAL/STACK_GLOBAL resolve only a fixed whitelist of constructors (numpy array/dtype reconstruction,
// codecs.encode for latin1 bytes, builtins.bytes), which the reader emulates; any other name is an Error.
// Every read is bounds-checked and object count / derived bytes are budgeted, so truncated or hostile
// input throws tinyptq::Error instead of crashing or allocating without limit.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.h"

namespace tinyptq::pickle {

using ObjId = uint32_t;

enum class Kind { kNone, kBool, kInt, kFloat, kStr, kBytes, kList, kTuple, kDict, kGlobal, kArray, kDtype };
const char* kind_name(Kind k);

// A numpy ndarray (after BUILD) or dtype. Element bytes are as pickled: `big_endian` byte order,
// C order unless `fortran`. Only dtypes u1, i1, i4, i8 and f4 are accepted.
struct ArrayInfo {
  DType dtype = DType::kUint8;
  int item_size = 1;
  bool big_endian = false;
  bool built = false;     // kArray: BUILD has supplied shape, dtype and data
  bool fortran = false;
  Shape shape;
  std::string_view data;  // kArray: item_size × num_elements(shape) bytes
};

struct Object {
  Kind kind = Kind::kNone;
  int64_t i = 0;               // kInt, kBool
  double f = 0;                // kFloat
  std::string_view text;       // kStr (UTF-8), kBytes; kGlobal: "module.name"
  std::vector<ObjId> items;    // kList, kTuple; kDict: key0, value0, key1, value1, ...
  ArrayInfo array;             // kArray, kDtype
};

// The unpickled object graph. Owns the input bytes and every object; views stay valid while it lives.
class Document {
 public:
  const Object& root() const { return objects_[root_]; }
  const Object& at(ObjId id) const { return objects_[id]; }
  // Value stored under a str or bytes key equal to `key`, or nullptr (also when `dict` is not a dict).
  const Object* dict_get(const Object& dict, std::string_view key) const;

 private:
  friend class Parser;
  // Heap-held so views survive moving the Document (a moved short std::string would move its bytes).
  std::unique_ptr<const std::string> input_;
  std::vector<std::unique_ptr<std::string>> owned_;  // bytes decoded by codecs.encode
  std::vector<Object> objects_;
  ObjId root_ = 0;
};

// Parses one pickle occupying all of `bytes`. `label` (usually the file path) prefixes every error.
Document unpickle(std::string bytes, const std::string& label);

// Widens the elements of an integer array (any accepted integer dtype, either byte order) in storage order.
std::vector<int64_t> array_to_ints(const ArrayInfo& a);

}  // namespace tinyptq::pickle
