#include "export_c/memory_planner.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace tinyptq::export_c {

namespace {
int64_t align_up(int64_t v, int64_t a) { return (v + a - 1) / a * a; }
bool overlap(const ArenaBuffer& a, const ArenaBuffer& b) { return a.first <= b.last && b.first <= a.last; }
}  // namespace

int64_t plan_arena(std::vector<ArenaBuffer>& buffers, int64_t alignment) {
  check(alignment > 0, "arena alignment must be positive");
  for (const auto& b : buffers)
    check(b.bytes >= 0 && b.first <= b.last, "arena buffer with a negative size or an empty lifetime");
  std::vector<size_t> order(buffers.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return buffers[a].bytes > buffers[b].bytes; });
  std::vector<size_t> placed;
  int64_t arena = 0;
  for (size_t i : order) {
    ArenaBuffer& b = buffers[i];
    // Live neighbours sorted by offset; take the first gap that holds b.
    std::vector<const ArenaBuffer*> live;
    for (size_t j : placed)
      if (overlap(buffers[j], b)) live.push_back(&buffers[j]);
    std::sort(live.begin(), live.end(), [](const ArenaBuffer* x, const ArenaBuffer* y) {
      return x->offset != y->offset ? x->offset < y->offset : x->bytes < y->bytes;
    });
    int64_t offset = 0;
    for (const ArenaBuffer* o : live) {
      if (offset + b.bytes <= o->offset) break;
      offset = std::max(offset, align_up(o->offset + o->bytes, alignment));
    }
    b.offset = offset;
    arena = std::max(arena, align_up(offset + b.bytes, alignment));
    placed.push_back(i);
  }
  return arena;
}

int64_t peak_live_bytes(const std::vector<ArenaBuffer>& buffers, int64_t alignment) {
  int last = -1;
  for (const auto& b : buffers) last = std::max(last, b.last);
  int64_t peak = 0;
  for (int t = 0; t <= last; ++t) {
    int64_t live = 0;
    for (const auto& b : buffers)
      if (b.first <= t && t <= b.last) live += align_up(b.bytes, alignment);
    peak = std::max(peak, live);
  }
  return peak;
}

}  // namespace tinyptq::export_c
