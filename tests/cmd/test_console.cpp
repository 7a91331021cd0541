#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "cmd/console.hpp"

using rp::ConsoleStyle;
using rp::format_line;

namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

struct Pipe {
  int fds[2] = {-1, -1};
  Pipe() { REQUIRE(::pipe(fds) == 0); }
  ~Pipe() {
    for (int fd : fds) {
      if (fd >= 0) ::close(fd);
    }
  }
  void close_write() {
    ::close(fds[1]);
    fds[1] = -1;
  }
  std::string read_all() {
    std::string out;
    char buf[256];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    return out;
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
};

}  // namespace

TEST_CASE("console: plain line padded to the width", "[console]") {
  ConsoleStyle style;
  style.width = 6;
  CHECK(format_line(style, "web.1", 0, "", "hello") == "web.1  | hello\n");
  CHECK(format_line(style, "rp", std::nullopt, "", "started") == "rp     | started\n");
  style.width = 9;
  CHECK(format_line(style, "worker.1", 1, "", "job done") == "worker.1  | job done\n");
}

TEST_CASE("console: no padding with width 0 and no truncation of long names", "[console]") {
  ConsoleStyle style;
  CHECK(format_line(style, "web.1", 0, "", "x") == "web.1 | x\n");
  style.width = 3;
  CHECK(format_line(style, "worker.12", 0, "", "x") == "worker.12 | x\n");
}

TEST_CASE("console: empty text has no trailing space", "[console]") {
  ConsoleStyle style;
  style.width = 6;
  CHECK(format_line(style, "web.1", 0, "", "") == "web.1  |\n");
}

TEST_CASE("console: lines appended one after another, as rp up batches them", "[console]") {
  ConsoleStyle style;
  style.width = 6;
  std::string batch = "earlier\n";
  rp::append_line(batch, style, "web.1", 0, "", "one");
  rp::append_line(batch, style, "rp", std::nullopt, "", "two");
  CHECK(batch == "earlier\nweb.1  | one\nrp     | two\n");
}

TEST_CASE("console: colour wraps the prefix in escape codes", "[console]") {
  ConsoleStyle style;
  style.color = true;
  style.width = 6;
  std::string line = format_line(style, "web.1", 0, "", "hello");
  CHECK(line == "\x1b[36mweb.1  |\x1b[0m hello\n");
  CHECK(contains(line, "\x1b["));
  // each process a colour from the palette, wrapping around
  std::string second = format_line(style, "web.2", 1, "", "hello");
  CHECK(contains(second, "\x1b[33m"));
  CHECK(format_line(style, "web.1", 10, "", "hello") == line);
  CHECK(contains(format_line(style, "web.1", -3, "", "hello"), "\x1b["));
  // rp's own lines are bold
  CHECK(format_line(style, "rp", std::nullopt, "", "hi") == "\x1b[1mrp     |\x1b[0m hi\n");
  // the text itself is left alone
  CHECK(line.substr(line.size() - 7) == " hello\n");
}

TEST_CASE("console: no escape codes without colour", "[console]") {
  ConsoleStyle style;
  for (int i = 0; i < 12; ++i) {
    CHECK_FALSE(contains(format_line(style, "web.1", i, "", "x"), "\x1b"));
  }
  CHECK_FALSE(contains(format_line(style, "rp", std::nullopt, "", "x"), "\x1b"));
}

TEST_CASE("console: timestamps prefix the line", "[console]") {
  ConsoleStyle style;
  style.timestamps = true;
  style.width = 6;
  CHECK(format_line(style, "web.1", 0, "12:34:56", "hello") == "12:34:56 web.1  | hello\n");
  style.color = true;
  std::string line = format_line(style, "web.1", 0, "12:34:56", "hello");
  CHECK(line.rfind("12:34:56 \x1b[", 0) == 0);
  // without the option the timestamp is not shown
  ConsoleStyle plain;
  CHECK(format_line(plain, "web.1", 0, "12:34:56", "hello") == "web.1 | hello\n");
}

TEST_CASE("console: color_wanted", "[console]") {
  Pipe p;
  CHECK_FALSE(rp::color_wanted(p.fds[1], {}));
  CHECK_FALSE(rp::color_wanted(p.fds[1], {{"NO_COLOR", "1"}}));
  int tty = ::posix_openpt(O_RDWR | O_NOCTTY);
  if (tty >= 0) {
    CHECK(rp::color_wanted(tty, {}));
    CHECK(rp::color_wanted(tty, {{"NO_COLOR", ""}}));  // empty counts as unset
    CHECK_FALSE(rp::color_wanted(tty, {{"NO_COLOR", "1"}}));
    CHECK_FALSE(rp::color_wanted(tty, {{"NO_COLOR", "yes"}}));
    ::close(tty);
  } else {
    WARN("no pseudo-terminal available; terminal case not tested");
  }
}

TEST_CASE("console: Console writes whole lines to its fd", "[console]") {
  Pipe p;
  ConsoleStyle style;
  rp::Console console(p.fds[1], style);
  console.set_width(6);
  console.line("web.1", 0, "hello");
  console.event("stopping");
  console.set_width(3);  // never narrower than before
  console.line("web.1", 0, "bye");
  p.close_write();
  CHECK(p.read_all() == "web.1  | hello\nrp     | stopping\nweb.1  | bye\n");
}
