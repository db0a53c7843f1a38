// SPDX-License-Identifier: Apache-2.0
// Tests for store/file_util.h on real files in a temp directory.
#include "store/file_util.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "tests/testing/vectors.h"

namespace kt::store {
namespace {

using core::Status;
namespace fs = std::filesystem;

unsigned ModeOf(const fs::path& p) {
  struct stat st;
  EXPECT_EQ(::stat(p.c_str(), &st), 0);
  return st.st_mode & 07777;
}

void WritePlain(const fs::path& p, const std::string& data, unsigned mode) {
  std::ofstream(p) << data;
  ASSERT_EQ(::chmod(p.c_str(), mode), 0);
}

TEST(FileUtilTest, WriteFileAtomicCreatesAndReplaces) {
  fs::path dir = testing::TempDir("fileutil");
  fs::path p = dir / "state.json";
  ASSERT_TRUE(WriteFileAtomic(p, "first").ok());
  EXPECT_EQ(*ReadFile(p), "first");
  EXPECT_EQ(ModeOf(p), 0644u);
  ASSERT_TRUE(WriteFileAtomic(p, std::string(100000, 'z'), 0640).ok());
  EXPECT_EQ(*ReadFile(p), std::string(100000, 'z'));
  EXPECT_EQ(ModeOf(p), 0640u);
  // No temp files are left behind.
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST(FileUtilTest, WriteFileAtomicMissingDirFails) {
  fs::path p = fs::path(testing::TempDir("fileutil")) / "no" / "such" / "file";
  Status s = WriteFileAtomic(p, "x");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("mkstemp"), std::string::npos) << s.message();
}

TEST(FileUtilTest, ReadFileErrors) {
  fs::path dir = testing::TempDir("fileutil");
  EXPECT_EQ(ReadFile(dir / "absent").status().code(), Status::Code::kNotFound);
  ASSERT_TRUE(WriteFileAtomic(dir / "big", std::string(1000, 'a')).ok());
  EXPECT_EQ(ReadFile(dir / "big", 999).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ReadFile(dir / "big", 1000)->size(), 1000u);
  EXPECT_EQ(ReadFile(dir).status().code(), Status::Code::kInvalidArgument);  // a directory
  ASSERT_TRUE(WriteFileAtomic(dir / "empty", "").ok());
  EXPECT_EQ(*ReadFile(dir / "empty"), "");
}

TEST(FileUtilTest, ReadSecretFileRefusesGroupOrOtherAccess) {
  fs::path dir = testing::TempDir("fileutil");
  fs::path p = dir / "key";
  for (unsigned mode : {0640u, 0604u, 0620u, 0602u, 0610u, 0601u, 0644u, 0666u}) {
    WritePlain(p, "hunter2", mode);
    auto r = ReadSecretFile(p);
    ASSERT_FALSE(r.ok()) << std::oct << mode;
    EXPECT_EQ(r.status().code(), Status::Code::kPermissionDenied);
    EXPECT_NE(r.status().message().find("chmod 600"), std::string::npos) << r.status().message();
    EXPECT_EQ(r.status().message().find("hunter2"), std::string::npos) << "content echoed";
  }
  for (unsigned mode : {0600u, 0400u}) {
    WritePlain(p, "secret", mode);
    auto r = ReadSecretFile(p);
    ASSERT_TRUE(r.ok()) << std::oct << mode << " " << r.status().ToString();
    EXPECT_EQ(*r, "secret");
  }
  EXPECT_EQ(ReadSecretFile(dir / "absent").status().code(), Status::Code::kNotFound);
}

TEST(FileUtilTest, WriteSecretFileIsPrivateAndRefusesOverwrite) {
  fs::path dir = testing::TempDir("fileutil");
  fs::path p = dir / "key";
  ASSERT_TRUE(WriteSecretFile(p, "k1").ok());
  EXPECT_EQ(ModeOf(p), 0600u);
  EXPECT_EQ(*ReadSecretFile(p), "k1");
  Status s = WriteSecretFile(p, "k2");
  EXPECT_EQ(s.code(), Status::Code::kConflict);
  EXPECT_EQ(*ReadSecretFile(p), "k1");
  ASSERT_TRUE(WriteSecretFile(p, "k2", /*overwrite=*/true).ok());
  EXPECT_EQ(*ReadSecretFile(p), "k2");
  EXPECT_EQ(ModeOf(p), 0600u);
}

}  // namespace
}  // namespace kt::store
