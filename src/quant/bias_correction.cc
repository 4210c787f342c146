#include "quant/bias_correction.h"

#include "core/error.h"
#include "engine/fp32_engine.h"
#include "quant/adaround/fake_quant.h"
#include "quant/adaround/linear_layer.h"
#include "quant/weight_quantizer.h"

namespace tinyptq {

Tensor run_layer(const Graph& g, const QuantLayer& layer, const Tensor& input, const Tensor& weight) {
  const Node& src = g.nodes[layer.node];
  Graph one;
  Shape in_shape = input.shape;
  in_shape[0] = -1;
  one.inputs.push_back({"x", DType::kFloat32, in_shape});
  one.initializers["w"] = weight;
  Node n = src;
  n.inputs = {"x", "w"};
  n.outputs = {"y"};
  one.nodes.push_back(n);
  one.outputs.push_back({"y", DType::kFloat32, {}});
  Fp32Engine engine(one);
  return engine.run(input)[0];
}

Tensor fake_quantized(const Tensor& x, const QParams& p) {
  Tensor out = x;
  adaround::fake_quantize_tensor(out.f, p);
  return out;
}

Tensor corrected_bias(const Graph& g, const QuantLayer& layer, const Tensor& x_hat, const Tensor& x,
                      const Tensor& weight) {
  const Node& n = g.nodes[layer.node];
  const Tensor& w = *g.initializer(n.inputs[layer.rule.weight_input]);
  const int64_t channels = w.shape[0];
  Tensor bias = Tensor::zeros({channels});
  const int bi = layer.rule.bias_input;
  if (bi >= 0 && bi < int(n.inputs.size()) && !n.inputs[bi].empty()) bias = *g.initializer(n.inputs[bi]);
  check(x_hat.shape == x.shape, "bias correction '" + layer.name + "': inputs " + shape_str(x_hat.shape) +
                                    " and " + shape_str(x.shape) + " differ");
  std::vector<double> shift(size_t(channels), 0.0);
  if (adaround::is_linear_layer(g, n)) {
    const adaround::LinearLayer l = adaround::make_linear_layer(n, x.shape, w.shape);
    const std::vector<double> mq = adaround::mean_column(l, x_hat.f.data(), x.shape[0]);
    const std::vector<double> mf = adaround::mean_column(l, x.f.data(), x.shape[0]);
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t q = 0; q < l.k; ++q)
        shift[size_t(c)] += double(weight.f[size_t(c * l.k + q)]) * mq[size_t(q)] - double(w.f[size_t(c * l.k + q)]) * mf[size_t(q)];
  } else {
    const Tensor y_float = run_layer(g, layer, x, w);
    const Tensor y_quant = run_layer(g, layer, x_hat, weight);
    // Outputs are [N, C, ...]: mean over N and the trailing spatial positions.
    const int64_t batch = y_float.shape[0];
    const int64_t inner = int64_t(y_float.f.size()) / (batch * channels);
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t c = 0; c < channels; ++c)
        for (int64_t k = 0; k < inner; ++k) {
          const int64_t idx = (b * channels + c) * inner + k;
          shift[size_t(c)] += (double(y_quant.f[idx]) - double(y_float.f[idx])) / double(batch * inner);
        }
  }
  for (int64_t c = 0; c < channels; ++c) bias.f[c] -= float(shift[size_t(c)]);
  return bias;
}

Tensor corrected_bias(const Calibration& calib, const QuantLayer& layer,
                      const std::map<std::string, QParams>& act, const QuantizedWeight& weight) {
  const Node& n = calib.graph().nodes[layer.node];
  const std::string& xin = n.inputs[layer.rule.activation_inputs[0]];
  const Tensor& x = calib.cache().at(xin);
  auto it = act.find(xin);
  return corrected_bias(calib.graph(), layer, it != act.end() ? fake_quantized(x, it->second) : x, x,
                        dequantize_weight(weight));
}

}  // namespace tinyptq
