// Label-free fidelity of a model's outputs against a reference model's (typically a quantized model against
// its FP32 original) on the same inputs. Over all samples:
//   top-1 agreement  = percent of samples whose largest score in output 0 has the same index
//   SQNR (dB)        = 10·log10(Σ ref² / Σ (ref − out)²), sums over every element of every output
//                      (+inf when the outputs are identical; −inf when the reference is all zeros but not out)
//   cosine           = mean over samples of <ref_s, out_s> / (|ref_s|·|out_s|), ref_s the sample's values of
//                      all outputs concatenated (1 when both are zero, 0 when only one is)
//   max abs error    = max |ref − out| over every element
//   MSE per output   = Σ (ref − out)² / element count, one per output
// All sums in double. Outputs are float32 tensors whose first axis is the sample.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tinyptq {

struct OutputMse {
  std::string name;
  double mse = 0;
};

struct FidelityResult {
  int64_t samples = 0, agree = 0;
  double agreement = 0;       // percent
  double sqnr_db = 0;         // may be ±inf (see above)
  double mean_cosine = 0;
  double max_abs_error = 0;
  std::vector<OutputMse> per_output;
};

// Accumulates batches; result() may be called at any time.
class FidelityAccumulator {
 public:
  // names: one per output, for per_output (empty: "output_0", "output_1", ...).
  explicit FidelityAccumulator(std::vector<std::string> names = {});
  // One batch of n samples: ref and out hold the same outputs in the same order. Error naming the output
  // when counts, shapes or dtypes differ, or an output's first axis is not n.
  void add(const std::vector<Tensor>& ref, const std::vector<Tensor>& out, int64_t n);
  FidelityResult result() const;

 private:
  std::vector<std::string> names_;
  int64_t samples_ = 0, agree_ = 0;
  double signal_ = 0, noise_ = 0, cosine_sum_ = 0, max_abs_ = 0;
  std::vector<double> squared_error_;  // per output
  std::vector<int64_t> elements_;      // per output
};

// One batch, all at once.
FidelityResult fidelity(const std::vector<Tensor>& ref, const std::vector<Tensor>& out, int64_t n);

}  // namespace tinyptq
