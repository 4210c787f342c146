// Fuzz target: the python-pickle layout. The input goes to pickle::unpickle directly (walking the object
// graph it returns), then as cifar-10-batches-py/test_batch and as batches.meta next to a valid batch, so
// the CIFAR reader's checks on the unpickled dict run too. Bad input must end in tinyptq::Error.
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "core/error.h"
#include "data/cifar.h"
#include "data/pickle.h"
#include "fuzz_util.h"

namespace {

// Touches the objects the document references (at most objects_hint); built arrays must be consistent.
void walk(const tinyptq::pickle::Document& doc, size_t objects_hint) {
  using namespace tinyptq::pickle;
  const Object& root = doc.root();
  size_t visited = 0;
  std::vector<const Object*> stack = {&root};
  while (!stack.empty() && visited < objects_hint) {
    const Object* o = stack.back();
    stack.pop_back();
    ++visited;
    if (o->kind == Kind::kArray && o->array.built) {
      const int64_t n = tinyptq::num_elements(o->array.shape);
      if (uint64_t(n) * uint64_t(o->array.item_size) != o->array.data.size()) {
        std::fprintf(stderr, "property violated: array data size\n");
        std::abort();
      }
      if (o->array.dtype != tinyptq::DType::kFloat32) (void)array_to_ints(o->array);
    }
    for (ObjId id : o->items)
      if (stack.size() < objects_hint) stack.push_back(&doc.at(id));  // bounded: lists may hold themselves
  }
}

// One image labelled 3, pickled the way Python 2 wrote the official files.
std::string valid_batch() {
  using namespace std::string_literals;
  std::string p = "\x80\x02}q\x01(U\x04" "dataq\x02"
                  "cnumpy.core.multiarray\n_reconstruct\nq\x03" "cnumpy\nndarray\nq\x04"
                  "K\x00\x85U\x01" "b\x87R(K\x01K\x01M\x00\x0c\x86" "cnumpy\ndtype\n"
                  "U\x02u1K\x00K\x01\x87R(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
                  "\x89T\x00\x0c\x00\x00"s;  // s: the literal holds NUL bytes
  p += std::string(3072, '\x07');
  p += "tbU\x06labels]K\x03" "au.";
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tinyptq;
  const std::string batch_dir = fuzz::scratch_dir() + "/cifar-10-batches-py";
  const std::string meta_dir = fuzz::scratch_dir() + "/meta";
  static const bool made = [&] {
    std::filesystem::create_directories(batch_dir);
    std::filesystem::create_directories(meta_dir);
    fuzz::write_file(meta_dir + "/test_batch", valid_batch());
    (void)load_cifar10(meta_dir, Split::kTest);  // the fixture itself must load
    return true;
  }();
  (void)made;

  try {
    pickle::Document doc = pickle::unpickle(std::string(fuzz::as_view(data, size)), "fuzz.pkl");
    walk(doc, 1 << 16);
  } catch (const Error&) {
  }
  fuzz::write_file(batch_dir + "/test_batch", fuzz::as_view(data, size));
  try {
    const Dataset d = load_cifar10(fuzz::scratch_dir(), Split::kTest);
    if (d.pixels.size() != size_t(d.count) * Dataset::kImageBytes || d.labels.size() != size_t(d.count)) std::abort();
    for (uint8_t l : d.labels)
      if (l >= 10) std::abort();
  } catch (const Error&) {
  }
  fuzz::write_file(meta_dir + "/batches.meta", fuzz::as_view(data, size));
  try {
    if (load_cifar10(meta_dir, Split::kTest).class_names.size() != 10) std::abort();
  } catch (const Error&) {
  }
  return 0;
}
