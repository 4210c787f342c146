#include "core/memory_policy.h"

#include <algorithm>
#include <climits>  // also defines __GLIBC__ on glibc
#include <cstdint>
#include <cstdlib>

#if defined(__GLIBC__)
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace tinyptq {

namespace {

#if defined(__GLIBC__)
// Half the physical memory, at most 8 GiB: address space only, pages are committed when first touched.
size_t huge_page_reserve_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return 0;
  const uint64_t half = uint64_t(pages) * uint64_t(page) / 2;
  return size_t(std::min<uint64_t>(half, uint64_t(8) << 30));
}
#endif

}  // namespace

void retain_freed_memory() {
#if defined(__GLIBC__)
  mallopt(M_ARENA_MAX, 1);         // worker threads share the main (brk) heap ...
  mallopt(M_MMAP_MAX, 0);          // ... which also serves large blocks ...
  mallopt(M_TRIM_THRESHOLD, -1);   // ... and is never trimmed (-1: off; INT_MAX would still trim a free
                                   //     top above 2 GiB, e.g. a dropped 5000-image cache)
  mallopt(M_TOP_PAD, 64 << 20);    // grow it 64 MiB at a time
  // Grow the heap once by the reserve and ask for transparent huge pages on it: its first touches then
  // fault 2 MiB at a time instead of 4 KiB. Freed, the block stays the heap's top (no trim), so later
  // allocations are carved from the advised range. Advice only: if refused, pages stay 4 KiB.
  const size_t reserve = huge_page_reserve_bytes();
  if (reserve == 0) return;
  if (void* p = std::malloc(reserve)) {
    constexpr uintptr_t kHuge = uintptr_t(2) << 20;
    const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
    const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + reserve) & ~(kHuge - 1);
    if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
    std::free(p);
  }
#endif
}

}  // namespace tinyptq
