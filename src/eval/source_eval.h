// Running and evaluating a model on any DataSource (npy, npz, ...): batches of preprocessed samples through an
// Engine, top-1 per sample, and accuracy when the source has labels.
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "data/data_source.h"
#include "data/open_source.h"
#include "eval/evaluate.h"
#include "ir/graph.h"

namespace tinyptq {

// The layout a --preprocess spec's channels refer to: the model's (input_layout) for 4-D 3-channel image
// inputs, NCHW otherwise.
Layout source_layout(const Graph& g);
// spec with height/width set to the H, W of g's 4-D input in source_layout(g) (left -1 when g has no such
// input or those dims are symbolic): image folders are resized to it.
DataSpec with_model_image_size(DataSpec spec, const Graph& g);
// Error naming the data and the model unless samples of s have the model input's shape without its batch
// axis (symbolic dims match anything) and the model has one input.
void check_fits_model(const DataSource& s, const Graph& g, const std::string& model_path);
// [indices.size(), sample...] floats.
Tensor source_batch(const DataSource& s, std::span<const int64_t> indices);

// Runs all samples in order, opts.batch at a time (a progress bar under opts.progress_label when
// opts.progress); fn(first, n, input, outputs) sees every batch's input and outputs.
using BatchOutputs =
    std::function<void(int64_t first, int64_t n, const Tensor& input, const std::vector<Tensor>& outputs)>;
// Returns the engine's seconds (excluding data preparation and fn).
double run_source(Engine& engine, const DataSource& s, const EvalOptions& opts, const BatchOutputs& fn);

// Index of the largest of each row of out (shape [n, ...]): the top-1 class per sample.
std::vector<int> top1_rows(const Tensor& out, int64_t n);

// Accuracy over s's labels (Error naming the data when it has none), per class named by s.class_names(), else
// "0", "1", ...
EvalResult evaluate(Engine& engine, const DataSource& s, const EvalOptions& opts);

}  // namespace tinyptq
