#include "quant/adaround.h"

#include <algorithm>
#include <limits>

#include "core/error.h"
#include "quant/adaround/reconstruction.h"
#include "quant/bias_correction.h"
#include "quant/weight_quantizer.h"

namespace tinyptq {

namespace {

// The bias of a layer, or zeros.
std::vector<float> layer_bias(const Graph& g, const QuantLayer& layer, int64_t channels) {
  const Node& n = g.nodes[size_t(layer.node)];
  const int bi = layer.rule.bias_input;
  if (bi >= 0 && bi < int(n.inputs.size()) && !n.inputs[bi].empty())
    if (const Tensor* b = g.initializer(n.inputs[bi]); b && int64_t(b->f.size()) == channels) return b->f;
  return std::vector<float>(size_t(channels), 0.0f);
}

}  // namespace

AdaRoundProblem::AdaRoundProblem(const Graph& g, const QuantLayer& layer, const Tensor& x_hat, const Tensor& x,
                                 const QuantRecipe& recipe)
    : layer_(layer), recipe_(recipe) {
  const Node& n = g.nodes[size_t(layer.node)];
  w_ = g.initializer(n.inputs[size_t(layer.rule.weight_input)]);
  check(w_ != nullptr, "AdaRound '" + layer.name + "': weight is not a constant");
  if (!adaround::is_linear_layer(g, n)) return;
  check(x_hat.shape == x.shape && !x.shape.empty(),
        "AdaRound '" + layer.name + "': quantized input " + shape_str(x_hat.shape) + " and float input " +
            shape_str(x.shape) + " differ");
  auto d = std::make_unique<adaround::ReconstructionData>();
  d->layer = adaround::make_linear_layer(n, x.shape, w_->shape);
  d->images = x.shape[0];
  d->x_hat = x_hat.f.data();
  bias_ = layer_bias(g, layer, d->layer.out_channels);
  d->post_activation = recipe.adaround_post_activation && !recipe.adaround_full_batch;
  d->centered = recipe.bias_correction && !d->post_activation;  // the mean error goes to the bias
  if (d->post_activation) {
    d->bias = bias_.data();
    d->act_min = -std::numeric_limits<float>::infinity();
    d->act_max = std::numeric_limits<float>::infinity();
    if (layer.fused_activation >= 0) {
      const Node& act = g.nodes[size_t(layer.fused_activation)];
      d->act_min = act.op == Op::kRelu ? 0.0f : act.attrs.clip_min;
      d->act_max = act.op == Op::kRelu ? std::numeric_limits<float>::infinity() : act.attrs.clip_max;
    }
  }
  // Targets: the FP32 layer output (after bias and activation for the post-activation loss).
  target_.resize(size_t(d->images * d->layer.out_size()));
  adaround::linear_forward(d->layer, x.f.data(), d->images, w_->f.data(), d->post_activation ? bias_.data() : nullptr,
                           target_.data(), recipe.threads);
  if (d->post_activation)
    for (float& t : target_) t = std::clamp(t, d->act_min, d->act_max);
  d->target = target_.data();
  if (recipe.adaround_full_batch) gram_ = std::make_unique<adaround::GramTerms>(adaround::gram_terms(*d, recipe.threads));
  data_ = std::move(d);
}

AdaRoundProblem::~AdaRoundProblem() = default;

QuantizedWeight AdaRoundProblem::round(const QParams& params, int bits) const {
  if (!data_) return quantize_weight(*w_, params, bits);
  adaround::RoundingGrid grid;
  grid.scale = params.scale;
  grid.zero_point = params.zero_point;
  grid.lo = qmin(params.format);
  grid.hi = qmax(params.format);
  adaround::RoundingOptions o;
  o.schedule.iterations = recipe_.adaround_iterations;
  o.schedule.lr = recipe_.adaround_lr;
  o.schedule.reg = recipe_.adaround_reg;
  o.schedule.warmup = recipe_.adaround_warmup;
  o.batch = recipe_.adaround_batch;
  o.full_batch = recipe_.adaround_full_batch;
  o.seed = recipe_.seed;
  o.threads = recipe_.threads;
  o.label = "AdaRound " + layer_.name + " (W" + std::to_string(bits) + ")";
  std::vector<int64_t> codes = adaround::optimise_rounding(*data_, w_->f.data(), grid, o, gram_.get());
  QuantizedWeight out;
  out.params = params;
  out.bits = bits;
  out.q = Tensor::from_ints(params.format.container == Container::kInt8 ? DType::kInt8 : DType::kUint8, w_->shape,
                            std::move(codes));
  return out;
}

double AdaRoundProblem::loss(const Tensor& weight) const {
  check(data_ != nullptr, "AdaRound '" + layer_.name + "': layer not supported");
  return adaround::reconstruction_loss(*data_, weight.f.data(), recipe_.threads);
}

QuantizedWeight adaround_layer(const Graph& g, const QuantLayer& layer, const Tensor& x_hat, const Tensor& x,
                               const QParams& params, int bits, const QuantRecipe& recipe) {
  return AdaRoundProblem(g, layer, x_hat, x, recipe).round(params, bits);
}

QuantizedWeight adaround_weight(const Calibration& calib, const QuantLayer& layer,
                                const std::map<std::string, QParams>& act, const QParams& params, int bits,
                                const QuantRecipe& recipe) {
  const Node& n = calib.graph().nodes[size_t(layer.node)];
  const std::string& in = n.inputs[size_t(layer.rule.activation_inputs[0])];
  const Tensor& x = calib.cache().at(in);
  auto it = act.find(in);
  const Tensor x_hat = it != act.end() ? fake_quantized(x, it->second) : x;
  return adaround_layer(calib.graph(), layer, x_hat, x, params, bits, recipe);
}

}  // namespace tinyptq
