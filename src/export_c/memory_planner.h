// Static placement of buffers in one arena (export-c): every buffer lives over an inclusive range of
// layer indices [first, last]; two buffers whose ranges overlap never share bytes. Greedy by size, as TFLite
// Micro's GreedyMemoryPlanner: largest first (ties: lower id), each at the lowest aligned offset that does
// not collide with an already placed, simultaneously live buffer. Deterministic.
#pragma once
#include <cstdint>
#include <vector>

namespace tinyptq::export_c {

struct ArenaBuffer {
  int64_t bytes = 0;
  int first = 0, last = 0;  // layer indices, first <= last
  int64_t offset = -1;      // set by plan_arena
};

// Sets every offset (multiples of `alignment`) and returns the arena size: the largest end offset, rounded
// up to `alignment`. Error on a negative size or first > last.
int64_t plan_arena(std::vector<ArenaBuffer>& buffers, int64_t alignment = 8);

// The largest total size of the buffers live at any one layer: no placement can use a smaller arena.
int64_t peak_live_bytes(const std::vector<ArenaBuffer>& buffers, int64_t alignment = 8);

}  // namespace tinyptq::export_c
