// SPDX-License-Identifier: Apache-2.0
// Integration-test helpers: run the real ktlog (and ktwitness) binaries on
// loopback, talk to them over HTTP, and read their tiles through core's
// authenticated TileHashReader.
#ifndef KT_TESTS_LOG_NODE_TESTING_H_
#define KT_TESTS_LOG_NODE_TESTING_H_

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/checkpoint.h"
#include "core/keys.h"
#include "core/policy.h"
#include "core/tile.h"
#include "net/http_client.h"
#include "store/file_util.h"
#include "tests/testing/process.h"

namespace kt::testing {

inline constexpr char kTestOrigin[] = "kt.test/log";
inline constexpr char kTestToken[] = "integration-operator-token-0123456789";

// RunTool runs a binary to completion (bounded) and returns its stdout.
inline std::string RunTool(const std::string& binary, const std::vector<std::string>& args) {
  auto p = ChildProcess::Start(BinaryPath(binary), args);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  if (!p.ok()) return "";
  auto st = (*p)->Wait(std::chrono::seconds(30));
  EXPECT_TRUE(st && st->Success()) << binary << " failed: " << (*p)->Stderr();
  std::string out = (*p)->Stdout();
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// LogProcess is a ktlog serve child with its directory, key and token.
class LogProcess {
 public:
  // Prepare makes the key (ktlog keygen) and the 0600 token file in dir.
  explicit LogProcess(std::string dir) : dir_(std::move(dir)) {
    vkey_ = RunTool("ktlog", {"keygen", "--origin", kTestOrigin, "--out", dir_ + "/log.key"});
    EXPECT_TRUE(store::WriteSecretFile(dir_ + "/token", std::string(kTestToken) + "\n").ok());
  }
  ~LogProcess() { Kill(); }

  // Start runs `ktlog serve` on a fresh port with `extra` flags and waits
  // until /healthz answers.
  void Start(const std::vector<std::string>& extra = {}) {
    port_ = PickFreePort();
    ASSERT_GT(port_, 0);
    std::vector<std::string> args = {"serve",  "--listen", "127.0.0.1:" + std::to_string(port_),
                                     "--data", dir_ + "/data", "--key", dir_ + "/log.key",
                                     "--origin", kTestOrigin, "--operator-token-file",
                                     dir_ + "/token", "--batch-interval", "20"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto p = ChildProcess::Start(BinaryPath("ktlog"), args);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    proc_ = std::move(p).value();
    ASSERT_TRUE(WaitForHttpReady("127.0.0.1", port_, "/healthz", std::chrono::seconds(20)))
        << proc_->Stderr();
  }
  void Kill() {
    if (proc_) proc_->Kill();
    if (proc_) proc_->Wait(std::chrono::seconds(10));
    proc_.reset();
  }
  // Terminate sends SIGTERM and expects a clean exit.
  void Terminate() {
    ASSERT_TRUE(proc_);
    proc_->Signal(SIGTERM);
    auto st = proc_->Wait(std::chrono::seconds(30));
    ASSERT_TRUE(st.has_value());
    EXPECT_TRUE(st->Success()) << st->ToString() << proc_->Stderr();
    proc_.reset();
  }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  const std::string& vkey() const { return vkey_; }
  const std::string& dir() const { return dir_; }
  ChildProcess* process() { return proc_.get(); }

 private:
  std::string dir_;
  std::string vkey_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> proc_;
};

// HttpTileReader fetches tiles from a log over HTTP (for core::TileHashReader).
class HttpTileReader : public core::TileReader {
 public:
  HttpTileReader(net::HttpClient& client, std::string base) : client_(client), base_(std::move(base)) {}
  core::Status ReadTiles(std::span<const core::Tile> tiles, std::vector<core::Bytes>* out) override {
    out->clear();
    for (const core::Tile& t : tiles) {
      auto r = client_.Get(base_ + "/" + core::TilePath(t));
      if (!r.ok()) return r.status();
      if (r->status != 200) return core::Status::NotFound("tile " + core::TilePath(t));
      out->push_back(core::ToBytes(r->body));
    }
    return core::Status();
  }

 private:
  net::HttpClient& client_;
  std::string base_;
};

}  // namespace kt::testing

#endif  // KT_TESTS_LOG_NODE_TESTING_H_
