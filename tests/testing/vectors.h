// SPDX-License-Identifier: Apache-2.0
// Test helpers: locating and loading the shared known-answer vectors.
#ifndef KT_TESTS_TESTING_VECTORS_H_
#define KT_TESTS_TESTING_VECTORS_H_

#include <nlohmann/json.hpp>
#include <string>

#include "core/bytes.h"

namespace kt::testing {

// VectorsDir is $KT_VECTORS_DIR when set, else <repo>/../shared/vectors.
std::string VectorsDir();
// LoadVectorJson parses VectorsDir()/relative_path; fails the test (fatal
// ADD_FAILURE + empty json) when the file is missing or not JSON.
nlohmann::json LoadVectorJson(const std::string& relative_path);
// Hex decodes a hex string or aborts the test (vectors are trusted input).
core::Bytes Hex(const std::string& hex);
core::Hash HexHash(const std::string& hex);
// TempDir makes a fresh empty directory under the build tree's tmp/ (or
// $TMPDIR) and returns its path; it is removed at process exit.
std::string TempDir(const std::string& prefix);

}  // namespace kt::testing

#endif  // KT_TESTS_TESTING_VECTORS_H_
