#include "keras/h5_probe.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

#include "core/error.h"

namespace tinyptq {

void screen_in_child(const std::function<void()>& work, const std::string& file, int cpu_seconds) {
  std::fflush(nullptr);  // buffered output must not be written twice
  const pid_t pid = ::fork();
  if (pid < 0) throw Error(file + ": cannot start a process to read the file: " + std::strerror(errno));
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) ::dup2(null, 1), ::dup2(null, 2);
    const rlimit cpu{rlim_t(cpu_seconds), rlim_t(cpu_seconds)};
    ::setrlimit(RLIMIT_CPU, &cpu);
    try {
      work();
    } catch (...) {
      // A clean failure: the parent repeats the work and gets the same exception.
    }
    ::_exit(0);  // no exit handlers: the parent owns stdio buffers, temp files and libhdf5 state
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw Error(file + ": lost the process reading the file: " + std::strerror(errno));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  if (WIFSIGNALED(status) && (WTERMSIG(status) == SIGXCPU || WTERMSIG(status) == SIGKILL))
    throw Error(file + ": damaged HDF5 file: libhdf5 did not finish reading it within " + std::to_string(cpu_seconds) +
                " s of CPU time");
  const std::string how = WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                              : "exit status " + std::to_string(WEXITSTATUS(status));
  throw Error(file + ": damaged HDF5 file: libhdf5 failed while reading it (" + how + ")");
}

}  // namespace tinyptq
