// SPDX-License-Identifier: Apache-2.0
// Helpers for integration tests that run the REAL binaries (ktlog, ktwitness,
// kt): child processes with captured output, free loopback ports, readiness
// polling, and the build-tree path of each binary.
#ifndef KT_TESTS_TESTING_PROCESS_H_
#define KT_TESTS_TESTING_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace kt::testing {

// ExitStatus describes how a child ended: exited with `code`, or killed by
// `signal`.
struct ExitStatus {
  bool exited = false;
  int code = -1;    // valid when exited
  int signal = 0;   // valid when !exited
  bool Success() const { return exited && code == 0; }
  std::string ToString() const;
};

// ChildProcess is a fork/exec'ed program whose stdout and stderr go to files
// in a fresh temp directory (kept until process exit, so a failing test can
// print them). The destructor SIGKILLs the child if it still runs and reaps
// it. Not thread-safe.
class ChildProcess {
 public:
  // Start runs `path` with `args` (argv[0] is path) and the parent's
  // environment plus `env` (which overrides). The child gets stdin from
  // /dev/null, an empty signal mask and default SIGPIPE handling even if the
  // test blocked/ignored them. Fails if exec fails (e.g. no such file).
  static core::StatusOr<std::unique_ptr<ChildProcess>> Start(
      const std::string& path, const std::vector<std::string>& args,
      const std::map<std::string, std::string>& env = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Signal sends sig to a running child (no-op once it was reaped).
  void Signal(int sig);
  // Kill sends SIGKILL.
  void Kill();
  // Wait returns the exit status once the child has ended, polling for at
  // most timeout; nullopt if it is still running then.
  std::optional<ExitStatus> Wait(std::chrono::milliseconds timeout);
  // Running reports whether the child has not been reaped yet (non-blocking).
  bool Running();

  // Stdout / Stderr return what the child wrote so far.
  std::string Stdout() const;
  std::string Stderr() const;
  const std::string& stdout_path() const { return stdout_path_; }
  const std::string& stderr_path() const { return stderr_path_; }

 private:
  ChildProcess() = default;
  pid_t pid_ = -1;
  std::optional<ExitStatus> status_;
  std::string stdout_path_;
  std::string stderr_path_;
};

// PickFreePort binds 127.0.0.1:0, reads the port the kernel chose and closes
// the socket. Another process could take the port before it is used, so pass
// it straight to the server under test. Returns -1 on failure.
int PickFreePort();

// WaitForHttpReady polls GET http://host:port<path> until it answers 2xx or
// `timeout` passes (bounded; polls every ~20 ms). True if it became ready.
bool WaitForHttpReady(const std::string& host, int port, const std::string& path,
                      std::chrono::milliseconds timeout);

// BinaryPath returns KT_BINARY_DIR/<folder>/<name>, where folder is log for
// ktlog, witness for ktwitness, client for kt, and the empty folder for any
// other name.
std::string BinaryPath(const std::string& name);

}  // namespace kt::testing

#endif  // KT_TESTS_TESTING_PROCESS_H_
