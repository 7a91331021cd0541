#include <catch2/catch.hpp>
#include <string>

#include "supervisor/project/diagnostic.hpp"
#include "supervisor/project/procfile.hpp"

using rp::Diagnostic;
using rp::Diagnostics;
using rp::parse_procfile;

TEST_CASE("procfile: name: command lines in file order", "[procfile]") {
  Diagnostics errors;
  auto entries =
      parse_procfile("web: bin/server\nworker: bin/worker --queue default\n", "Procfile", errors);
  CHECK(errors.empty());
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].name == "web");
  CHECK(entries[0].command == "bin/server");
  CHECK(entries[0].line == 1);
  CHECK(entries[1].name == "worker");
  CHECK(entries[1].command == "bin/worker --queue default");
  CHECK(entries[1].line == 2);
}

TEST_CASE("procfile: comments and blank lines are skipped, line numbers still count them",
          "[procfile]") {
  Diagnostics errors;
  auto entries = parse_procfile(
      "# the web server\n"
      "\n"
      "web: bin/server\n"
      "   \t  \n"
      "  # indented comment\n"
      "worker: bin/worker\n",
      "Procfile", errors);
  CHECK(errors.empty());
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].name == "web");
  CHECK(entries[0].line == 3);
  CHECK(entries[1].name == "worker");
  CHECK(entries[1].line == 6);
}

TEST_CASE("procfile: CRLF line ends", "[procfile]") {
  Diagnostics errors;
  auto entries = parse_procfile("web: bin/server\r\nworker: bin/worker\r\n", "Procfile", errors);
  CHECK(errors.empty());
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].command == "bin/server");
  CHECK(entries[1].name == "worker");
  CHECK(entries[1].command == "bin/worker");
  CHECK(entries[1].line == 2);
}

TEST_CASE("procfile: UTF-8 byte order mark is skipped", "[procfile]") {
  Diagnostics errors;
  auto entries = parse_procfile("\xEF\xBB\xBFweb: bin/server\n", "Procfile", errors);
  CHECK(errors.empty());
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].name == "web");
  CHECK(entries[0].command == "bin/server");
  CHECK(entries[0].line == 1);
}

TEST_CASE("procfile: leading and trailing spaces are trimmed", "[procfile]") {
  Diagnostics errors;
  auto entries = parse_procfile("   web  :   bin/server -p 3000   \t\n", "Procfile", errors);
  CHECK(errors.empty());
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].name == "web");
  CHECK(entries[0].command == "bin/server -p 3000");
}

TEST_CASE("procfile: a command may contain colons", "[procfile]") {
  Diagnostics errors;
  auto entries =
      parse_procfile("web: bin/server -b 0.0.0.0:3000\nproxy: env URL=http://localhost:$PORT run\n",
                     "Procfile", errors);
  CHECK(errors.empty());
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].name == "web");
  CHECK(entries[0].command == "bin/server -b 0.0.0.0:3000");
  CHECK(entries[1].command == "env URL=http://localhost:$PORT run");
}

TEST_CASE("procfile: last line without a newline", "[procfile]") {
  Diagnostics errors;
  auto entries = parse_procfile("web: a\nworker: b", "Procfile", errors);
  CHECK(errors.empty());
  REQUIRE(entries.size() == 2);
  CHECK(entries[1].command == "b");
}

TEST_CASE("procfile: empty text gives no entries and no errors", "[procfile]") {
  Diagnostics errors;
  CHECK(parse_procfile("", "Procfile", errors).empty());
  CHECK(parse_procfile("# only a comment\n\n", "Procfile", errors).empty());
  CHECK(errors.empty());
}

TEST_CASE("procfile: a line without 'name:' is an error with its line", "[procfile]") {
  Diagnostics errors;
  auto entries = parse_procfile("web: bin/server\nbin/worker --oops\nclock: bin/clock\n",
                                "Procfile.dev", errors);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].file == "Procfile.dev");
  CHECK(errors[0].line == 2);
  CHECK(errors[0].column == 0);
  CHECK(errors[0].what == "this line has no process name");
  CHECK_FALSE(errors[0].fix.empty());
  // The good lines are still returned.
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].name == "web");
  CHECK(entries[1].name == "clock");
  CHECK(entries[1].line == 3);
}

TEST_CASE("procfile: invalid process names", "[procfile]") {
  auto check_invalid = [](const std::string& line, const std::string& name) {
    Diagnostics errors;
    auto entries = parse_procfile("web: ok\n" + line + "\n", "Procfile", errors);
    INFO(line);
    CHECK(entries.size() == 1);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].file == "Procfile");
    CHECK(errors[0].line == 2);
    CHECK(errors[0].what == "invalid process name '" + name + "'");
    CHECK_FALSE(errors[0].fix.empty());
  };
  check_invalid("web.1: x", "web.1");
  check_invalid("we b: x", "we b");
  check_invalid(": x", "");
  check_invalid("wéb: x", "wéb");
  check_invalid("web/2: x", "web/2");
}

TEST_CASE("procfile: valid_process_name", "[procfile]") {
  CHECK(rp::valid_process_name("web"));
  CHECK(rp::valid_process_name("worker_2"));
  CHECK(rp::valid_process_name("my-proc"));
  CHECK(rp::valid_process_name("A9"));
  CHECK_FALSE(rp::valid_process_name(""));
  CHECK_FALSE(rp::valid_process_name("web.1"));
  CHECK_FALSE(rp::valid_process_name("we b"));
  CHECK_FALSE(rp::valid_process_name("web:"));
}

TEST_CASE("procfile: duplicate name names the first line", "[procfile]") {
  Diagnostics errors;
  auto entries =
      parse_procfile("# comment\nweb: first\nworker: w\nweb: second\n", "Procfile", errors);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].line == 4);
  CHECK(errors[0].what == "duplicate process 'web' (first on line 2)");
  CHECK_FALSE(errors[0].fix.empty());
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].command == "first");  // the first one is kept
}

// Found by the procfile fuzz target, whose 4 KiB inputs of many short lines took milliseconds
// each: every line was compared with every earlier entry. A generated Procfile of many processes
// is read in one pass, and a repeated name still names its first line.
TEST_CASE("procfile: many processes, and a duplicate among them", "[procfile]") {
  std::string text;
  for (int i = 1; i <= 50000; ++i) {
    // Piece by piece: GCC 12 at -O3 warns falsely (-Wrestrict) on "literal" + std::string.
    const std::string n = std::to_string(i);
    text += 'p';
    text += n;
    text += ": run ";
    text += n;
    text += '\n';
  }
  text += "p123: again\n";
  Diagnostics errors;
  auto entries = parse_procfile(text, "Procfile", errors);
  CHECK(entries.size() == 50000);
  CHECK(entries.back().name == "p50000");
  CHECK(entries.back().line == 50000);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].line == 50001);
  CHECK(errors[0].what == "duplicate process 'p123' (first on line 123)");
}

TEST_CASE("procfile: empty command is an error", "[procfile]") {
  Diagnostics errors;
  auto entries = parse_procfile("web:\nworker:    \nok: x\n", "Procfile", errors);
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].line == 1);
  CHECK(errors[0].what == "process 'web' has no command");
  CHECK_FALSE(errors[0].fix.empty());
  CHECK(errors[1].line == 2);
  CHECK(errors[1].what == "process 'worker' has no command");
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].name == "ok");
}

TEST_CASE("procfile: every mistake is reported in one pass", "[procfile]") {
  Diagnostics errors;
  parse_procfile("nocolon\nweb.1: x\nweb:\na: 1\na: 2\n", "Procfile", errors);
  REQUIRE(errors.size() == 4);
  CHECK(errors[0].line == 1);
  CHECK(errors[1].line == 2);
  CHECK(errors[2].line == 3);
  CHECK(errors[3].line == 5);
}

TEST_CASE("procfile: diagnostics print compiler-style", "[procfile][diagnostic]") {
  Diagnostics errors;
  parse_procfile("web: a\nbroken\n", "Procfile", errors);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].str() == "Procfile:2: this line has no process name — " + errors[0].fix);
}

TEST_CASE("diagnostic: str() with and without line, column and fix", "[diagnostic]") {
  CHECK(Diagnostic{"rp.yaml", 3, 7, "bad", "fix it"}.str() == "rp.yaml:3:7: bad — fix it");
  CHECK(Diagnostic{"Procfile", 2, 0, "bad", "fix it"}.str() == "Procfile:2: bad — fix it");
  CHECK(Diagnostic{"-m", 0, 0, "bad", "fix it"}.str() == "-m: bad — fix it");
  CHECK(Diagnostic{"-m", 0, 5, "bad", "fix it"}.str() == "-m: bad — fix it");
  CHECK(Diagnostic{"x", 1, 2, "bad", ""}.str() == "x:1:2: bad");
}

TEST_CASE("procfile: a NUL byte is a mistake at its line and column, not a cut command",
          "[procfile]") {
  Diagnostics errors;
  using namespace std::string_literals;
  auto entries = parse_procfile("web: bin/server\nworker: bin/work\0 --all\n"s, "Procfile", errors);
  CHECK(entries.empty());
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].file == "Procfile");
  CHECK(errors[0].line == 2);
  CHECK(errors[0].column == 17);
  CHECK(errors[0].what.find("NUL") != std::string::npos);
}
