// FileWatch against a real directory: what reaches the callback for the changes the daemon acts
// on (a definition file, tmp/restart.txt, the directory going away), gathered into one burst.
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <fstream>
#include <vector>

#include "supervisor/file_watch.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;

void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

// Runs the io_context until `done` or a generous deadline (inotify is prompt; CI machines not).
template <typename Done>
void run_until(boost::asio::io_context& io, Done done) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(20ms);
  }
}

}  // namespace

TEST_CASE("FileWatch reports the files that define a project, in one burst") {
  rp::test::TempDir dir("rp-watch");
  boost::asio::io_context io;
  rp::FileWatch watch(io);
  std::vector<rp::FileChanges> bursts;
  REQUIRE(watch.watch(dir.path, [&](const rp::FileChanges& c) { bursts.push_back(c); }));

  write(dir.path / "Procfile", "web: true\n");
  write(dir.path / "rp.yaml", "name: x\n");
  run_until(io, [&] { return !bursts.empty(); });
  REQUIRE(bursts.size() == 1);
  CHECK(bursts[0].names.count("Procfile") == 1);
  CHECK(bursts[0].names.count("rp.yaml") == 1);
  CHECK_FALSE(bursts[0].restart);
  CHECK_FALSE(bursts[0].gone);
}

TEST_CASE("FileWatch sees tmp/restart.txt, also when tmp/ is made after the watch began") {
  rp::test::TempDir dir("rp-watch");
  boost::asio::io_context io;
  rp::FileWatch watch(io);
  std::vector<rp::FileChanges> bursts;
  REQUIRE(watch.watch(dir.path, [&](const rp::FileChanges& c) { bursts.push_back(c); }));

  std::filesystem::create_directory(dir.path / "tmp");
  run_until(io, [&] { return !bursts.empty(); });  // "tmp" appeared: watched from now on
  bursts.clear();
  write(dir.path / "tmp" / "restart.txt", "");
  run_until(io, [&] { return !bursts.empty(); });
  REQUIRE_FALSE(bursts.empty());
  CHECK(bursts.back().restart);
}

TEST_CASE("FileWatch says when the directory is gone, and is silent after unwatch") {
  rp::test::TempDir parent("rp-watch");
  const auto project = parent.path / "project";
  std::filesystem::create_directory(project);
  boost::asio::io_context io;
  rp::FileWatch watch(io);
  std::vector<rp::FileChanges> bursts;
  REQUIRE(watch.watch(project, [&](const rp::FileChanges& c) { bursts.push_back(c); }));

  std::filesystem::remove_all(project);
  run_until(io, [&] { return !bursts.empty() && bursts.back().gone; });
  REQUIRE_FALSE(bursts.empty());
  CHECK(bursts.back().gone);

  std::filesystem::create_directory(project);
  REQUIRE(watch.watch(project, [&](const rp::FileChanges& c) { bursts.push_back(c); }));
  watch.unwatch(project);
  bursts.clear();
  write(project / "Procfile", "web: true\n");
  io.restart();
  io.run_for(300ms);
  CHECK(bursts.empty());
}

TEST_CASE("FileWatch refuses a directory that does not exist") {
  boost::asio::io_context io;
  rp::FileWatch watch(io);
  CHECK_FALSE(watch.watch("/nonexistent/rp-watch-test", [](const rp::FileChanges&) {}));
}
