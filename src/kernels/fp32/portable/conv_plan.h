// Preparing a ConvPlan (geometry, masks, packed weights) and the ISA-independent parts of running one:
// work items, scratch size, phase planes, and the reference fallback with its output stage.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/fp32/kernel_table.h"

namespace tinyptq::fp32 {

// w: [M][C/G][kH][kW], bias: [M] or null. The implicit layout is made for kernel.mr × kernel.nv tiles when
// the kernel has one (mr > 0) and the shape allows it (see ConvPlan), else implicit = false.
ConvPlan make_conv_plan(const fp32_ref::Conv2dParams& shape, const float* w, const float* bias, float lo,
                        float hi, const ConvKernel& kernel);

// Makes guest read the phase planes of host (same input geometry and strides; every phase and row a guest
// tap reads exists in host's planes): guest takes host's phase list, rows and channel stride, so the planes
// built for host serve both (and guest, run alone, builds that same layout). False, guest unchanged, when
// the planes do not fit.
bool adopt_phase_layout(ConvPlan& guest, const ConvPlan& host);

// True when p's planes are x with zero rows above and below each channel (stride 1, OW = W, the planes
// cover every row of x): a producer can then write x in that layout (planes_layout) and p reads it as its
// planes, with no copy.
bool reads_padded_rows(const ConvPlan& p);
// x laid out as p's planes: channel stride, offset of row 0 (−row0 zero rows before it), floats per image.
ConvPlan::Layout planes_layout(const ConvPlan& p);
// True when a Conv producing reader's input can write it straight into reader's stride-2 phase planes
// (ConvPlan::planes_out): reader is phased with strides 2×2 and the producer's OW is a multiple of 16.
bool can_write_phase_planes(const ConvPlan& producer, const ConvPlan& reader);
// Sets producer.planes_out and producer.out for reader (requires can_write_phase_planes).
void write_phase_planes_of(ConvPlan& producer, const ConvPlan& reader);
// Same phase geometry (phases, rows, channel stride, input and output size): one set of planes serves both.
bool same_planes(const ConvPlan& a, const ConvPlan& b);
// The runs of one image's planes of reader that no input element fills (padding rows and columns), adjacent
// runs merged: what a producer writing the planes directly leaves alone. Found once, when a plan is made.
struct PlaneSpan {
  int64_t offset, length;
};
std::vector<PlaneSpan> plane_padding(const ConvPlan& reader);
// Zeroes the spans in each of `images` images of `image_floats` floats.
void zero_spans(const std::vector<PlaneSpan>& spans, int64_t image_floats, float* planes, int64_t images);

// Work items of `images` images: images·G·tiles·mblocks (implicit) or images (reference). Item order is
// image, group, pixel tile, channel block (innermost).
int64_t conv_items(const ConvPlan& p, int64_t images);
// Floats of the phase planes of one image (0 when direct or reference); also the scratch a run call needs.
int64_t conv_planes_floats(const ConvPlan& p);
inline int64_t conv_scratch_floats(const ConvPlan& p) { return conv_planes_floats(p); }

// One work item of an implicit ConvPlan run: an MR-channel block over an nv-word pixel tile of one image.
struct ConvTile {
  const float* a;     // packed weights of this (group, block): [taps][cg][MR]
  const float* bias;  // [MR]
  const float* src;   // source of this image and group
  const float* res;   // residual of this image at the tile's first channel, or null
  float* y;           // output of this image at the tile's first channel (or its planes, planes_out)
  int64_t rows;       // valid output channels (≤ MR)
  int64_t word0;      // first mask word of the tile
};

// The ISA-independent part of a ConvRunFn: where item `item` reads and writes. The source is x itself
// (direct plans), the image's precomputed phase planes, or planes built into scratch once per image;
// scratch_image names the image scratch holds (start with −1).
// Position of a work item (item order: image, group, pixel tile, channel block innermost).
struct ConvItem {
  int64_t n, g, tile, mb;
};
ConvItem conv_item(const ConvPlan& p, int64_t item);  // divides: once per run call
void next_item(const ConvPlan& p, ConvItem& it);      // the item after it, by increments

ConvTile conv_tile(const ConvPlan& p, const float* x, const float* residual, float* y, const float* planes,
                   float* scratch, const ConvItem& it, int64_t& scratch_image);

// Fills channels [c_begin, c_end) of the phase planes of one image x [C][H][W] into planes
// [C][phases][plane_rows][OW].
void build_phase_planes(const ConvPlan& p, const float* x, float* planes, int64_t c_begin, int64_t c_end);

// The reference kernel per image, then the output stage (portable ConvRunFn; items are images).
void conv_run_reference(const ConvPlan& p, const float* x, const float* residual, float* y, int64_t images,
                        int64_t item_begin, int64_t item_end, const float* planes, float* scratch);

}  // namespace tinyptq::fp32
