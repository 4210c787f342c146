#include "core/memory_policy.h"

#include <climits>  // also defines __GLIBC__ on glibc

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace tinyptq {

void retain_freed_memory() {
#if defined(__GLIBC__)
  mallopt(M_ARENA_MAX, 1);              // worker threads share the main (brk) heap ...
  mallopt(M_MMAP_MAX, 0);               // ... which also serves large blocks ...
  mallopt(M_TRIM_THRESHOLD, INT_MAX);   // ... and is not trimmed below 2 GiB of free top
  mallopt(M_TOP_PAD, 64 << 20);         // grow it 64 MiB at a time
#endif
}

}  // namespace tinyptq
