#include "kernels/fp32/portable/conv_plan.h"

#include <algorithm>

#include "kernels/fp32/portable/phase_planes_impl.h"

namespace tinyptq::fp32 {

namespace {

// Floor division for a possibly negative numerator and positive divisor.
int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Mask words above this count (taps × pixel words) fall back to the reference kernel (absurd kernels).
constexpr int64_t kMaxMaskWords = int64_t(1) << 24;

// Where tap t = (kh, kw) reads: e = k·d − pad_begin = s·q + a with 0 ≤ a < s (per axis).
struct TapGeometry {
  std::vector<int64_t> eh, ew, qh, qw, ah, aw;
};
TapGeometry tap_geometry(const fp32_ref::Window2d& win) {
  const size_t taps = size_t(win.kernel_h * win.kernel_w);
  TapGeometry g;
  for (auto* v : {&g.eh, &g.ew, &g.qh, &g.qw, &g.ah, &g.aw}) v->resize(taps);
  for (int64_t kh = 0; kh < win.kernel_h; ++kh) {
    for (int64_t kw = 0; kw < win.kernel_w; ++kw) {
      const int64_t t = kh * win.kernel_w + kw;
      g.eh[t] = kh * win.dilation_h - win.pad_top;
      g.ew[t] = kw * win.dilation_w - win.pad_left;
      g.qh[t] = floor_div(g.eh[t], win.stride_h);
      g.qw[t] = floor_div(g.ew[t], win.stride_w);
      g.ah[t] = g.eh[t] - g.qh[t] * win.stride_h;
      g.aw[t] = g.ew[t] - g.qw[t] * win.stride_w;
    }
  }
  return g;
}

// Index of phase (ah, aw) in the plan's phase list, or −1.
int64_t find_phase(const ConvPlan& p, int64_t ah, int64_t aw) {
  for (size_t k = 0; k < p.phase_h.size(); ++k)
    if (p.phase_h[k] == ah && p.phase_w[k] == aw) return int64_t(k);
  return -1;
}

}  // namespace

ConvPlan make_conv_plan(const fp32_ref::Conv2dParams& shape, const float* w, const float* bias, float lo,
                        float hi, const ConvKernel& kernel) {
  ConvPlan p;
  p.shape = shape;
  p.shape.batch = 1;
  p.lo = lo;
  p.hi = hi;
  const fp32_ref::Window2d& win = shape.window;
  const int64_t M = shape.out_channels, G = shape.group, Mg = shape.out_per_group, Cg = shape.in_per_group;
  const int64_t taps = win.kernel_h * win.kernel_w;
  p.weights.assign(w, w + M * Cg * taps);
  p.bias.assign(size_t(M), 0.0f);
  if (bias) std::copy(bias, bias + M, p.bias.begin());
  p.out = p.res = {shape.out_h * shape.out_w, 0, p.image_out()};

  const int64_t H = shape.in_h, W = shape.in_w, OH = shape.out_h, OW = shape.out_w;
  const int64_t sh = win.stride_h, sw = win.stride_w, plane = OH * OW;
  if (kernel.mr <= 0 || kernel.nv <= 0 || plane <= 0 || sw * OW < W) return p;
  const int64_t vectors = (plane + kPixelBlock - 1) / kPixelBlock;
  if (taps * vectors > kMaxMaskWords) return p;

  p.implicit = true;
  p.build_planes = kernel.planes ? kernel.planes : build_phase_planes;
  p.mr = kernel.mr;
  p.nv = kernel.nv;
  p.taps = taps;
  p.vectors = vectors;
  p.tiles = (vectors + p.nv - 1) / p.nv;
  p.mblocks = (Mg + p.mr - 1) / p.mr;
  // Direct (the source is x) for stride 1 and OW = W, unless x's channel stride is a multiple of 4 KB with
  // several channels: an L1 way is 4 KB on x86, so the same row of every channel then maps to one L1 set and
  // a tap's channel loop evicts its own lines (ResNet8's 32×32 layers: 24 → 20 µs with the copy). Phase
  // planes of stride 1 are x with the padding rows added: channel stride (OH + pad rows)·OW.
  const bool set_conflicts = (H * W * int64_t(sizeof(float))) % 4096 == 0 && Cg >= 4;
  p.direct = sh == 1 && sw == 1 && OW == W && !set_conflicts;

  const TapGeometry geo = tap_geometry(win);
  const std::vector<int64_t>&eh = geo.eh, &ew = geo.ew, &qh = geo.qh, &qw = geo.qw;
  std::vector<int64_t> phase(static_cast<size_t>(taps));
  for (int64_t t = 0; t < taps; ++t) {
    int64_t k = find_phase(p, geo.ah[t], geo.aw[t]);
    if (k < 0) {
      k = int64_t(p.phase_h.size());
      p.phase_h.push_back(geo.ah[t]);
      p.phase_w.push_back(geo.aw[t]);
    }
    phase[t] = k;
  }
  p.tap_offset.resize(taps);
  if (p.direct) {
    p.phase_h.clear();
    p.phase_w.clear();
    p.channel_stride = H * W;
    for (int64_t t = 0; t < taps; ++t) p.tap_offset[t] = eh[t] * W + ew[t];
  } else {
    const int64_t qmin = *std::min_element(qh.begin(), qh.end()), qmax = *std::max_element(qh.begin(), qh.end());
    p.row0 = qmin;
    p.plane_rows = OH + qmax - qmin;
    p.channel_stride = int64_t(p.phase_h.size()) * p.plane_rows * OW;
    for (int64_t t = 0; t < taps; ++t)
      p.tap_offset[t] = phase[t] * p.plane_rows * OW + (qh[t] - p.row0) * OW + qw[t];
  }

  // Lane j of word v is pixel v·16 + j; it is set where the pixel exists and its tap lies in the input.
  const int64_t words = p.tiles * p.nv;
  p.masks.assign(size_t(taps * words), 0);
  p.store_masks.assign(size_t(words), 0);
  for (int64_t v = 0; v < vectors; ++v) {
    for (int64_t j = 0; j < kPixelBlock; ++j) {
      const int64_t pix = v * kPixelBlock + j;
      if (pix >= plane) break;
      p.store_masks[v] |= uint16_t(1u << j);
      const int64_t oh = pix / OW, ow = pix % OW;
      for (int64_t t = 0; t < taps; ++t) {
        const int64_t ih = oh * sh + eh[t], iw = ow * sw + ew[t];
        if (ih >= 0 && ih < H && iw >= 0 && iw < W) p.masks[t * words + v] |= uint16_t(1u << j);
      }
    }
  }

  // Weights per (group, channel block): [tap][c][mr], rows past M/G zero.
  const int64_t mr = p.mr;
  p.packed.assign(size_t(G * p.mblocks * taps * Cg * mr), 0.0f);
  p.packed_bias.assign(size_t(G * p.mblocks * mr), 0.0f);
  for (int64_t g = 0; g < G; ++g) {
    for (int64_t mb = 0; mb < p.mblocks; ++mb) {
      float* dst = p.packed.data() + (g * p.mblocks + mb) * taps * Cg * mr;
      for (int64_t i = 0; i < mr; ++i) {
        const int64_t row = mb * mr + i;
        if (row >= Mg) break;
        const int64_t m = g * Mg + row;
        p.packed_bias[(g * p.mblocks + mb) * mr + i] = p.bias[m];
        for (int64_t t = 0; t < taps; ++t)
          for (int64_t c = 0; c < Cg; ++c) dst[(t * Cg + c) * mr + i] = p.weights[(m * Cg + c) * taps + t];
      }
    }
  }
  return p;
}

bool adopt_phase_layout(ConvPlan& guest, const ConvPlan& host) {
  const fp32_ref::Conv2dParams &g = guest.shape, &h = host.shape;
  const bool phased = guest.implicit && !guest.direct && host.implicit && !host.direct;
  if (!phased || g.in_channels != h.in_channels || g.in_h != h.in_h || g.in_w != h.in_w || g.out_h != h.out_h ||
      g.out_w != h.out_w || g.window.stride_h != h.window.stride_h || g.window.stride_w != h.window.stride_w)
    return false;
  const TapGeometry geo = tap_geometry(g.window);
  std::vector<int64_t> offset(size_t(guest.taps));
  for (int64_t t = 0; t < guest.taps; ++t) {
    const int64_t k = find_phase(host, geo.ah[t], geo.aw[t]), row = geo.qh[t] - host.row0;
    if (k < 0 || row < 0 || row + g.out_h > host.plane_rows) return false;
    offset[t] = (k * host.plane_rows + row) * g.out_w + geo.qw[t];
  }
  guest.phase_h = host.phase_h;
  guest.phase_w = host.phase_w;
  guest.plane_rows = host.plane_rows;
  guest.row0 = host.row0;
  guest.channel_stride = host.channel_stride;
  guest.tap_offset = std::move(offset);
  return true;
}

bool reads_padded_rows(const ConvPlan& p) {
  const fp32_ref::Conv2dParams& s = p.shape;
  return p.implicit && !p.direct && s.window.stride_h == 1 && s.window.stride_w == 1 && s.out_w == s.in_w &&
         p.phase_h.size() == 1 && p.row0 <= 0 && p.row0 + p.plane_rows >= s.in_h;
}

ConvPlan::Layout planes_layout(const ConvPlan& p) {
  return {p.channel_stride, -p.row0 * p.shape.in_w, p.shape.in_channels * p.channel_stride};
}

bool can_write_phase_planes(const ConvPlan& producer, const ConvPlan& reader) {
  const fp32_ref::Conv2dParams &p = producer.shape, &r = reader.shape;
  return producer.implicit && reader.implicit && !reader.direct && r.window.stride_h == 2 &&
         r.window.stride_w == 2 && p.out_w % kPixelBlock == 0 && p.out_channels == r.in_channels &&
         p.out_h == r.in_h && p.out_w == r.in_w && 2 * r.out_w >= p.out_w;  // (implicit readers have it)
}

void write_phase_planes_of(ConvPlan& producer, const ConvPlan& reader) {
  ConvPlan::PlanesOut& o = producer.planes_out;
  o = ConvPlan::PlanesOut{};
  o.on = true;
  for (size_t k = 0; k < reader.phase_h.size(); ++k) o.phase[reader.phase_h[k]][reader.phase_w[k]] = int64_t(k);
  o.plane_rows = reader.plane_rows;
  o.row0 = reader.row0;
  o.width = reader.shape.out_w;
  producer.out = {reader.channel_stride, 0, conv_planes_floats(reader)};
}

bool same_planes(const ConvPlan& a, const ConvPlan& b) {
  const fp32_ref::Conv2dParams &s = a.shape, &t = b.shape;
  return a.implicit && b.implicit && !a.direct && !b.direct && a.phase_h == b.phase_h && a.phase_w == b.phase_w &&
         a.plane_rows == b.plane_rows && a.row0 == b.row0 && a.channel_stride == b.channel_stride &&
         s.in_channels == t.in_channels && s.in_h == t.in_h && s.in_w == t.in_w && s.out_w == t.out_w &&
         s.window.stride_h == t.window.stride_h && s.window.stride_w == t.window.stride_w;
}

std::vector<PlaneSpan> plane_padding(const ConvPlan& reader) {
  // The builder's own zero fill (its loop with the row copies left out) over a buffer of ones.
  std::vector<float> marks(size_t(conv_planes_floats(reader)), 1.0f);
  phase_planes_loop(reader, nullptr, marks.data(), 0, reader.shape.in_channels,
                    [](float*, const float*, int64_t, int64_t) {});
  std::vector<PlaneSpan> spans;
  for (int64_t i = 0; i < int64_t(marks.size());) {
    if (marks[i] != 0.0f) {
      ++i;
      continue;
    }
    const int64_t begin = i;
    while (i < int64_t(marks.size()) && marks[i] == 0.0f) ++i;
    spans.push_back({begin, i - begin});
  }
  return spans;
}

void zero_spans(const std::vector<PlaneSpan>& spans, int64_t image_floats, float* planes, int64_t images) {
  for (int64_t n = 0; n < images; ++n)
    for (const PlaneSpan& s : spans) std::fill_n(planes + n * image_floats + s.offset, s.length, 0.0f);
}

int64_t conv_items(const ConvPlan& p, int64_t images) {
  return p.implicit ? images * p.shape.group * p.tiles * p.mblocks : images;
}

int64_t conv_planes_floats(const ConvPlan& p) {
  return p.implicit && !p.direct ? p.shape.in_channels * p.channel_stride : 0;
}

void build_phase_planes(const ConvPlan& p, const float* x, float* planes, int64_t c_begin, int64_t c_end) {
  phase_planes_loop(p, x, planes, c_begin, c_end, copy_strided);
}

void conv_run_reference(const ConvPlan& p, const float* x, const float* residual, float* y, int64_t images,
                        int64_t item_begin, int64_t item_end, const float* planes, float* scratch) {
  fp32_ref::Conv2dParams one = p.shape;
  one.batch = 1;
  const int64_t in = p.image_in(), out = p.image_out();
  for (int64_t n = item_begin; n < item_end; ++n) {
    float* yn = y + n * out;
    fp32_ref::conv2d(one, x + n * in, p.weights.data(), p.bias.data(), yn);
    const float* rn = residual ? residual + n * out : nullptr;
    for (int64_t i = 0; i < out; ++i) {
      float v = rn ? yn[i] + rn[i] : yn[i];
      v = v < p.lo ? p.lo : v;
      yn[i] = v > p.hi ? p.hi : v;
    }
  }
}

ConvItem conv_item(const ConvPlan& p, int64_t item) {
  const int64_t per_group = p.tiles * p.mblocks, per_image = p.shape.group * per_group;
  const int64_t r = item % per_image;
  return {item / per_image, r / per_group, (r % per_group) / p.mblocks, r % p.mblocks};
}

void next_item(const ConvPlan& p, ConvItem& it) {
  if (++it.mb < p.mblocks) return;
  it.mb = 0;
  if (++it.tile < p.tiles) return;
  it.tile = 0;
  if (++it.g < p.shape.group) return;
  it.g = 0;
  ++it.n;
}

ConvTile conv_tile(const ConvPlan& p, const float* x, const float* residual, float* y, const float* planes,
                   float* scratch, const ConvItem& it, int64_t& scratch_image) {
  const fp32_ref::Conv2dParams& s = p.shape;
  const int64_t n = it.n, g = it.g, tile_index = it.tile, mb = it.mb;
  const float* source;
  if (p.direct) {
    source = x + n * p.image_in();
  } else if (planes) {
    source = planes + n * s.in_channels * p.channel_stride;
  } else {
    if (scratch_image != n) {
      p.build_planes(p, x + n * p.image_in(), scratch, 0, s.in_channels);
      scratch_image = n;
    }
    source = scratch;
  }
  const int64_t block = g * p.mblocks + mb, m0 = g * s.out_per_group + mb * p.mr;
  ConvTile t;
  t.a = p.packed.data() + block * p.taps * s.in_per_group * p.mr;
  t.bias = p.packed_bias.data() + block * p.mr;
  t.src = source + g * s.in_per_group * p.channel_stride;
  t.res = residual ? residual + n * p.res.image + p.res.offset + m0 * p.res.channel_stride : nullptr;
  t.y = y + n * p.out.image + p.out.offset + m0 * p.out.channel_stride;
  t.rows = s.out_per_group - mb * p.mr < p.mr ? s.out_per_group - mb * p.mr : p.mr;
  t.word0 = tile_index * p.nv;
  return t;
}

}  // namespace tinyptq::fp32
