// Accuracy of a model (float or QDQ) on a CIFAR-10 split: overall, per class, and per-image top-1.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "data/cifar.h"
#include "data/preprocess.h"
#include "ir/graph.h"

namespace tinyptq {

namespace int8 {
struct KernelTable;
}

// Runs a model: the integer engine for QDQ graphs, the FP32 engine otherwise.
class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::vector<Tensor> run(const Tensor& input) = 0;
  virtual std::string backend() const = 0;  // "int8" or "fp32"
  virtual std::string describe() const { return ""; }  // the integer engine's plan; empty for FP32
};
enum class EngineKind { kAuto, kInteger, kFloat };  // auto: integer for QDQ graphs, float otherwise
// int8_kernels: the integer engine's kernel table (null = int8::best_kernels()); the FP32 engine ignores it.
std::unique_ptr<Engine> make_engine(const Graph& g, int threads = 1, EngineKind kind = EngineKind::kAuto,
                                    const int8::KernelTable* int8_kernels = nullptr);

// make_engine for the model read from `path`: an engine error names the file.
std::unique_ptr<Engine> make_engine_for(const Graph& g, const std::string& path, int threads = 1,
                                        EngineKind kind = EngineKind::kAuto);

struct ClassAccuracy {
  std::string class_name;
  int64_t correct = 0, total = 0;
  double accuracy = 0;  // percent
};

struct EvalResult {
  std::string backend;
  int64_t correct = 0, total = 0;
  double accuracy = 0;  // percent
  std::vector<ClassAccuracy> per_class;
  std::vector<int> labels, predicted;  // per image, dataset order
  double seconds = 0, images_per_second = 0;
};

struct EvalOptions {
  int64_t batch = 250;
  int threads = 1;
  Preprocess preprocess;
  bool progress = true;
  std::string progress_label = "eval";
};

EvalResult evaluate(const Graph& g, const Dataset& d, const EvalOptions& opts = {});
EvalResult evaluate(Engine& engine, Layout layout, const Dataset& d, const EvalOptions& opts = {});

// Accuracy of per-sample predictions against labels (same length, each in [0, num_classes)), per class named
// by class_names when it has num_classes entries, else "0", "1", ...
EvalResult score_predictions(const std::vector<int>& labels, const std::vector<int>& predicted, int num_classes,
                             const std::vector<std::string>& class_names);

// Percent of images whose predictions agree.
double agreement_percent(const std::vector<int>& a, const std::vector<int>& b);
// Indices where the predictions differ.
std::vector<int64_t> flipped_images(const std::vector<int>& a, const std::vector<int>& b);

// Float input batch for images [first, first+n) in the model's layout.
Tensor image_batch(const Dataset& d, int64_t first, int64_t n, Layout layout, const Preprocess& p);
Tensor image_batch(const Dataset& d, const std::vector<int64_t>& indices, Layout layout, const Preprocess& p);

}  // namespace tinyptq
