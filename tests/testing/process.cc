// SPDX-License-Identifier: Apache-2.0
// Child processes, ports and readiness polling for integration tests.
#include "tests/testing/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/testing/vectors.h"

extern char** environ;

namespace kt::testing {

using core::Status;
using core::StatusOr;

namespace {

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ExitStatus FromWaitStatus(int ws) {
  ExitStatus s;
  if (WIFEXITED(ws)) {
    s.exited = true;
    s.code = WEXITSTATUS(ws);
  } else if (WIFSIGNALED(ws)) {
    s.signal = WTERMSIG(ws);
  }
  return s;
}

}  // namespace

std::string ExitStatus::ToString() const {
  if (exited) return "exited with code " + std::to_string(code);
  return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
}

StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    const std::string& path, const std::vector<std::string>& args,
    const std::map<std::string, std::string>& env) {
  std::unique_ptr<ChildProcess> child(new ChildProcess());
  std::string dir = TempDir("proc");
  child->stdout_path_ = dir + "/stdout";
  child->stderr_path_ = dir + "/stderr";

  // Everything the child needs is prepared before fork: after fork only
  // async-signal-safe calls are allowed (the test process has threads).
  std::vector<std::string> argv_s = {path};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    size_t eq = kv.find('=');
    if (eq != std::string::npos) merged[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : env) merged[k] = v;
  std::vector<std::string> env_s;
  for (const auto& [k, v] : merged) env_s.push_back(k + "=" + v);
  std::vector<char*> argv = CStrings(argv_s);
  std::vector<char*> envp = CStrings(env_s);

  int out = ::open(child->stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int err = ::open(child->stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int exec_pipe[2] = {-1, -1};  // reports exec failure (errno) to the parent
  if (out < 0 || err < 0 || in < 0 || ::pipe2(exec_pipe, O_CLOEXEC) != 0) {
    int e = errno;
    for (int fd : {out, err, in, exec_pipe[0], exec_pipe[1]}) {
      if (fd >= 0) ::close(fd);
    }
    return Status::IOError(std::string("ChildProcess setup: ") + std::strerror(e));
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::execve(path.c_str(), argv.data(), envp.data());
    int e = errno;
    ssize_t ignored = ::write(exec_pipe[1], &e, sizeof(e));
    (void)ignored;
    ::_exit(127);
  }
  int fork_errno = errno;
  for (int fd : {out, err, in, exec_pipe[1]}) ::close(fd);
  if (pid < 0) {
    ::close(exec_pipe[0]);
    return Status::IOError(std::string("fork: ") + std::strerror(fork_errno));
  }
  child->pid_ = pid;
  int exec_errno = 0;
  ssize_t n;
  do {
    n = ::read(exec_pipe[0], &exec_errno, sizeof(exec_errno));
  } while (n < 0 && errno == EINTR);
  ::close(exec_pipe[0]);
  if (n > 0) {
    child->Wait(std::chrono::seconds(10));  // reap the failed child
    return Status::NotFound("exec " + path + ": " + std::strerror(exec_errno));
  }
  return child;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !status_) {
    Kill();
    int ws = 0;
    while (::waitpid(pid_, &ws, 0) < 0 && errno == EINTR) {
    }
  }
}

void ChildProcess::Signal(int sig) {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

void ChildProcess::Kill() { Signal(SIGKILL); }

bool ChildProcess::Running() { return !Wait(std::chrono::milliseconds(0)).has_value(); }

std::optional<ExitStatus> ChildProcess::Wait(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int ws = 0;
    pid_t r = ::waitpid(pid_, &ws, WNOHANG);
    if (r == pid_) {
      status_ = FromWaitStatus(ws);
      return status_;
    }
    if (r < 0 && errno != EINTR) return std::nullopt;  // not our child: a bug
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string ChildProcess::Stdout() const { return ReadAll(stdout_path_); }
std::string ChildProcess::Stderr() const { return ReadAll(stderr_path_); }

int PickFreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

bool WaitForHttpReady(const std::string& host, int port, const std::string& path,
                      std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  httplib::Client client(host, port);
  client.set_connection_timeout(std::chrono::milliseconds(200));
  client.set_read_timeout(std::chrono::milliseconds(1000));
  while (true) {
    auto res = client.Get(path);
    if (res && res->status >= 200 && res->status < 300) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string BinaryPath(const std::string& name) {
  std::string folder;
  if (name == "ktlog") folder = "log/";
  if (name == "ktwitness") folder = "witness/";
  if (name == "kt") folder = "client/";
  return std::string(KT_BINARY_DIR) + "/" + folder + name;
}

}  // namespace kt::testing
