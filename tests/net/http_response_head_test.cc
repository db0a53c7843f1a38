// SPDX-License-Identifier: Apache-2.0
// Tests for net/http_response_head: what the Content-Length fast path
// accepts, and everything it leaves to the general client.
#include "net/http_response_head.h"

#include <gtest/gtest.h>

namespace kt::net {
namespace {

TEST(HttpResponseHeadTest, AcceptsContentLengthFraming) {
  auto h = ParseHttpResponseHead(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length:  42 \r\n");
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(*h, (HttpResponseHead{200, 42, true}));
  h = ParseHttpResponseHead("HTTP/1.1 404\r\nContent-Length: 0\r\nConnection: Close\r\n\r\n");
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(*h, (HttpResponseHead{404, 0, false}));
  h = ParseHttpResponseHead("HTTP/1.0 503 Busy\r\nContent-Length: 7\r\n");
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(*h, (HttpResponseHead{503, 7, false}));  // HTTP/1.0: not kept alive
}

TEST(HttpResponseHeadTest, LeavesEverythingElseToTheGeneralClient) {
  for (const char* head : {
           "",
           "HTTP/1.1 200 OK\r\n",                                            // no length
           "HTTP/2 200 OK\r\nContent-Length: 1\r\n",                         // version
           "HTTP/1.1 100 Continue\r\nContent-Length: 1\r\n",                 // interim
           "HTTP/1.1 2x0 OK\r\nContent-Length: 1\r\n",                       // status
           "HTTP/1.1 2000 OK\r\nContent-Length: 1\r\n",                      // status
           "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n",  // twice
           "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n",                      // number
           "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n",  // overflow
           "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nno colon here\r\n",
           "HTTP/1.1 200 OK\r\n: empty name\r\nContent-Length: 1\r\n",
       }) {
    EXPECT_FALSE(ParseHttpResponseHead(head).has_value()) << head;
  }
}

}  // namespace
}  // namespace kt::net
