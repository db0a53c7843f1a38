// SPDX-License-Identifier: Apache-2.0
// RawConn: a minimal HTTP/1.1 keep-alive client over one loopback TCP
// connection, for load drivers (bench/*_load.cc) that must cost the machine
// little: requests are pre-serialised bytes, responses are framed by
// Content-Length and read into a reused buffer.
#ifndef KT_TESTS_TESTING_RAW_HTTP_H_
#define KT_TESTS_TESTING_RAW_HTTP_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace kt::testing {

// RawConn talks to 127.0.0.1:port. Not thread-safe; one per driver thread.
class RawConn {
 public:
  explicit RawConn(int port) : port_(port) {}
  ~RawConn() { Close(); }
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  // RoundTrip sends `request` (connecting first if needed) and reads one
  // response into *status and *body (valid until the next call). False with
  // *err on a socket or framing error; the connection is then closed and the
  // next call reconnects. A "Connection: close" answer closes it too.
  bool RoundTrip(std::string_view request, int* status, std::string_view* body, std::string* err);

 private:
  bool Connect(std::string* err);
  void Close();
  bool Fail(std::string* err, const char* why);

  int port_;
  int fd_ = -1;
  bool close_after_ = false;
  std::string buf_ = std::string(4096, '\0');
};

// HttpRequestBytes lays out one HTTP/1.1 request for RawConn: `extra_headers`
// are complete "Name: value\r\n" lines; a non-empty body gets Content-Type
// and Content-Length.
std::string HttpRequestBytes(std::string_view method, std::string_view path,
                             std::string_view body = {}, std::string_view content_type = {},
                             std::string_view extra_headers = {});

}  // namespace kt::testing

#endif  // KT_TESTS_TESTING_RAW_HTTP_H_
