#include <catch2/catch.hpp>
#include <csignal>
#include <string>

#include "supervisor/project/project_config.hpp"
#include "tests/support/diagnostics.hpp"

using namespace std::chrono_literals;
using rp::Diagnostics;
using rp::ProcessKind;
using rp::ProjectConfig;

using rp::test::errors_text;

namespace {

struct Parsed {
  ProjectConfig config;
  Diagnostics errors;
};

Parsed parse(const std::string& text) {
  Parsed p;
  p.config = rp::parse_project_config(text, "rp.yaml", p.errors);
  return p;
}

// Exactly one error, at `line`:`column`, in rp.yaml, with a fix; returns it.
rp::Diagnostic one_error(const std::string& text, int line, int column) {
  auto p = parse(text);
  INFO(text);
  INFO(errors_text(p.errors));
  REQUIRE(p.errors.size() == 1);
  const auto& e = p.errors[0];
  CHECK(e.file == "rp.yaml");
  CHECK(e.line == line);
  CHECK(e.column == column);
  CHECK_FALSE(e.what.empty());
  CHECK_FALSE(e.fix.empty());
  return e;
}

const char* kDesignExample =
    R"(name: shop                 # default: the directory's name, lower-cased, made DNS-safe
aliases: [shop-admin]      # more names that route here
web: web                   # the process that receives HTTP (default: "web", else the first)
formation: {web: 1, worker: 2}
idle_timeout: 15m          # stop after this long with no requests and no open connections; 0 = never
boot_timeout: 60s          # how long a first request waits for the web process to be ready
env: {RAILS_ENV: development}
processes:                 # per-process settings, and processes that are not in the Procfile
  web: {ready: {http: /up}, stop_signal: SIGTERM, stop_timeout: 5s}
  migrate: {command: "bin/migrate", kind: task}   # one-shot: may exit 0, runs before services
)";

}  // namespace

TEST_CASE("rp.yaml: the README example parses", "[project_config]") {
  auto p = parse(kDesignExample);
  INFO(errors_text(p.errors));
  REQUIRE(p.errors.empty());
  const auto& c = p.config;
  REQUIRE(c.name.has_value());
  CHECK(*c.name == "shop");
  CHECK(c.name_position.line == 1);
  CHECK(c.name_position.column == 7);
  CHECK(c.aliases == std::vector<std::string>{"shop-admin"});
  REQUIRE(c.web.has_value());
  CHECK(*c.web == "web");
  CHECK(c.web_position.line == 3);
  CHECK(c.web_position.column == 6);
  CHECK(c.formation == std::map<std::string, int>{{"web", 1}, {"worker", 2}});
  CHECK(c.formation_positions.at("web").line == 4);
  CHECK(c.formation_positions.at("web").column == 13);
  CHECK(c.formation_positions.at("worker").line == 4);
  CHECK(c.formation_positions.at("worker").column == 21);
  REQUIRE(c.idle_timeout.has_value());
  CHECK(*c.idle_timeout == 15min);
  REQUIRE(c.boot_timeout.has_value());
  CHECK(*c.boot_timeout == 60s);
  CHECK(c.env == rp::EnvMap{{"RAILS_ENV", "development"}});

  REQUIRE(c.processes.size() == 2);
  const auto& web = c.processes[0];
  CHECK(web.name == "web");
  CHECK(web.position.line == 9);
  CHECK(web.position.column == 3);
  CHECK_FALSE(web.command.has_value());
  CHECK_FALSE(web.kind.has_value());
  REQUIRE(web.ready_http.has_value());
  CHECK(*web.ready_http == "/up");
  REQUIRE(web.stop_signal.has_value());
  CHECK(*web.stop_signal == SIGTERM);
  REQUIRE(web.stop_timeout.has_value());
  CHECK(*web.stop_timeout == 5s);

  const auto& migrate = c.processes[1];
  CHECK(migrate.name == "migrate");
  CHECK(migrate.position.line == 10);
  REQUIRE(migrate.command.has_value());
  CHECK(*migrate.command == "bin/migrate");
  REQUIRE(migrate.kind.has_value());
  CHECK(*migrate.kind == ProcessKind::task);
  CHECK_FALSE(migrate.ready_http.has_value());
  CHECK_FALSE(migrate.stop_signal.has_value());
  CHECK_FALSE(migrate.stop_timeout.has_value());
}

TEST_CASE("rp.yaml: https is 'redirect' or 'both', unset by default", "[project_config]") {
  CHECK_FALSE(parse("name: shop\n").config.https_redirect.has_value());
  CHECK(parse("https: redirect\n").config.https_redirect == std::optional<bool>(true));
  CHECK(parse("https: both\n").config.https_redirect == std::optional<bool>(false));
}

TEST_CASE("rp.yaml: boot_page is true or false, unset by default", "[project_config]") {
  CHECK_FALSE(parse("name: shop\n").config.boot_page.has_value());
  CHECK(parse("boot_page: false\n").config.boot_page == std::optional<bool>(false));
  CHECK(parse("boot_page: true\n").config.boot_page == std::optional<bool>(true));
  auto e = one_error("name: shop\nboot_page: nope\n", 2, 12);
  CHECK(e.what == "boot_page must be true or false, found 'nope'");
}

TEST_CASE("rp.yaml: block style works as well as flow style", "[project_config]") {
  auto p = parse(R"(
name: shop
aliases:
  - shop-admin
  - shop2
formation:
  web: 3
env:
  A: "1"
  B: two words
  PORT_BASE: 3000
processes:
  worker:
    command: bin/worker --queue "a b"
    kind: service
    stop_signal: TERM
    stop_timeout: 1m30s
)");
  INFO(errors_text(p.errors));
  REQUIRE(p.errors.empty());
  CHECK(p.config.aliases == std::vector<std::string>{"shop-admin", "shop2"});
  CHECK(p.config.formation.at("web") == 3);
  CHECK(p.config.formation_positions.at("web").line == 7);
  CHECK(p.config.formation_positions.at("web").column == 3);
  CHECK(p.config.env == rp::EnvMap{{"A", "1"}, {"B", "two words"}, {"PORT_BASE", "3000"}});
  REQUIRE(p.config.processes.size() == 1);
  const auto& w = p.config.processes[0];
  CHECK(w.name == "worker");
  CHECK(w.position.line == 13);
  CHECK(w.position.column == 3);
  CHECK(w.command == std::optional<std::string>("bin/worker --queue \"a b\""));
  CHECK(w.kind == std::optional<ProcessKind>(ProcessKind::service));
  REQUIRE(w.stop_signal.has_value());
  CHECK(*w.stop_signal == SIGTERM);
  CHECK(w.stop_timeout == std::optional<rp::Duration>(90s));
}

TEST_CASE("rp.yaml: stop_signal names with and without SIG", "[project_config]") {
  auto p = parse(
      "processes:\n"
      "  a: {stop_signal: SIGTERM}\n"
      "  b: {stop_signal: TERM}\n"
      "  c: {stop_signal: SIGINT}\n"
      "  d: {stop_signal: QUIT}\n"
      "  e: {stop_signal: SIGUSR1}\n");
  INFO(errors_text(p.errors));
  REQUIRE(p.errors.empty());
  REQUIRE(p.config.processes.size() == 5);
  CHECK(p.config.processes[0].stop_signal == std::optional<int>(SIGTERM));
  CHECK(p.config.processes[1].stop_signal == std::optional<int>(SIGTERM));
  CHECK(p.config.processes[2].stop_signal == std::optional<int>(SIGINT));
  CHECK(p.config.processes[3].stop_signal == std::optional<int>(SIGQUIT));
  CHECK(p.config.processes[4].stop_signal == std::optional<int>(SIGUSR1));
}

TEST_CASE("rp.yaml: processes keep file order", "[project_config]") {
  auto p = parse(
      "processes:\n"
      "  zeta: {command: z}\n"
      "  alpha: {command: a}\n"
      "  mid: {command: m}\n"
      "  beta: {command: b}\n");
  INFO(errors_text(p.errors));
  REQUIRE(p.errors.empty());
  REQUIRE(p.config.processes.size() == 4);
  CHECK(p.config.processes[0].name == "zeta");
  CHECK(p.config.processes[1].name == "alpha");
  CHECK(p.config.processes[2].name == "mid");
  CHECK(p.config.processes[3].name == "beta");
  for (int i = 0; i < 4; ++i)
    CHECK(p.config.processes[static_cast<std::size_t>(i)].position.line == i + 2);
}

TEST_CASE("rp.yaml: empty file and comment-only file are fine", "[project_config]") {
  for (const char* text : {"", "# nothing here\n", "\n\n", "---\n"}) {
    auto p = parse(text);
    INFO("text: " << text);
    INFO(errors_text(p.errors));
    CHECK(p.errors.empty());
    CHECK_FALSE(p.config.name.has_value());
    CHECK_FALSE(p.config.web.has_value());
    CHECK(p.config.aliases.empty());
    CHECK(p.config.formation.empty());
    CHECK(p.config.env.empty());
    CHECK(p.config.processes.empty());
    CHECK_FALSE(p.config.idle_timeout.has_value());
    CHECK_FALSE(p.config.boot_timeout.has_value());
  }
}

TEST_CASE("rp.yaml: idle_timeout 0 means never", "[project_config]") {
  auto p = parse("idle_timeout: 0\n");
  REQUIRE(p.errors.empty());
  CHECK(p.config.idle_timeout == std::optional<rp::Duration>(0ms));
}

TEST_CASE("rp.yaml: unknown top-level key points at the key", "[project_config]") {
  auto e = one_error("name: shop\n  \nprocess:\n  web: {}\n", 3, 1);
  CHECK(e.what == "unknown key 'process' in rp.yaml");
  CHECK(e.fix.find("processes") != std::string::npos);
  CHECK(e.str() == "rp.yaml:3:1: unknown key 'process' in rp.yaml — " + e.fix);
}

TEST_CASE("rp.yaml: unknown key in a flow map points at its column", "[project_config]") {
  auto e = one_error("{name: shop, nmae: shop}\n", 1, 14);
  CHECK(e.what == "unknown key 'nmae' in rp.yaml");
}

TEST_CASE("rp.yaml: unknown key inside processes.web", "[project_config]") {
  auto p = parse("processes:\n  web:\n    command: x\n    restart: always\n");
  INFO(errors_text(p.errors));
  REQUIRE(p.errors.size() == 1);
  CHECK(p.errors[0].line == 4);
  CHECK(p.errors[0].column == 5);
  CHECK(p.errors[0].what == "unknown key 'restart' in processes.web");
  CHECK(p.errors[0].fix.find("stop_timeout") != std::string::npos);
  // the rest of the entry is still read
  REQUIRE(p.config.processes.size() == 1);
  CHECK(p.config.processes[0].command == std::optional<std::string>("x"));

  auto q = parse("processes:\n  web: {ready: {tcp: 3000}}\n");
  REQUIRE(q.errors.size() == 1);
  CHECK(q.errors[0].what == "unknown key 'tcp' in ready");
  CHECK(q.errors[0].line == 2);
  CHECK(q.errors[0].column == 17);
}

TEST_CASE("rp.yaml: wrong types", "[project_config]") {
  SECTION("formation: 3") {
    auto e = one_error("formation: 3\n", 1, 12);
    CHECK(e.what == "formation must be a map, found '3'");
  }
  SECTION("aliases: foo") {
    auto e = one_error("aliases: foo\n", 1, 10);
    CHECK(e.what == "aliases must be a list, found 'foo'");
  }
  SECTION("aliases: [{a: b}]") {
    auto e = one_error("aliases: [{a: b}]\n", 1, 11);
    CHECK(e.what == "aliases must be a string, found a map");
  }
  SECTION("formation: {web: two}") {
    auto e = one_error("formation: {web: two}\n", 1, 18);
    CHECK(e.what == "formation.web must be a whole number from 0 to 100, found 'two'");
  }
  SECTION("formation: {web: 101}") {
    auto e = one_error("formation:\n  web: 101\n", 2, 8);
    CHECK(e.what.find("101") != std::string::npos);
  }
  SECTION("formation: {web: -1}") {
    one_error("formation: {web: -1}\n", 1, 18);
  }
  SECTION("idle_timeout: 30") {
    auto e = one_error("idle_timeout: 30\n", 1, 15);
    CHECK(e.what == "idle_timeout is not a duration: '30' has no unit");
  }
  SECTION("idle_timeout: banana") {
    auto e = one_error("idle_timeout: banana\n", 1, 15);
    CHECK(e.what == "idle_timeout is not a duration: 'banana' is not a duration");
  }
  SECTION("boot_timeout: [1s]") {
    auto e = one_error("boot_timeout: [1s]\n", 1, 15);
    CHECK(e.what == "boot_timeout is not a duration: a list");
  }
  SECTION("https: always") {
    auto e = one_error("https: always\n", 1, 8);
    CHECK(e.what == "https must be 'redirect' or 'both', found 'always'");
  }
  SECTION("kind: daemon") {
    auto e = one_error("processes:\n  migrate: {command: x, kind: daemon}\n", 2, 31);
    CHECK(e.what == "kind must be 'service' or 'task', found 'daemon'");
  }
  SECTION("stop_signal: SIGNOPE") {
    auto e = one_error("processes:\n  web:\n    stop_signal: SIGNOPE\n", 3, 18);
    CHECK(e.what == "unknown signal 'SIGNOPE'");
  }
  SECTION("stop_timeout: 5") {
    auto e = one_error("processes:\n  web: {stop_timeout: 5}\n", 2, 23);
    CHECK(e.what == "stop_timeout is not a duration: '5' has no unit");
  }
  SECTION("ready: {http: up}") {
    auto e = one_error("processes:\n  web: {ready: {http: up}}\n", 2, 23);
    CHECK(e.what == "ready.http must be a path, found 'up'");
  }
  SECTION("ready: /up") {
    auto e = one_error("processes:\n  web: {ready: /up}\n", 2, 16);
    CHECK(e.what == "ready must be a map, found '/up'");
  }
  SECTION("processes: [web]") {
    auto e = one_error("processes: [web]\n", 1, 12);
    CHECK(e.what == "processes must be a map, found a list");
  }
  SECTION("processes.web: 3") {
    auto e = one_error("processes:\n  web: 3\n", 2, 8);
    CHECK(e.what == "processes.web must be a map, found '3'");
  }
  SECTION("env: [A]") {
    auto e = one_error("env: [A]\n", 1, 6);
    CHECK(e.what == "env must be a map, found a list");
  }
  SECTION("env value is a map") {
    auto e = one_error("env:\n  A: {b: c}\n", 2, 6);
    CHECK(e.what == "env.A must be a string, found a map");
  }
  SECTION("web: [a, b]") {
    auto e = one_error("web: [a, b]\n", 1, 6);
    CHECK(e.what == "web must be a string, found a list");
  }
  SECTION("command: [a]") {
    auto e = one_error("processes:\n  w: {command: [a]}\n", 2, 16);
    CHECK(e.what == "command must be a string, found a list");
  }
}

TEST_CASE("rp.yaml: the settings that are right are kept next to a wrong one", "[project_config]") {
  auto p = parse("name: shop\nidle_timeout: banana\nboot_timeout: 10s\n");
  REQUIRE(p.errors.size() == 1);
  CHECK(p.config.name == std::optional<std::string>("shop"));
  CHECK_FALSE(p.config.idle_timeout.has_value());
  CHECK(p.config.boot_timeout == std::optional<rp::Duration>(10s));
}

TEST_CASE("rp.yaml: invalid app name and aliases", "[project_config]") {
  {
    auto e = one_error("name: My App\n", 1, 7);
    CHECK(e.what == "name 'My App' cannot be a host name");
  }
  {
    auto p = parse("name: My App\n");
    CHECK_FALSE(p.config.name.has_value());
  }
  one_error("name: shop_app\n", 1, 7);
  one_error("name: -shop\n", 1, 7);
  one_error("name: " + std::string(64, 'a') + "\n", 1, 7);
  {
    auto p = parse("name: " + std::string(63, 'a') + "\n");
    CHECK(p.errors.empty());
  }
  {
    auto p = parse("aliases: [ok, Not-OK, fine]\n");
    REQUIRE(p.errors.size() == 1);
    CHECK(p.errors[0].line == 1);
    CHECK(p.errors[0].column == 15);
    CHECK(p.errors[0].what == "alias 'Not-OK' cannot be a host name");
    CHECK(p.config.aliases == std::vector<std::string>{"ok", "fine"});
  }
}

TEST_CASE("rp.yaml: invalid process name", "[project_config]") {
  auto e = one_error("processes:\n  web.1: {command: x}\n", 2, 3);
  CHECK(e.what == "invalid process name 'web.1'");
  CHECK(parse("processes:\n  web.1: {command: x}\n").config.processes.empty());
}

TEST_CASE("rp.yaml: a blank command is a mistake, as in the Procfile", "[project_config]") {
  // Seen while writing fuzz/project_fuzz.cpp, which now holds load_project to it: the process
  // ran a shell with nothing to do, which exited at once, and nothing said why.
  for (std::string command : {"\"\"", "\"  \"", "\"\\t\\n\""}) {
    const std::string text = "processes:\n  worker: {command: " + command + "}\n";
    auto e = one_error(text, 2, 21);
    CHECK(e.what == "process 'worker' has an empty command");
    CHECK_FALSE(parse(text).config.processes.at(0).command.has_value());
  }
  auto p = parse("processes:\n  worker: {command: \" bin/worker \"}\n");
  CHECK(p.errors.empty());
  CHECK(p.config.processes.at(0).command == std::optional<std::string>(" bin/worker "));
}

TEST_CASE("rp.yaml: env names are those .env accepts", "[project_config]") {
  // Found by fuzz/project_fuzz.cpp: `A=B: c` reached the process as A="B=c", and "" as "=d".
  for (std::string name : {"\"A=B\"", "\"\"", "1X", "FOO-BAR", "\"FOO BAR\"", "\"\\xE9T\""}) {
    const std::string text = "env: {OK: 1, " + name + ": x}\n";
    auto e = one_error(text, 1, 14);
    CHECK(e.what.starts_with("invalid variable name '"));
    CHECK(parse(text).config.env == rp::EnvMap{{"OK", "1"}});
  }
  auto p = parse("env: {_private: 1, RAILS_ENV: development, spring.profiles: dev}\n");
  CHECK(p.errors.empty());
  CHECK(p.config.env.size() == 3);
}

TEST_CASE("rp.yaml: YAML syntax errors give a line", "[project_config]") {
  SECTION("unclosed flow map") {
    auto p = parse("name: shop\nformation: {web: 1\nweb: web\n");
    REQUIRE(p.errors.size() == 1);
    CHECK(p.errors[0].file == "rp.yaml");
    CHECK(p.errors[0].line >= 2);
    CHECK(p.errors[0].what.rfind("YAML syntax error: ", 0) == 0);
    CHECK_FALSE(p.errors[0].fix.empty());
  }
  SECTION("bad indentation") {
    auto p = parse("name: shop\nprocesses:\n  web:\n    command: x\n   kind: task\n");
    REQUIRE(p.errors.size() == 1);
    CHECK(p.errors[0].line == 5);
    CHECK(p.errors[0].what.rfind("YAML syntax error: ", 0) == 0);
  }
  SECTION("a document that is not a map") {
    auto p = parse("- a\n- b\n");
    REQUIRE(p.errors.size() == 1);
    CHECK(p.errors[0].line == 1);
    CHECK(p.errors[0].what == "expected a map of settings, found a list");
  }
}

TEST_CASE("rp.yaml: every mistake in one run", "[project_config]") {
  auto p = parse(
      "name: Bad Name\n"
      "colour: blue\n"
      "idle_timeout: 30\n"
      "processes:\n"
      "  web: {kind: daemon, stop_signal: NOPE}\n");
  INFO(errors_text(p.errors));
  REQUIRE(p.errors.size() == 5);
  CHECK(p.errors[0].line == 1);
  CHECK(p.errors[1].line == 2);
  CHECK(p.errors[2].line == 3);
  CHECK(p.errors[3].line == 5);
  CHECK(p.errors[4].line == 5);
  CHECK(p.errors[3].column < p.errors[4].column);
}

TEST_CASE("valid_dns_label", "[project_config]") {
  CHECK(rp::valid_dns_label("shop"));
  CHECK(rp::valid_dns_label("shop-admin"));
  CHECK(rp::valid_dns_label("a1"));
  CHECK(rp::valid_dns_label("1"));
  CHECK(rp::valid_dns_label(std::string(63, 'x')));
  CHECK_FALSE(rp::valid_dns_label(std::string(64, 'x')));
  CHECK_FALSE(rp::valid_dns_label(""));
  CHECK_FALSE(rp::valid_dns_label("-shop"));
  CHECK_FALSE(rp::valid_dns_label("shop-"));
  CHECK_FALSE(rp::valid_dns_label("Shop"));
  CHECK_FALSE(rp::valid_dns_label("my_shop"));
  CHECK_FALSE(rp::valid_dns_label("my.shop"));
  CHECK_FALSE(rp::valid_dns_label("my shop"));
}

TEST_CASE("rp.yaml: a NUL in a command or a variable is a mistake, not a cut value",
          "[project_config]") {
  CHECK(one_error("processes:\n  web: {command: \"bin/server\\0 --port 1\"}\n", 2, 18)
            .what.find("NUL") != std::string::npos);
  CHECK(one_error("env:\n  A: \"x\\0y\"\n", 2, 6).what.find("env.A") != std::string::npos);
}

TEST_CASE("rp.yaml: a NUL byte in the file is named as one", "[project_config]") {
  using namespace std::string_literals;
  CHECK(one_error("env:\n  A: x\0y\n"s, 2, 7).what.find("NUL byte") != std::string::npos);
}
