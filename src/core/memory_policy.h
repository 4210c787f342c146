// Process-wide allocator policy for long runs that allocate and free many large buffers (the study builds
// and drops dozens of multi-GB calibration caches). Freshly mapped pages cost a kernel fault and a page
// clear each time; keeping freed memory in the process lets the next cache reuse the same pages.
#pragma once

namespace tinyptq {

// glibc: serve every allocation from one heap grown with brk (no per-buffer mmap, one arena) and never trim
// it, so freed pages are reused instead of returned to the kernel. The resident set stays at its peak
// until exit. A no-op with other C libraries or allocators (e.g. under AddressSanitizer).
void retain_freed_memory();

}  // namespace tinyptq
