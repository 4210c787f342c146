// Crash containment for libhdf5. libhdf5 1.10 (Debian 12) reads damaged files out of bounds or loops
// forever in places no caller can guard (object-header and global-heap decoding; see docs/hardening.md),
// so an import is first run in a forked child process: if the child dies or runs out of CPU time, the
// file is reported as damaged; otherwise the import is repeated in-process and behaves identically.
#pragma once
#include <functional>
#include <string>

namespace tinyptq {

// Runs `work` in a forked child with stdout/stderr discarded and at most `cpu_seconds` of CPU time.
// Returns when the child ended normally, whether work() returned or threw (the caller repeats the work
// in-process, which reproduces the same outcome). Throws Error naming `file` when the child was killed by
// a signal (crash) or by the CPU limit (hang), or when no child process can be started.
void screen_in_child(const std::function<void()>& work, const std::string& file, int cpu_seconds);

}  // namespace tinyptq
