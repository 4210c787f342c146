#include "quant/adaround/reconstruction.h"

#include <algorithm>
#include <memory>
#include <numeric>
#include <random>

#include "core/error.h"
#include "core/progress.h"
#include "quant/adaround/matmul.h"
#include "quant/adaround/parallel.h"

namespace tinyptq::adaround {

namespace {

constexpr int64_t kGramImagesPerPart = 64;  // images per partial Gram sum (fixed: thread-count independent)
constexpr int64_t kGramRowBlock = 16;       // rows per block of the upper triangle of Ĥ

// Uniform draw in [0, n) from raw mt19937_64 outputs (rejection sampling, unbiased, platform independent).
uint64_t bounded(std::mt19937_64& rng, uint64_t n) {
  const uint64_t threshold = (0 - n) % n;  // 2^64 mod n
  for (;;) {
    const uint64_t r = rng();
    if (r >= threshold) return r % n;
  }
}

// Error of one image for rows [r0, r0 + rows), in place over y (= ŷ on entry): e = ŷ − t, or for the
// post-activation loss act(ŷ + b) − t where the activation is linear and 0 where it clamps (the factor
// ∂act/∂ŷ of the gradient).
void error_in_place(const ReconstructionData& d, int64_t n, int64_t r0, int64_t rows, float* y) {
  const int64_t p = d.layer.positions;
  const float* t = d.target + (n * d.layer.out_channels + r0) * p;
  if (!d.post_activation) {
    for (int64_t i = 0; i < rows * p; ++i) y[i] -= t[i];
    return;
  }
  for (int64_t c = 0; c < rows; ++c) {
    const float b = d.bias ? d.bias[r0 + c] : 0.0f;
    for (int64_t q = 0; q < p; ++q) {
      const float z = y[c * p + q] + b;
      const float a = std::clamp(z, d.act_min, d.act_max);
      y[c * p + q] = (z > d.act_min && z < d.act_max) ? a - t[c * p + q] : 0.0f;
    }
  }
}

// Means over the whole set for the centered loss: m̂ = mean column of x̂, t̄ = mean target per channel.
struct SetMeans {
  std::vector<double> column, target;
};

SetMeans set_means(const ReconstructionData& d) {
  const LinearLayer& l = d.layer;
  SetMeans m;
  m.column = mean_column(l, d.x_hat, d.images);
  m.target.assign(size_t(l.out_channels), 0.0);
  for (int64_t n = 0; n < d.images; ++n)
    for (int64_t c = 0; c < l.out_channels; ++c) {
      const float* t = d.target + n * l.out_size() + c * l.positions;
      m.target[size_t(c)] += std::accumulate(t, t + l.positions, 0.0);
    }
  for (double& v : m.target) v /= double(d.images * l.positions);
  return m;
}

// Mini-batch gradient ∂L_rec/∂W̃ for rows [r0, r0 + rows) on the listed images (T = count·P samples).
// Plain: 2/T·Σ e·colsᵀ. Centered: ∂L/∂w̃_c = 2·Cov(e_c, cols), estimated without bias and with the mean
// directions removed by centering both factors with the whole-set means ē_c = w̃_c·m̂ − t̄_c and m̂:
//   2/T·Σ (e − ē)(cols − m̂)ᵀ = 2/T·(Σ e·colsᵀ − ē·(Σ cols)ᵀ − (Σ e)·m̂ᵀ + T·ē·m̂ᵀ).
class MiniBatchGradient {
 public:
  MiniBatchGradient(const ReconstructionData& d, const SetMeans* means, int64_t r0, int64_t rows)
      : d_(d), means_(means), r0_(r0), rows_(rows), cols_(size_t(d.layer.k * d.layer.positions)),
        y_(size_t(rows * d.layer.positions)), col_sum_(size_t(d.layer.k)), err_sum_(size_t(rows)) {}

  void operator()(const float* w_soft, const int64_t* images, int64_t count, float* grad) {
    const LinearLayer& l = d_.layer;
    std::fill(col_sum_.begin(), col_sum_.end(), 0.0);
    std::fill(err_sum_.begin(), err_sum_.end(), 0.0);
    for (int64_t b = 0; b < count; ++b) {
      const int64_t n = images[b];
      im2col(l, d_.x_hat + n * l.in_size, cols_.data());
      matmul_nn(rows_, l.positions, l.k, w_soft, l.k, cols_.data(), l.positions, y_.data(), l.positions, false);
      error_in_place(d_, n, r0_, rows_, y_.data());
      matmul_nt(rows_, l.k, l.positions, y_.data(), l.positions, cols_.data(), l.positions, grad, l.k, b > 0);
      if (!d_.centered) continue;
      for (int64_t q = 0; q < l.k; ++q)
        col_sum_[size_t(q)] += std::accumulate(cols_.begin() + q * l.positions, cols_.begin() + (q + 1) * l.positions, 0.0);
      for (int64_t c = 0; c < rows_; ++c)
        err_sum_[size_t(c)] += std::accumulate(y_.begin() + c * l.positions, y_.begin() + (c + 1) * l.positions, 0.0);
    }
    const double total = double(count * l.positions);
    const double scale = 2.0 / total;
    for (int64_t c = 0; c < rows_; ++c) {
      float* g = grad + c * l.k;
      if (!d_.centered) {
        for (int64_t q = 0; q < l.k; ++q) g[q] = float(scale * g[q]);
        continue;
      }
      const std::vector<double>& m = means_->column;
      double mean_err = -means_->target[size_t(r0_ + c)];
      for (int64_t q = 0; q < l.k; ++q) mean_err += double(w_soft[c * l.k + q]) * m[size_t(q)];
      for (int64_t q = 0; q < l.k; ++q)
        g[q] = float(scale * (double(g[q]) - mean_err * col_sum_[size_t(q)] - err_sum_[size_t(c)] * m[size_t(q)] +
                              total * mean_err * m[size_t(q)]));
    }
  }

 private:
  const ReconstructionData& d_;
  const SetMeans* means_;
  int64_t r0_, rows_;
  std::vector<float> cols_, y_;
  std::vector<double> col_sum_, err_sum_;
};

void check_data(const ReconstructionData& d) {
  check(d.images > 0 && d.x_hat && d.target, "AdaRound: no calibration data");
  check(!(d.centered && d.post_activation), "AdaRound: the centered loss needs the pre-activation loss");
}

}  // namespace

GramTerms gram_terms(const ReconstructionData& d, int threads) {
  check_data(d);
  const LinearLayer& l = d.layer;
  const int64_t k = l.k, p = l.positions, cout = l.out_channels;
  const int64_t parts = (d.images + kGramImagesPerPart - 1) / kGramImagesPerPart;
  std::vector<std::vector<float>> hp(static_cast<size_t>(parts)), bp(static_cast<size_t>(parts));
  run_parts(parts, threads, [&](int64_t part) {
    std::vector<float>& h = hp[size_t(part)];
    std::vector<float>& b = bp[size_t(part)];
    h.assign(size_t(k * k), 0.0f);
    b.assign(size_t(cout * k), 0.0f);
    const int64_t ld = cols_stride(p);
    std::vector<float> cols(size_t(k * ld));
    const int64_t first = part * kGramImagesPerPart, last = std::min(d.images, first + kGramImagesPerPart);
    for (int64_t n = first; n < last; ++n) {
      im2col(l, d.x_hat + n * l.in_size, cols.data(), ld);
      for (int64_t i0 = 0; i0 < k; i0 += kGramRowBlock)
        matmul_nt(std::min(kGramRowBlock, k - i0), k - i0, p, cols.data() + i0 * ld, ld, cols.data() + i0 * ld, ld,
                  h.data() + i0 * k + i0, k, true);
      matmul_nt(cout, k, p, d.target + n * l.out_size(), p, cols.data(), ld, b.data(), k, true);
    }
  });
  std::vector<double> hs(size_t(k * k), 0.0), bs(size_t(cout * k), 0.0);
  for (int64_t part = 0; part < parts; ++part) {
    for (size_t i = 0; i < hs.size(); ++i) hs[i] += hp[size_t(part)][i];
    for (size_t i = 0; i < bs.size(); ++i) bs[i] += bp[size_t(part)][i];
  }
  const double total = double(d.images * p);
  if (d.centered) {  // Ĥ − total·m̂m̂ᵀ, B0 − total·t̄m̂ᵀ
    const SetMeans means = set_means(d);
    const std::vector<double>& m = means.column;
    const std::vector<double>& tmean = means.target;
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = i; j < k; ++j) hs[size_t(i * k + j)] -= total * m[size_t(i)] * m[size_t(j)];
    for (int64_t c = 0; c < cout; ++c)
      for (int64_t j = 0; j < k; ++j) bs[size_t(c * k + j)] -= total * tmean[size_t(c)] * m[size_t(j)];
  }
  GramTerms g;
  g.h.resize(hs.size());
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = i; j < k; ++j) g.h[size_t(i * k + j)] = g.h[size_t(j * k + i)] = float(hs[size_t(i * k + j)]);
  g.b0.assign(bs.begin(), bs.end());
  return g;
}

std::vector<int64_t> minibatch_schedule(int64_t images, int batch, int iterations, uint64_t seed) {
  check(images > 0, "AdaRound: no calibration images");
  const int64_t b = std::min<int64_t>(std::max(batch, 1), images);
  std::mt19937_64 rng(seed);
  std::vector<int64_t> perm(static_cast<size_t>(images)), out;
  out.reserve(size_t(b * std::max(iterations, 0)));
  int64_t next = images;  // position in the current permutation
  for (int t = 0; t < iterations; ++t)
    for (int64_t i = 0; i < b; ++i) {
      if (next == images) {
        std::iota(perm.begin(), perm.end(), int64_t{0});
        for (int64_t j = images - 1; j > 0; --j) std::swap(perm[size_t(j)], perm[bounded(rng, uint64_t(j) + 1)]);
        next = 0;
      }
      out.push_back(perm[size_t(next++)]);
    }
  return out;
}

double reconstruction_loss(const ReconstructionData& d, const float* w, int threads) {
  check_data(d);
  const LinearLayer& l = d.layer;
  constexpr int64_t kChunk = 64;
  std::vector<float> y(size_t(std::min(kChunk, d.images) * l.out_size()));
  std::vector<double> err_sum(size_t(l.out_channels), 0.0);
  double sum = 0.0;
  for (int64_t first = 0; first < d.images; first += kChunk) {
    const int64_t count = std::min(kChunk, d.images - first);
    linear_forward(l, d.x_hat + first * l.in_size, count, w, nullptr, y.data(), threads);
    for (int64_t n = 0; n < count; ++n) {
      float* yn = y.data() + n * l.out_size();
      error_in_place(d, first + n, 0, l.out_channels, yn);
      for (int64_t c = 0; c < l.out_channels; ++c)
        for (int64_t q = 0; q < l.positions; ++q) {
          const double e = yn[c * l.positions + q];
          sum += e * e;
          err_sum[size_t(c)] += e;
        }
    }
  }
  const double total = double(d.images * l.positions);
  double loss = sum / total;
  if (d.centered)
    for (double s : err_sum) loss -= (s / total) * (s / total);
  return loss;
}

std::vector<float> reconstruction_gradient(const ReconstructionData& d, const float* w, const int64_t* images,
                                           int64_t count) {
  check_data(d);
  std::vector<int64_t> all;
  if (!images) {
    all.resize(size_t(d.images));
    std::iota(all.begin(), all.end(), int64_t{0});
    images = all.data();
    count = d.images;
  }
  std::vector<float> grad(size_t(d.layer.out_channels * d.layer.k));
  const SetMeans means = d.centered ? set_means(d) : SetMeans{};
  MiniBatchGradient g(d, &means, 0, d.layer.out_channels);
  g(w, images, count, grad.data());
  return grad;
}

std::vector<int64_t> optimise_rounding(const ReconstructionData& d, const float* w, const RoundingGrid& grid,
                                       const RoundingOptions& o, const GramTerms* precomputed) {
  check_data(d);
  const LinearLayer& l = d.layer;
  const int64_t rows = l.out_channels, k = l.k;
  check(grid.scale.size() == grid.zero_point.size() &&
            (grid.scale.size() == 1 || int64_t(grid.scale.size()) == rows),
        "AdaRound: " + std::to_string(grid.scale.size()) + " scales for " + std::to_string(rows) + " channels");
  check(!(o.full_batch && d.post_activation), "AdaRound: the full-batch form needs the pre-activation loss");
  check(o.schedule.iterations >= 0, "AdaRound: negative iteration count");
  std::vector<float> scale(static_cast<size_t>(rows));
  std::vector<int32_t> zp(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    scale[size_t(r)] = grid.scale[grid.scale.size() == 1 ? 0 : size_t(r)];
    zp[size_t(r)] = grid.zero_point[grid.zero_point.size() == 1 ? 0 : size_t(r)];
  }
  const std::vector<int64_t> batches =
      o.full_batch ? std::vector<int64_t>{} : minibatch_schedule(d.images, o.batch, o.schedule.iterations, o.seed);
  const int64_t batch = std::min<int64_t>(std::max(o.batch, 1), d.images);
  GramTerms own;
  if (o.full_batch && !precomputed) own = gram_terms(d, o.threads);
  const GramTerms& gram = precomputed ? *precomputed : own;
  check(!o.full_batch || (int64_t(gram.h.size()) == k * k && int64_t(gram.b0.size()) == rows * k),
        "AdaRound: Gram terms do not match the layer");
  const float gram_scale = 2.0f / float(d.images * l.positions);
  const SetMeans means = d.centered && !o.full_batch ? set_means(d) : SetMeans{};

  std::vector<int64_t> codes(size_t(rows * k));
  const int64_t parts = std::min<int64_t>(std::max(o.threads, 1), rows);
  std::unique_ptr<Progress> progress;
  if (!o.label.empty()) progress = std::make_unique<Progress>(o.label, o.schedule.iterations);
  run_parts(parts, int(parts), [&](int64_t part) {
    const int64_t r0 = part_begin(rows, parts, part), r1 = part_begin(rows, parts, part + 1), mb = r1 - r0;
    RoundingBlock block(w + r0 * k, mb, k, scale.data() + r0, zp.data() + r0, grid.lo, grid.hi);
    std::vector<float> soft(size_t(mb * k)), grad(size_t(mb * k));
    MiniBatchGradient minibatch(d, &means, r0, mb);
    for (int t = 0; t < o.schedule.iterations; ++t) {
      block.soft_weights(soft.data());
      if (o.full_batch) {
        matmul_nn(mb, k, k, soft.data(), k, gram.h.data(), k, grad.data(), k, false);
        const float* b0 = gram.b0.data() + r0 * k;
        for (int64_t i = 0; i < mb * k; ++i) grad[size_t(i)] = gram_scale * (grad[size_t(i)] - b0[i]);
      } else {
        minibatch(soft.data(), batches.data() + int64_t(t) * batch, batch, grad.data());
      }
      block.step(grad.data(), o.schedule, t);
      if (part == 0 && progress) progress->advance();
    }
    const std::vector<int64_t> q = block.codes();
    std::copy(q.begin(), q.end(), codes.begin() + r0 * k);
  });
  if (progress) progress->finish();
  return codes;
}

}  // namespace tinyptq::adaround
