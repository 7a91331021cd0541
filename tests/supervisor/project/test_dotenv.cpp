#include <catch2/catch.hpp>
#include <string>

#include "supervisor/project/dotenv.hpp"
#include "tests/support/diagnostics.hpp"

using rp::Diagnostics;
using rp::EnvMap;

using rp::test::errors_text;

namespace {

struct Parsed {
  EnvMap vars;
  Diagnostics errors;
};

Parsed parse(const std::string& text, const EnvMap& inherited = {}, EnvMap vars = {}) {
  Parsed p;
  p.vars = std::move(vars);
  rp::parse_dotenv(text, ".env", p.vars, inherited, p.errors);
  return p;
}

}  // namespace

TEST_CASE("dotenv: plain KEY=value lines", "[dotenv]") {
  auto p = parse("A=1\nB=hello world\nC_2=x\n");
  INFO(errors_text(p.errors));
  CHECK(p.errors.empty());
  CHECK(p.vars == EnvMap{{"A", "1"}, {"B", "hello world"}, {"C_2", "x"}});
}

TEST_CASE("dotenv: export prefix", "[dotenv]") {
  auto p = parse("export A=1\nexport\tB=2\n  export   C=3\n");
  INFO(errors_text(p.errors));
  CHECK(p.errors.empty());
  CHECK(p.vars == EnvMap{{"A", "1"}, {"B", "2"}, {"C", "3"}});
}

TEST_CASE("dotenv: spaces around '=' and around the line", "[dotenv]") {
  auto p = parse("A = 1\n  B=  two  \nC\t=\tthree\n");
  INFO(errors_text(p.errors));
  CHECK(p.errors.empty());
  CHECK(p.vars.at("A") == "1");
  CHECK(p.vars.at("B") == "two");
  CHECK(p.vars.at("C") == "three");
}

TEST_CASE("dotenv: empty values", "[dotenv]") {
  auto p = parse("A=\nB=''\nC=\"\"\nD= # just a comment\nE=");
  INFO(errors_text(p.errors));
  CHECK(p.errors.empty());
  REQUIRE(p.vars.size() == 5);
  for (const auto& [k, v] : p.vars) {
    INFO(k);
    CHECK(v.empty());
  }
}

TEST_CASE("dotenv: comments and blank lines", "[dotenv]") {
  auto p = parse("# a comment\n\n   # indented\nA=1\n\t\nB=2\n");
  INFO(errors_text(p.errors));
  CHECK(p.errors.empty());
  CHECK(p.vars == EnvMap{{"A", "1"}, {"B", "2"}});
}

TEST_CASE("dotenv: single quotes are literal", "[dotenv]") {
  auto p = parse("X=outer\nA='$X ${X} \\n \\t \\\\ \"q\" # not a comment'\n", {{"X", "inh"}});
  INFO(errors_text(p.errors));
  CHECK(p.errors.empty());
  CHECK(p.vars.at("A") == "$X ${X} \\n \\t \\\\ \"q\" # not a comment");
  // "\n" stays two characters
  CHECK(p.vars.at("A").find('\n') == std::string::npos);
}

TEST_CASE("dotenv: double quotes know escapes", "[dotenv]") {
  auto p = parse(R"(A="line1\nline2"
B="tab\there"
C="say \"hi\""
D="back\\slash"
E="cr\r"
F="  kept spaces  "
G="# not a comment"
)");
  INFO(errors_text(p.errors));
  CHECK(p.errors.empty());
  CHECK(p.vars.at("A") == "line1\nline2");
  CHECK(p.vars.at("B") == "tab\there");
  CHECK(p.vars.at("C") == "say \"hi\"");
  CHECK(p.vars.at("D") == "back\\slash");
  CHECK(p.vars.at("E") == "cr\r");
  CHECK(p.vars.at("F") == "  kept spaces  ");
  CHECK(p.vars.at("G") == "# not a comment");
}

TEST_CASE("dotenv: double-quoted value spanning lines keeps later line numbers right", "[dotenv]") {
  auto p = parse("A=\"first\nsecond\nthird\"\nB=after\n1BAD=x\n");
  REQUIRE(p.errors.size() == 1);
  CHECK(p.errors[0].line == 5);
  CHECK(p.errors[0].file == ".env");
  CHECK(p.vars.at("A") == "first\nsecond\nthird");
  CHECK(p.vars.at("B") == "after");
}

TEST_CASE("dotenv: PEM key in double quotes", "[dotenv]") {
  auto p = parse("KEY=\"-----BEGIN KEY-----\nabc=\ndef\n-----END KEY-----\"\nNEXT=1\n");
  INFO(errors_text(p.errors));
  CHECK(p.errors.empty());
  CHECK(p.vars.at("KEY") == "-----BEGIN KEY-----\nabc=\ndef\n-----END KEY-----");
  CHECK(p.vars.at("NEXT") == "1");
  CHECK(p.vars.size() == 2);
}

TEST_CASE("dotenv: single-quoted value spanning lines", "[dotenv]") {
  auto p = parse("A='one\ntwo $X'\nB=2\nno equals here\n");
  CHECK(p.vars.at("A") == "one\ntwo $X");
  CHECK(p.vars.at("B") == "2");
  REQUIRE(p.errors.size() == 1);
  CHECK(p.errors[0].line == 4);
}

TEST_CASE("dotenv: unquoted values lose a trailing comment, but a#b keeps its '#'", "[dotenv]") {
  auto p = parse(
      "A=value # a comment\n"
      "B=a#b\n"
      "C=http://x/#frag\n"
      "D=#fff\n"
      "E=value\t# tab comment\n"
      "F=  spaced   value   \n");
  INFO(errors_text(p.errors));
  CHECK(p.errors.empty());
  CHECK(p.vars.at("A") == "value");
  CHECK(p.vars.at("B") == "a#b");
  CHECK(p.vars.at("C") == "http://x/#frag");
  CHECK(p.vars.at("D") == "");  // '#' right after '=' (and blanks) starts a comment
  CHECK(p.vars.at("E") == "value");
  CHECK(p.vars.at("F") == "spaced   value");
}

TEST_CASE("dotenv: a comment after a quoted value", "[dotenv]") {
  auto p = parse("A=\"v\" # comment\nB='w'   # comment\nC=\"x\"   \n");
  INFO(errors_text(p.errors));
  CHECK(p.errors.empty());
  CHECK(p.vars.at("A") == "v");
  CHECK(p.vars.at("B") == "w");
  CHECK(p.vars.at("C") == "x");
}

TEST_CASE("dotenv: variable expansion", "[dotenv]") {
  EnvMap inherited{{"HOME", "/home/me"}, {"USER", "me"}, {"EMPTY", ""}};
  auto p = parse(
      "BASE=/srv\n"
      "A=$BASE/app\n"
      "B=${BASE}/app\n"
      "C=\"${BASE}/x $HOME\"\n"
      "D=${MISSING:-fallback}\n"
      "E=${BASE:-fallback}\n"
      "F=${EMPTY:-was-empty}\n"
      "G=${EMPTY-kept-empty}\n"
      "H=${MISSING-dash-default}\n"
      "I=$USER@host\n"
      "J=pre${USER}post\n",
      inherited);
  INFO(errors_text(p.errors));
  CHECK(p.errors.empty());
  CHECK(p.vars.at("A") == "/srv/app");
  CHECK(p.vars.at("B") == "/srv/app");
  CHECK(p.vars.at("C") == "/srv/x /home/me");
  CHECK(p.vars.at("D") == "fallback");
  CHECK(p.vars.at("E") == "/srv");
  CHECK(p.vars.at("F") == "was-empty");
  CHECK(p.vars.at("G") == "");
  CHECK(p.vars.at("H") == "dash-default");
  CHECK(p.vars.at("I") == "me@host");
  CHECK(p.vars.at("J") == "premepost");
  // inherited variables are only used for expansion
  CHECK(p.vars.count("HOME") == 0);
}

TEST_CASE("dotenv: undefined variables expand to nothing", "[dotenv]") {
  auto p = parse("A=x${NOPE}y\nB=\"$NOPE\"\nC=$NOPE\n");
  INFO(errors_text(p.errors));
  CHECK(p.errors.empty());
  CHECK(p.vars.at("A") == "xy");
  CHECK(p.vars.at("B") == "");
  CHECK(p.vars.at("C") == "");
}

TEST_CASE("dotenv: earlier lines win over the inherited environment", "[dotenv]") {
  auto p = parse("PORT=4000\nURL=http://localhost:$PORT\n", {{"PORT", "9999"}});
  CHECK(p.errors.empty());
  CHECK(p.vars.at("URL") == "http://localhost:4000");
}

TEST_CASE("dotenv: a variable is expanded from its value at the time of the line", "[dotenv]") {
  auto p = parse("A=1\nB=$A\nA=2\nC=$A\n");
  CHECK(p.errors.empty());
  CHECK(p.vars.at("A") == "2");  // later key overrides the earlier one
  CHECK(p.vars.at("B") == "1");
  CHECK(p.vars.at("C") == "2");
}

TEST_CASE("dotenv: variables from an earlier file are visible", "[dotenv]") {
  auto p = parse("B=${A}-local\n", {}, EnvMap{{"A", "from-env"}});
  CHECK(p.errors.empty());
  CHECK(p.vars.at("A") == "from-env");
  CHECK(p.vars.at("B") == "from-env-local");
}

TEST_CASE("dotenv: later key overrides earlier", "[dotenv]") {
  auto p = parse("A=1\nA=2\n");
  CHECK(p.errors.empty());
  CHECK(p.vars == EnvMap{{"A", "2"}});
}

TEST_CASE("dotenv: \\$ is a literal dollar sign", "[dotenv]") {
  auto p = parse("X=x\nA=cost\\$X\nB=\"cost \\$X\"\nC=a\\\\b\nD=\"a\\\\$X\"\nE=trailing$\n");
  INFO(errors_text(p.errors));
  CHECK(p.errors.empty());
  CHECK(p.vars.at("A") == "cost$X");
  CHECK(p.vars.at("B") == "cost $X");
  CHECK(p.vars.at("C") == "a\\b");
  CHECK(p.vars.at("D") == "a\\x");  // \\ is a backslash, then $X expands
  CHECK(p.vars.at("E") == "trailing$");
}

TEST_CASE("dotenv: no expansion in single quotes", "[dotenv]") {
  auto p = parse("X=x\nA='$X ${X:-d} \\$X'\n");
  CHECK(p.errors.empty());
  CHECK(p.vars.at("A") == "$X ${X:-d} \\$X");
}

TEST_CASE("dotenv: CRLF file", "[dotenv]") {
  auto p = parse("A=1\r\nB=\"two\r\nlines\"\r\nC='c'\r\n# c\r\nD=d # x\r\nE\r\n");
  CHECK(p.vars.at("A") == "1");
  CHECK(p.vars.at("B") == "two\nlines");
  CHECK(p.vars.at("C") == "c");
  CHECK(p.vars.at("D") == "d");
  REQUIRE(p.errors.size() == 1);
  CHECK(p.errors[0].line == 7);
  CHECK(p.errors[0].what == "expected KEY=value, found 'E'");
}

TEST_CASE("dotenv: UTF-8 byte order mark", "[dotenv]") {
  auto p = parse(
      "\xEF\xBB\xBF"
      "A=1\nB=2\n");
  INFO(errors_text(p.errors));
  CHECK(p.errors.empty());
  CHECK(p.vars == EnvMap{{"A", "1"}, {"B", "2"}});
}

TEST_CASE("dotenv: unterminated double quote is reported where it opened", "[dotenv]") {
  auto p = parse("A=1\nB=\"never\nclosed\nC=3\n");
  REQUIRE(p.errors.size() == 1);
  CHECK(p.errors[0].file == ".env");
  CHECK(p.errors[0].line == 2);
  CHECK(p.errors[0].what == "unterminated double quote in the value of B");
  CHECK_FALSE(p.errors[0].fix.empty());
  CHECK(p.vars.at("A") == "1");
  CHECK(p.vars.count("B") == 0);
}

TEST_CASE("dotenv: unterminated single quote", "[dotenv]") {
  auto p = parse("A=1\n\nB='open\nC=3\n");
  REQUIRE(p.errors.size() == 1);
  CHECK(p.errors[0].line == 3);
  CHECK(p.errors[0].what == "unterminated single quote in the value of B");
  CHECK_FALSE(p.errors[0].fix.empty());
  CHECK(p.vars.count("B") == 0);
}

TEST_CASE("dotenv: a line without '='", "[dotenv]") {
  auto p = parse("A=1\nJUST_A_WORD\nB=2\n");
  REQUIRE(p.errors.size() == 1);
  CHECK(p.errors[0].line == 2);
  CHECK(p.errors[0].column == 0);
  CHECK(p.errors[0].what == "expected KEY=value, found 'JUST_A_WORD'");
  CHECK_FALSE(p.errors[0].fix.empty());
  CHECK(p.errors[0].str() ==
        ".env:2: expected KEY=value, found 'JUST_A_WORD' — " + p.errors[0].fix);
  CHECK(p.vars == EnvMap{{"A", "1"}, {"B", "2"}});
}

TEST_CASE("dotenv: a key with a space is not KEY=value", "[dotenv]") {
  auto p = parse("MY KEY=1\n");
  REQUIRE(p.errors.size() == 1);
  CHECK(p.errors[0].line == 1);
  CHECK(p.vars.empty());
}

TEST_CASE("dotenv: invalid key", "[dotenv]") {
  auto p = parse("OK=1\n1ABC=x\nA-B=y\n=z\n");
  REQUIRE(p.errors.size() == 3);
  CHECK(p.errors[0].line == 2);
  CHECK(p.errors[0].what == "invalid variable name '1ABC'");
  CHECK_FALSE(p.errors[0].fix.empty());
  CHECK(p.errors[1].line == 3);
  CHECK(p.errors[1].what == "invalid variable name 'A-B'");
  CHECK(p.errors[2].line == 4);
  CHECK(p.vars == EnvMap{{"OK", "1"}});
}

TEST_CASE("dotenv: keys may contain dots and start with '_'", "[dotenv]") {
  auto p = parse("_PRIVATE=1\nspring.profile=dev\n");
  CHECK(p.errors.empty());
  CHECK(p.vars.at("_PRIVATE") == "1");
  CHECK(p.vars.at("spring.profile") == "dev");
}

TEST_CASE("dotenv: text after the closing quote is an error", "[dotenv]") {
  auto p = parse("A=\"quoted\"extra\nB='x' y\nC=\"multi\nline\" junk\nD=ok\n");
  REQUIRE(p.errors.size() == 3);
  CHECK(p.errors[0].line == 1);
  CHECK(p.errors[0].what == "unexpected text after the closing quote of A");
  CHECK_FALSE(p.errors[0].fix.empty());
  CHECK(p.errors[1].line == 2);
  CHECK(p.errors[1].what == "unexpected text after the closing quote of B");
  CHECK(p.errors[2].line == 4);  // where the closing quote is
  CHECK(p.vars == EnvMap{{"D", "ok"}});
}

TEST_CASE("dotenv: bad ${...} references", "[dotenv]") {
  auto p = parse("A=${UNCLOSED\nB=${}\nC=${1X}\nD=fine\n");
  REQUIRE(p.errors.size() == 3);
  CHECK(p.errors[0].line == 1);
  CHECK(p.errors[0].what == "unterminated ${ in the value of A");
  CHECK(p.errors[1].line == 2);
  CHECK(p.errors[2].line == 3);
  for (const auto& e : p.errors) CHECK_FALSE(e.fix.empty());
  CHECK(p.vars == EnvMap{{"D", "fine"}});
}

TEST_CASE("dotenv: a lone $ or $ before a non-name is kept", "[dotenv]") {
  auto p = parse("A=$\nB=5$ each\nC=$1\n");
  CHECK(p.errors.empty());
  CHECK(p.vars.at("A") == "$");
  CHECK(p.vars.at("B") == "5$ each");
  CHECK(p.vars.at("C") == "$1");
}

TEST_CASE("dotenv: a NUL byte is a mistake at its line and column, not a cut value", "[dotenv]") {
  using namespace std::string_literals;
  auto p = parse("A=1\nB=\"x\0y\"\n"s);
  CHECK(p.vars.empty());
  REQUIRE(p.errors.size() == 1);
  CHECK(p.errors[0].line == 2);
  CHECK(p.errors[0].column == 5);
}
