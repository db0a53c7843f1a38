// SPDX-License-Identifier: Apache-2.0
// One TCP segment per HTTP response. cpp-httplib 0.11 writes a response's
// status line + headers and its body with two send() calls; with TCP_NODELAY
// that is two segments and two wake-ups of the reader for every small
// answer (a third of a node's CPU on the read path). ConfigureServer corks
// the connection's socket (TCP_CORK) just before cpp-httplib writes a
// response and uncorks it (which sends everything at once) just after.
//
// cpp-httplib does not give handlers the socket, so the worker thread finds
// it once per keep-alive connection: the process's TCP socket whose local
// port and peer address and port are the request's (unique among live
// connections), checked again with getsockname/getpeername before every
// use. When it cannot be found or checked, nothing is corked (two writes, as
// before). Linux only; elsewhere these are no-ops.
#ifndef KT_NET_RESPONSE_CORK_H_
#define KT_NET_RESPONSE_CORK_H_

#include <string_view>

namespace kt::net {

// CorkResponse corks the socket of the connection (remote_addr as cpp-httplib
// renders it, remote_port, local_port) served by the calling thread. Call on
// the worker thread before the response is written; UncorkResponse after.
void CorkResponse(std::string_view remote_addr, int remote_port, int local_port);
// UncorkResponse uncorks what the calling thread's last CorkResponse corked
// (the kernel sends the pending data); a no-op when nothing is corked.
void UncorkResponse();

// FindConnectionSocket returns the file descriptor of this process's TCP
// socket whose peer is (remote_addr, remote_port) and whose local port is
// local_port, or -1. Scans /proc/self/fd (a few syscalls per open socket).
int FindConnectionSocket(std::string_view remote_addr, int remote_port, int local_port);

}  // namespace kt::net

#endif  // KT_NET_RESPONSE_CORK_H_
