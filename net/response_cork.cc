// SPDX-License-Identifier: Apache-2.0
// TCP_CORK around cpp-httplib's response writes; see net/response_cork.h.
#include "net/response_cork.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace kt::net {

namespace {

// Endpoint is an address rendered as cpp-httplib renders it (numeric host,
// as getnameinfo NI_NUMERICHOST gives for IPv4 and plain IPv6) and a port.
struct Endpoint {
  std::string addr;
  int port = -1;
};

bool Render(const sockaddr_storage& ss, Endpoint* out) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    if (inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf) == nullptr) return false;
    out->port = ntohs(in->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    if (in6->sin6_scope_id != 0) return false;  // getnameinfo would add "%scope"
    if (inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf) == nullptr) return false;
    out->port = ntohs(in6->sin6_port);
  } else {
    return false;
  }
  out->addr = buf;
  return true;
}

// IsConnection checks that fd is a TCP socket with that peer and local port.
bool IsConnection(int fd, std::string_view remote_addr, int remote_port, int local_port) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  Endpoint local, peer;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0 || !Render(ss, &local) ||
      local.port != local_port) {
    return false;
  }
  len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0 || !Render(ss, &peer)) {
    return false;
  }
  return peer.port == remote_port && peer.addr == remote_addr;
}

// SameAddress compares two socket addresses' family, address and port.
bool SameAddress(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET) {
    const auto* x = reinterpret_cast<const sockaddr_in*>(&a);
    const auto* y = reinterpret_cast<const sockaddr_in*>(&b);
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  if (a.ss_family == AF_INET6) {
    const auto* x = reinterpret_cast<const sockaddr_in6*>(&a);
    const auto* y = reinterpret_cast<const sockaddr_in6*>(&b);
    return x->sin6_port == y->sin6_port &&
           std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
  }
  return false;
}

// StillConnection checks that fd still has the local and peer addresses it
// had when it was found (two syscalls, no formatting).
bool StillConnection(int fd, const sockaddr_storage& local, const sockaddr_storage& peer) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0 || !SameAddress(ss, local)) {
    return false;
  }
  len = sizeof ss;
  return ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0 && SameAddress(ss, peer);
}

bool Addresses(int fd, sockaddr_storage* local, sockaddr_storage* peer) {
  socklen_t len = sizeof *local;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(local), &len) != 0) return false;
  len = sizeof *peer;
  return ::getpeername(fd, reinterpret_cast<sockaddr*>(peer), &len) == 0;
}

void SetCork(int fd, int on) { ::setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on); }

// Per worker thread: the connection it served last and its socket, and the
// socket it has corked.
struct ThreadState {
  std::string remote_addr;
  int remote_port = -1;
  int local_port = -1;
  int fd = -1;        // -1: unknown
  sockaddr_storage local{}, peer{};  // fd's addresses when it was found
  bool seen_twice = false;
  int corked = -1;
};
thread_local ThreadState t_state;

}  // namespace

int FindConnectionSocket(std::string_view remote_addr, int remote_port, int local_port) {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  const int own = ::dirfd(dir);
  int found = -1;
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    int fd = std::atoi(e->d_name);
    if (fd == own) continue;
    if (IsConnection(fd, remote_addr, remote_port, local_port)) {
      found = fd;
      break;
    }
  }
  ::closedir(dir);
  return found;
}

void CorkResponse(std::string_view remote_addr, int remote_port, int local_port) {
  ThreadState& t = t_state;
  if (t.corked >= 0) UncorkResponse();  // a response without its logger call
  const bool same = t.remote_port == remote_port && t.local_port == local_port &&
                    t.remote_addr == remote_addr;
  if (!same) {
    // A new connection on this worker. Search for its socket only from its
    // second request on: one-request connections never pay for the search.
    t.remote_addr = std::string(remote_addr);
    t.remote_port = remote_port;
    t.local_port = local_port;
    t.fd = -1;
    t.seen_twice = false;
    return;
  }
  if (t.fd >= 0 && !StillConnection(t.fd, t.local, t.peer)) t.fd = -1;
  if (t.fd < 0) {
    if (t.seen_twice) return;  // searched for this connection already: not found
    t.seen_twice = true;
    t.fd = FindConnectionSocket(remote_addr, remote_port, local_port);
    if (t.fd < 0 || !Addresses(t.fd, &t.local, &t.peer)) {
      t.fd = -1;
      return;
    }
  }
  SetCork(t.fd, 1);
  t.corked = t.fd;
}

void UncorkResponse() {
  ThreadState& t = t_state;
  if (t.corked < 0) return;
  SetCork(t.corked, 0);
  t.corked = -1;
}

}  // namespace kt::net
