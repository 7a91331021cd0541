#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "supervisor/app/line_splitter.hpp"

using rp::LineSplitter;
using Lines = std::vector<std::string>;

TEST_CASE("line_splitter: complete lines", "[line_splitter]") {
  LineSplitter s;
  CHECK(s.feed("one\ntwo\nthree\n") == Lines{"one", "two", "three"});
  CHECK_FALSE(s.has_partial());
  CHECK(s.feed("") == Lines{});
}

TEST_CASE("line_splitter: empty lines are kept", "[line_splitter]") {
  LineSplitter s;
  CHECK(s.feed("\n\na\n\n") == Lines{"", "", "a", ""});
}

TEST_CASE("line_splitter: CRLF", "[line_splitter]") {
  LineSplitter s;
  CHECK(s.feed("one\r\ntwo\r\n") == Lines{"one", "two"});
  // CR and LF in separate reads
  CHECK(s.feed("three\r") == Lines{});
  CHECK(s.feed("\nfour\n") == Lines{"three", "four"});
  // a CR that is not before LF stays
  CHECK(s.feed("a\rb\n") == Lines{"a\rb"});
}

TEST_CASE("line_splitter: a partial line is held until its newline", "[line_splitter]") {
  LineSplitter s;
  CHECK(s.feed("hel") == Lines{});
  CHECK(s.has_partial());
  CHECK(s.feed("lo wo") == Lines{});
  CHECK(s.feed("rld\nnext") == Lines{"hello world"});
  CHECK(s.has_partial());
  CHECK(s.feed("\n") == Lines{"next"});
  CHECK_FALSE(s.has_partial());
}

TEST_CASE("line_splitter: take_partial flushes the held text", "[line_splitter]") {
  LineSplitter s;
  CHECK(s.feed("done\nPassword: ") == Lines{"done"});
  REQUIRE(s.has_partial());
  CHECK(s.take_partial() == "Password: ");
  CHECK_FALSE(s.has_partial());
  CHECK(s.take_partial() == "");
  // what follows starts a new line
  CHECK(s.feed("secret\n") == Lines{"secret"});
  // a trailing CR is not part of the flushed text
  CHECK(s.feed("prompt\r") == Lines{});
  CHECK(s.take_partial() == "prompt");
}

TEST_CASE("line_splitter: lines longer than max_line are cut", "[line_splitter]") {
  LineSplitter s(4);
  CHECK(s.feed("abcdefghij\n") == Lines{"abcd", "efgh", "ij"});
  CHECK_FALSE(s.has_partial());
  CHECK(s.feed("abcdef") == Lines{"abcd"});
  CHECK(s.take_partial() == "ef");
  CHECK(s.feed("xy") == Lines{});
  CHECK(s.feed("zwvu") == Lines{"xyzw"});
  CHECK(s.take_partial() == "vu");
}

TEST_CASE("line_splitter: a line of exactly max_line is one line", "[line_splitter]") {
  LineSplitter s(4);
  CHECK(s.feed("abcd\n") == Lines{"abcd"});
  CHECK(s.feed("abcd\r\n") == Lines{"abcd"});
  CHECK(s.feed("abc\r\n") == Lines{"abc"});
  CHECK(s.feed("abcdefgh\n") == Lines{"abcd", "efgh"});
  CHECK_FALSE(s.has_partial());
  CHECK(s.feed("abcd") == Lines{});
  CHECK(s.feed("\n") == Lines{"abcd"});
  // a CR at the limit that does not end the line stays with the cut part
  CHECK(s.feed("abcd\rx\n") == Lines{"abcd\r", "x"});
}

TEST_CASE("line_splitter: the default limit is 16 KiB", "[line_splitter]") {
  LineSplitter s;
  std::string big(16 * 1024 + 10, 'x');
  auto lines = s.feed(big + "\n");
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].size() == 16 * 1024);
  CHECK(lines[1].size() == 10);
  std::string exact(16 * 1024, 'y');
  CHECK(s.feed(exact + "\n") == Lines{exact});
}

TEST_CASE("line_splitter: byte by byte", "[line_splitter]") {
  LineSplitter s;
  Lines all;
  for (char c : std::string("ab\r\ncd\nef")) {
    for (auto& l : s.feed(std::string(1, c))) all.push_back(l);
  }
  CHECK(all == Lines{"ab", "cd"});
  CHECK(s.take_partial() == "ef");
}
