#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "supervisor/project/text.hpp"
#include "supervisor/state/state_files.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using rp::test::TempDir;

namespace {

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

}  // namespace

TEST_CASE("state files: private directories", "[state_files]") {
  TempDir tmp("rp-state-test");
  std::string error;
  REQUIRE(rp::make_private_dirs(tmp.path / "a" / "b", error));
  CHECK(mode_of(tmp.path / "a") == 0700);
  CHECK(mode_of(tmp.path / "a" / "b") == 0700);
  CHECK(rp::make_private_dirs(tmp.path / "a" / "b", error));  // already there

  std::ofstream(tmp.path / "file") << "x";
  CHECK_FALSE(rp::make_private_dirs(tmp.path / "file", error));
  CHECK(error.find("file") != std::string::npos);
  CHECK_FALSE(rp::make_private_dirs(tmp.path / "file" / "sub", error));
}

TEST_CASE("state files: atomic write replaces the whole file", "[state_files]") {
  TempDir tmp("rp-state-test");
  std::string error;
  auto file = tmp.path / "home" / "state.json";
  REQUIRE(rp::write_file_atomically(file, "first\n", error));
  CHECK(rp::read_text_file(file) == "first\n");
  CHECK(mode_of(file) == 0600);
  CHECK(mode_of(tmp.path / "home") == 0700);
  REQUIRE(rp::write_file_atomically(file, "", error));
  CHECK(rp::read_text_file(file) == "");
  CHECK_FALSE(fs::exists(tmp.path / "home" / "state.json.tmp"));
}

TEST_CASE("state files: a failed write leaves the old file", "[state_files]") {
  TempDir tmp("rp-state-test");
  std::string error;
  auto file = tmp.path / "state";
  REQUIRE(rp::write_file_atomically(file, "old", error));
  // A directory where the temporary file goes makes the write fail before the rename.
  fs::create_directory(tmp.path / "state.tmp");
  CHECK_FALSE(rp::write_file_atomically(file, "new", error));
  CHECK(error.find("state.tmp") != std::string::npos);
  CHECK(rp::read_text_file(file) == "old");
}
