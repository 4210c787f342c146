#include "core/interrupt.h"

#include <signal.h>

#include <atomic>

namespace tinyptq {
namespace {

std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "the handler stores into this atomic");

extern "C" void on_interrupt(int sig) { g_signal.store(sig); }

}  // namespace

void install_interrupt_handler() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  // SA_RESETHAND: the next signal takes the default action (a second Ctrl-C kills at once). SA_RESTART:
  // system calls in progress continue.
  sa.sa_flags = SA_RESETHAND | SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool interrupted() { return g_signal.load() != 0; }

int interrupt_signal() { return g_signal.load(); }

}  // namespace tinyptq
