#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "supervisor/app/output.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

// Writes down what it is told; `on_entry` runs after each line.
struct Recorder : rp::AppListener {
  std::vector<std::string> lines;
  std::function<void()> on_entry;
  void entry(const rp::LogEntry& e) override {
    lines.push_back(e.text);
    if (on_entry) on_entry();
  }
  void ended(int) override {}
};

}  // namespace

TEST_CASE("app output: a listener that leaves while it is told skips no other listener") {
  boost::asio::io_context io;
  rp::test::TempDir dir;
  rp::AppOutput output(io, dir.path / "app.log");
  auto first = std::make_shared<Recorder>();
  auto second = std::make_shared<Recorder>();
  auto third = std::make_shared<Recorder>();
  output.listen(first);
  output.listen(second);
  output.listen(third);
  // The first leaves on its first line, as an `rp logs -f` client that went away does.
  first->on_entry = [&] { output.unlisten(first.get()); };
  output.add({std::chrono::system_clock::now(), "web", 1, "one"});
  output.add({std::chrono::system_clock::now(), "web", 1, "two"});
  CHECK(first->lines == std::vector<std::string>{"one"});
  CHECK(second->lines == std::vector<std::string>{"one", "two"});
  CHECK(third->lines == std::vector<std::string>{"one", "two"});
  // One that leaves outside a line is gone at once.
  output.unlisten(second.get());
  output.add({std::chrono::system_clock::now(), "web", 1, "three"});
  CHECK(second->lines.size() == 2);
  CHECK(third->lines.back() == "three");
}
