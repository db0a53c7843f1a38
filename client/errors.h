// SPDX-License-Identifier: Apache-2.0
// Client error classes and the `kt` exit codes (docs/client.md). core::Status
// codes are shared by every component, so the client marks its own outcomes
// with a reason prefix, as core/note.h does ("malformed: ..."):
//   "fork: ..."        Conflict: two signed checkpoints that cannot be consistent
//   "rollback: ..."    Conflict: the log served a checkpoint older than state
//   "key_change: ..."  Conflict: a pinned contact's keys changed
#ifndef KT_CLIENT_ERRORS_H_
#define KT_CLIENT_ERRORS_H_

#include <string>

#include "core/status.h"

namespace kt::client {

// Exit codes of `kt` (documented in `kt --help` and docs/client.md).
enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 1,
  kExitVerification = 2,  // a signature, proof, entry or policy check failed
  kExitFork = 3,          // two checkpoints that cannot be consistent; evidence written
  kExitRollback = 4,      // the log served a checkpoint older than the stored one
  kExitNetwork = 5,       // the log could not be reached or answered an error
  kExitKeyChange = 6,     // a pinned contact's keys changed; accept explicitly
  kExitLocalState = 7,    // the local state directory could not be read or written
};

core::Status ForkError(const std::string& reason);
core::Status RollbackError(const std::string& reason);
core::Status KeyChangeError(const std::string& reason);
bool IsFork(const core::Status& s);
bool IsRollback(const core::Status& s);
bool IsKeyChange(const core::Status& s);

// ExitCodeFor maps a Status to the exit code above: fork, rollback and key
// change by their prefix; Unavailable, ResourceExhausted and NotFound (what a
// Fetcher returns when the log is unreachable or answers an error) are
// kExitNetwork; IOError and Corruption (local files) are kExitLocalState;
// a "usage: " prefix is kExitUsage; everything else is kExitVerification.
int ExitCodeFor(const core::Status& s);

}  // namespace kt::client

#endif  // KT_CLIENT_ERRORS_H_
