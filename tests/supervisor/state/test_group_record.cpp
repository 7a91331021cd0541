#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "supervisor/project/text.hpp"
#include "supervisor/state/group_record.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using rp::GroupEntry;
using rp::GroupRecord;
using rp::test::TempDir;

TEST_CASE("group record: a missing file has no groups", "[group_record]") {
  TempDir tmp("rp-groups-test");
  GroupRecord record(tmp.path / "run" / "groups");
  CHECK(record.load().empty());
  record.remove(1234);
  record.clear();
  CHECK(record.error().empty());
  CHECK_FALSE(fs::exists(tmp.path / "run" / "groups"));
}

TEST_CASE("group record: add appends, creating the directory", "[group_record]") {
  TempDir tmp("rp-groups-test");
  auto file = tmp.path / "home" / "run" / "groups";
  GroupRecord record(file);
  record.add(1234, "ab12cd");
  record.add(5678, "ab12cd");
  record.add(42, "ff00");
  CHECK(record.error().empty());
  CHECK(rp::read_text_file(file) == "1234 ab12cd\n5678 ab12cd\n42 ff00\n");
  CHECK(record.load() == std::vector<GroupEntry>{{1234, "ab12cd"}, {5678, "ab12cd"}, {42, "ff00"}});
  // A second object over the same file sees the same record: it is what the next daemon reads.
  CHECK(GroupRecord(file).load().size() == 3);
}

TEST_CASE("group record: remove rewrites the file without the group", "[group_record]") {
  TempDir tmp("rp-groups-test");
  auto file = tmp.path / "groups";
  GroupRecord record(file);
  record.add(100, "m1");
  record.add(200, "m1");
  record.add(300, "m2");
  record.remove(200);
  CHECK(record.load() == std::vector<GroupEntry>{{100, "m1"}, {300, "m2"}});
  record.remove(999);  // not there: nothing changes
  CHECK(record.load().size() == 2);
  record.remove(100);
  record.remove(300);
  CHECK(record.load().empty());
  CHECK(record.error().empty());
  CHECK_FALSE(fs::exists(tmp.path / "groups.tmp"));
  record.add(400, "m3");
  CHECK(record.load() == std::vector<GroupEntry>{{400, "m3"}});
}

TEST_CASE("group record: clear removes the file", "[group_record]") {
  TempDir tmp("rp-groups-test");
  auto file = tmp.path / "groups";
  GroupRecord record(file);
  record.add(100, "m1");
  REQUIRE(fs::exists(file));
  record.clear();
  CHECK_FALSE(fs::exists(file));
  CHECK(record.load().empty());
  CHECK(record.error().empty());
}

TEST_CASE("group record: malformed lines are skipped", "[group_record]") {
  TempDir tmp("rp-groups-test");
  auto file = tmp.path / "groups";
  std::ofstream(file) << "100 good\n"
                         "\n"
                         "garbage\n"
                         "200\n"
                         "abc marker\n"
                         "-5 neg\n"
                         "0 zero\n"
                         "1 init\n"
                         "300 two words\n"
                         "12x marker\n"
                         "99999999999999999999 huge\n"
                         "  400\tspaced  \r\n"
                         "500 torn-last-li";
  GroupRecord record(file);
  CHECK(record.load() ==
        std::vector<GroupEntry>{{100, "good"}, {400, "spaced"}, {500, "torn-last-li"}});
}

TEST_CASE("group record: refuses entries that would not read back", "[group_record]") {
  TempDir tmp("rp-groups-test");
  auto file = tmp.path / "groups";
  GroupRecord record(file);
  record.add(100, "");
  CHECK_FALSE(record.error().empty());
  GroupRecord spaced(file);
  spaced.add(100, "two words");
  CHECK_FALSE(spaced.error().empty());
  GroupRecord newline(file);
  newline.add(100, "a\nb");
  CHECK_FALSE(newline.error().empty());
  GroupRecord one(file);
  one.add(1, "m");
  CHECK_FALSE(one.error().empty());
  CHECK_FALSE(fs::exists(file));
}

TEST_CASE("group record: a failing write is an error, not an exception", "[group_record]") {
  TempDir tmp("rp-groups-test");
  std::ofstream(tmp.path / "run") << "a file where the directory should be";
  GroupRecord record(tmp.path / "run" / "groups");
  CHECK_NOTHROW(record.add(100, "m"));
  CHECK_FALSE(record.error().empty());
  CHECK(record.load().empty());
  CHECK_NOTHROW(record.clear());
}
