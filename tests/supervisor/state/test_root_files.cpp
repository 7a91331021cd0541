// Files of the system under a scratch root: the directories rp creates are recorded, parents
// first, and removed newest first only when empty; a file is written whole and readable by all.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "supervisor/state/root_files.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;

TEST_CASE("paths of the target system are reached under the root") {
  CHECK(rp::under_root("/tmp/r", "/etc/x.conf") == fs::path("/tmp/r/etc/x.conf"));
  CHECK(rp::under_root("/", "/etc/x.conf") == fs::path("/etc/x.conf"));
}

TEST_CASE("created directories are recorded, and only the empty ones removed") {
  rp::test::TempDir root;
  fs::create_directories(root.path / "var");
  std::vector<std::string> created;
  std::string error;
  REQUIRE(rp::make_dirs_under_root(root.path, "/var/lib/rp", created, error));
  REQUIRE(rp::make_dirs_under_root(root.path, "/var/lib/other", created, error));
  CHECK(created == std::vector<std::string>{"/var/lib", "/var/lib/rp", "/var/lib/other"});

  REQUIRE(rp::write_system_file(root.path / "var/lib/rp/f", "text\n", error));
  struct stat st {};
  REQUIRE(::stat((root.path / "var/lib/rp/f").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
  CHECK_FALSE(fs::exists(root.path / "var/lib/rp/f.rp-new"));

  std::vector<std::string> done;
  rp::remove_empty_dirs(root.path, created, done);
  CHECK(done == std::vector<std::string>{"removed " + (root.path / "var/lib/other").string()});
  fs::remove(root.path / "var/lib/rp/f");
  done.clear();
  rp::remove_empty_dirs(root.path, created, done);
  CHECK(done.size() == 2);
  CHECK(fs::exists(root.path / "var"));  // not rp's: it was there before
  CHECK_FALSE(fs::exists(root.path / "var/lib"));
}
