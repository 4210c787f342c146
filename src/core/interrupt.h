// Cooperative Ctrl-C for long commands (study): the first SIGINT or SIGTERM only sets a flag that the work
// loop checks between units of work, so finished results stay intact and no file is left half-written; a
// second signal ends the process at once (default action).
#pragma once
#include <string>

#include "core/error.h"

namespace tinyptq {

// Installs the handler for SIGINT and SIGTERM (idempotent).
void install_interrupt_handler();

// True once SIGINT or SIGTERM arrived after install_interrupt_handler().
bool interrupted();

// Thrown when a command stops because of interrupted(); the CLI exits with 128 + the signal number.
class Interrupted : public Error {
 public:
  Interrupted(const std::string& message, int signal) : Error(message), signal_(signal) {}
  int signal() const { return signal_; }

 private:
  int signal_;
};

// The signal that set interrupted() (0 if none).
int interrupt_signal();

}  // namespace tinyptq
