// SPDX-License-Identifier: Apache-2.0
// Graceful shutdown for the node binaries: block SIGTERM/SIGINT in every
// thread, then wait for one with sigwait on the main thread.
#ifndef KT_NET_SIGNALS_H_
#define KT_NET_SIGNALS_H_

#include <chrono>
#include <optional>

namespace kt::net {

// BlockTerminationSignals blocks SIGTERM and SIGINT in the calling thread (and
// so in every thread it spawns afterwards) and ignores SIGPIPE (a peer closing
// a socket must not kill the node). Call it first thing in main, before any
// thread starts; otherwise a thread that still accepts the signal may get it
// and the default action kills the process.
void BlockTerminationSignals();

// WaitForTermination blocks until SIGTERM or SIGINT is pending and returns its
// number. Requires BlockTerminationSignals.
int WaitForTermination();

// WaitForTerminationFor is WaitForTermination with a timeout: nullopt if no
// termination signal arrived within it.
std::optional<int> WaitForTerminationFor(std::chrono::milliseconds timeout);

}  // namespace kt::net

#endif  // KT_NET_SIGNALS_H_
