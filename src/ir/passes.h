// Graph canonicalization passes. Each rewrites the graph in place and keeps its meaning: the outputs
// of the rewritten graph equal the original's (up to float rounding in folded arithmetic). All passes
// expect a graph that passed Graph::validate_and_sort() (nodes in topological order) and keep the graph
// inputs, outputs and their names unchanged.
#pragma once

#include "ir/graph.h"

namespace tinyptq {

// Removes Identity nodes, rewiring their consumers to the Identity's input. An Identity that maps a
// graph input, an initializer or another graph output directly onto a graph output is kept (removing it
// would rename a graph output). Afterwards no other Identity remains.
void remove_identities(Graph& g);

// MatMul(A, W) → Add(·, b) with W a constant 2-D float [K,N], b a constant float [N] (or [1,N]), A known
// to be 2-D, and the MatMul output read only by that Add, becomes Gemm(A, W, b) writing the Add's output.
void fuse_matmul_add(Graph& g);

// BatchNormalization whose input comes from a Conv (constant float weight, optional constant bias) whose
// output nothing else reads is folded into the Conv, per output channel m:
//   s = γ[m] / √(σ²[m] + ε),  w'[m] = w[m]·s,  b'[m] = (b[m] − μ[m])·s + β[m]
// The Conv then writes the BN's output. Weights shared with other nodes are copied, not modified.
// A BN that does not follow such a Conv stays.
void fold_batchnorm(Graph& g);

// Replaces nodes whose inputs are all initializers by an initializer holding their result, for
// Transpose, Reshape, Identity and same-shape, same-dtype Add/Mul/Sub. Chains fold in one call. Nodes
// writing a graph output are kept. Throws Error naming the node on an invalid perm or reshape target.
void fold_constants(Graph& g);

// Pad (constant 0, pads ≥ 0 on the spatial axes of a 4-D input only) whose every reader is a Conv's data
// input with explicit or VALID padding is folded into those Convs' pads: Conv(Pad(x)) = Conv'(x) with
// pads' = pads + Pad's (Conv pads with zeros, the same value). Keras ZeroPadding2D → Conv becomes one Conv,
// which the integer engine runs without a float step. A Pad writing a graph output stays.
void fold_pad_into_conv(Graph& g);

// remove_identities, fold_constants, fuse_matmul_add, fold_batchnorm (into Conv and Gemm), fold_pad_into_conv,
// then Graph::remove_dead and Graph::validate_and_sort.
void canonicalize(Graph& g);

}  // namespace tinyptq
