// SPDX-License-Identifier: Apache-2.0
// Test helpers: locating and loading the shared known-answer vectors.
#include "tests/testing/vectors.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

#include "core/encoding.h"

namespace kt::testing {

std::string VectorsDir() {
  if (const char* d = std::getenv("KT_VECTORS_DIR"); d != nullptr && *d != '\0') return d;
  return std::string(KT_SOURCE_DIR) + "/../shared/vectors";
}

nlohmann::json LoadVectorJson(const std::string& relative_path) {
  std::string path = VectorsDir() + "/" + relative_path;
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << "cannot open vector file " << path;
    return nlohmann::json();
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded()) ADD_FAILURE() << "vector file is not JSON: " << path;
  return j;
}

core::Bytes Hex(const std::string& hex) {
  auto b = core::HexDecode(hex);
  if (!b.ok()) {
    ADD_FAILURE() << "bad hex in vector: " << hex;
    return {};
  }
  return *b;
}

core::Hash HexHash(const std::string& hex) {
  auto h = core::HexToHash(hex);
  if (!h.ok()) {
    ADD_FAILURE() << "bad hash in vector: " << hex;
    return {};
  }
  return *h;
}

namespace {
std::mutex g_mu;
std::vector<std::string>* g_dirs = nullptr;
void RemoveDirs() {
  std::lock_guard<std::mutex> l(g_mu);
  if (g_dirs == nullptr) return;
  for (const auto& d : *g_dirs) {
    std::error_code ec;
    std::filesystem::remove_all(d, ec);
  }
}
}  // namespace

std::string TempDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string root = base != nullptr ? base : "/tmp";
  std::string tmpl = root + "/kt-" + prefix + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  char* d = mkdtemp(buf.data());
  if (d == nullptr) {
    ADD_FAILURE() << "mkdtemp failed for " << tmpl;
    return root;
  }
  std::lock_guard<std::mutex> l(g_mu);
  if (g_dirs == nullptr) {
    g_dirs = new std::vector<std::string>();
    std::atexit(RemoveDirs);
  }
  g_dirs->push_back(d);
  return d;
}

}  // namespace kt::testing
