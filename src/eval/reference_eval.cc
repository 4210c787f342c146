#include "eval/reference_eval.h"

#include "core/error.h"
#include "eval/source_eval.h"

namespace tinyptq {

ReferenceResult evaluate_against_reference(Engine& model, Engine& reference, const DataSource& s,
                                           const EvalOptions& opts, std::vector<std::string> output_names) {
  check(s.count() > 0, s.path() + ": the data has no samples");
  ReferenceResult r;
  r.backend = model.backend();
  r.reference_backend = reference.backend();
  FidelityAccumulator acc(std::move(output_names));
  const double seconds = run_source(model, s, opts, [&](int64_t, int64_t n, const Tensor& x, const std::vector<Tensor>& out) {
    const std::vector<Tensor> ref = reference.run(x);
    acc.add(ref, out, n);
    for (int v : top1_rows(out[0], n)) r.predicted.push_back(v);
    for (int v : top1_rows(ref[0], n)) r.reference_predicted.push_back(v);
  });
  r.fidelity = acc.result();
  r.images_per_second = seconds > 0 ? double(s.count()) / seconds : 0;
  return r;
}

}  // namespace tinyptq
