// SPDX-License-Identifier: Apache-2.0
// sigwait-based termination handling; see net/signals.h.
#include "net/signals.h"

#include <pthread.h>
#include <signal.h>

#include <cerrno>

#include "core/status.h"

namespace kt::net {
namespace {

sigset_t TerminationSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

void BlockTerminationSignals() {
  sigset_t set = TerminationSet();
  KT_CHECK(pthread_sigmask(SIG_BLOCK, &set, nullptr) == 0);
  struct sigaction ign = {};
  ign.sa_handler = SIG_IGN;
  KT_CHECK(sigaction(SIGPIPE, &ign, nullptr) == 0);
}

int WaitForTermination() {
  sigset_t set = TerminationSet();
  int sig = 0;
  KT_CHECK(sigwait(&set, &sig) == 0);
  return sig;
}

std::optional<int> WaitForTerminationFor(std::chrono::milliseconds timeout) {
  sigset_t set = TerminationSet();
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  struct timespec ts;
  ts.tv_sec = static_cast<time_t>(secs.count());
  ts.tv_nsec = static_cast<long>(std::chrono::nanoseconds(timeout - secs).count());
  while (true) {
    int sig = sigtimedwait(&set, nullptr, &ts);
    if (sig > 0) return sig;
    if (errno == EAGAIN) return std::nullopt;
    KT_CHECK(errno == EINTR);  // restart; the timeout restarts too (bounded use)
  }
}

}  // namespace kt::net
