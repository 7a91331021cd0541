#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

#include "supervisor/app/log_file.hpp"
#include "supervisor/project/text.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using rp::LogFile;
using rp::read_text_file;
using rp::test::TempDir;

TEST_CASE("log file: opens lazily and appends", "[log_file]") {
  TempDir tmp("rp-log-test");
  auto path = tmp.path / "logs" / "shop.log";
  LogFile log(path);
  CHECK_FALSE(fs::exists(path.parent_path()));  // nothing until something is written
  log.append("");
  CHECK_FALSE(fs::exists(path.parent_path()));
  log.append("web.1 | one\n");
  log.append("web.1 | two\nworker.1 | three\n");
  CHECK(log.error().empty());
  CHECK(read_text_file(path) == "web.1 | one\nweb.1 | two\nworker.1 | three\n");
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("log file: appends to what is already there", "[log_file]") {
  TempDir tmp("rp-log-test");
  auto path = tmp.path / "shop.log";
  std::ofstream(path) << "from the last daemon\n";
  LogFile log(path);
  log.append("now\n");
  CHECK(read_text_file(path) == "from the last daemon\nnow\n");
}

TEST_CASE("log file: rotates to PATH.1 before passing max_bytes", "[log_file]") {
  TempDir tmp("rp-log-test");
  auto path = tmp.path / "shop.log";
  auto old = tmp.path / "shop.log.1";
  LogFile log(path, 10);
  log.append("aaaa\n");  // 5
  log.append("bbbb\n");  // 10: exactly the limit, still one file
  CHECK_FALSE(fs::exists(old));
  log.append("cc\n");  // would be 13: rotate first
  CHECK(read_text_file(old) == "aaaa\nbbbb\n");
  CHECK(read_text_file(path) == "cc\n");
  log.append("dddddd\n");  // 3 + 7 = 10
  log.append("e\n");       // rotate again, replacing the older .1
  CHECK(read_text_file(old) == "cc\ndddddd\n");
  CHECK(read_text_file(path) == "e\n");
  CHECK(log.error().empty());
}

TEST_CASE("log file: a batch bigger than max_bytes is kept whole", "[log_file]") {
  TempDir tmp("rp-log-test");
  auto path = tmp.path / "shop.log";
  LogFile log(path, 8);
  log.append("a very long line indeed\n");  // into the empty file, whole
  CHECK(read_text_file(path) == "a very long line indeed\n");
  log.append("x\n");
  CHECK(read_text_file(path.string() + ".1") == "a very long line indeed\n");
  CHECK(read_text_file(path) == "x\n");
}

TEST_CASE("log file: the size of an existing file counts", "[log_file]") {
  TempDir tmp("rp-log-test");
  auto path = tmp.path / "shop.log";
  std::ofstream(path) << "123456789\n";  // 10 bytes from before
  LogFile log(path, 12);
  log.append("abc\n");
  CHECK(read_text_file(path.string() + ".1") == "123456789\n");
  CHECK(read_text_file(path) == "abc\n");
}

TEST_CASE("log file: a failing disk is an error, never an exception", "[log_file]") {
  TempDir tmp("rp-log-test");
  std::ofstream(tmp.path / "logs") << "a file where the directory should be";
  LogFile log(tmp.path / "logs" / "shop.log");
  CHECK_NOTHROW(log.append("lost\n"));
  CHECK_FALSE(log.error().empty());
  CHECK_NOTHROW(log.append("lost too\n"));

  // Once the way is clear it writes again.
  fs::remove(tmp.path / "logs");
  log.append("back\n");
  CHECK(read_text_file(tmp.path / "logs" / "shop.log") == "back\n");
}

TEST_CASE("log file: can be moved", "[log_file]") {
  TempDir tmp("rp-log-test");
  auto path = tmp.path / "shop.log";
  LogFile a(path, 100);
  a.append("one\n");
  LogFile b(std::move(a));
  b.append("two\n");
  LogFile c(tmp.path / "other.log");
  c = std::move(b);
  c.append("three\n");
  CHECK(read_text_file(path) == "one\ntwo\nthree\n");
}
