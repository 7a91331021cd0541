#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>

#include "supervisor/project/project.hpp"
#include "tests/support/diagnostics.hpp"

using namespace std::chrono_literals;
using rp::Diagnostics;
using rp::EnvMap;
using rp::LoadOptions;
using rp::ProcessKind;
using rp::Project;

namespace fs = std::filesystem;

using rp::test::errors_text;

namespace {

// A fresh directory under the system's temporary directory, removed with everything in it.
struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           ("rp-project-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) +
            "-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // A directory inside this one, for tests that need a particular name.
  fs::path sub(const std::string& name) const {
    fs::create_directories(path / name);
    return path / name;
  }
};

void write(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary);
  out << text;
  REQUIRE(out.good());
}

struct Loaded {
  std::optional<Project> project;
  Diagnostics errors;
};

Loaded load(const fs::path& dir, const LoadOptions& options = {}, const EnvMap& inherited = {},
            const rp::GlobalConfig& global = {}) {
  Loaded l;
  l.project = rp::load_project(dir, options, inherited, global, l.errors);
  return l;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::vector<std::string> names(const std::vector<rp::ProcessSpec>& specs) {
  std::vector<std::string> out;
  for (const auto& s : specs) out.push_back(s.name);
  return out;
}

const rp::ProcessSpec& spec(const Project& p, const std::string& name) {
  for (const auto* list : {&p.services, &p.tasks}) {
    for (const auto& s : *list) {
      if (s.name == name) return s;
    }
  }
  FAIL("no process " << name);
  throw 0;  // not reached
}

// Loads `dir`, requiring success.
Project load_ok(const fs::path& dir, const LoadOptions& options = {}, const EnvMap& inherited = {},
                const rp::GlobalConfig& global = {}) {
  auto l = load(dir, options, inherited, global);
  INFO(errors_text(l.errors));
  REQUIRE(l.errors.empty());
  REQUIRE(l.project.has_value());
  return *l.project;
}

// Loads `dir`, requiring exactly one error; returns it.
rp::Diagnostic load_one_error(const fs::path& dir, const LoadOptions& options = {}) {
  auto l = load(dir, options);
  INFO(errors_text(l.errors));
  CHECK_FALSE(l.project.has_value());
  REQUIRE(l.errors.size() == 1);
  CHECK_FALSE(l.errors[0].what.empty());
  CHECK_FALSE(l.errors[0].fix.empty());
  return l.errors[0];
}

}  // namespace

TEST_CASE("project: a Procfile alone", "[project]") {
  TempDir t;
  auto dir = t.sub("shop");
  write(dir / "Procfile", "web: bin/server\nworker: bin/worker\n");
  auto p = load_ok(dir);
  CHECK(p.dir == dir);
  CHECK(p.name == "shop");
  CHECK(p.web == "web");
  CHECK(names(p.services) == std::vector<std::string>{"web", "worker"});
  CHECK(p.tasks.empty());
  CHECK(p.aliases.empty());
  CHECK(p.env.empty());
  const auto& web = spec(p, "web");
  CHECK(web.command == "bin/server");
  CHECK(web.kind == ProcessKind::service);
  CHECK(web.count == 1);
  CHECK(web.stop_signal == SIGTERM);
  CHECK(web.stop_timeout == 5s);
  CHECK_FALSE(web.ready_http.has_value());
  CHECK(p.idle_timeout == 15min);  // from the global config
  CHECK(p.boot_timeout == 60s);
}

TEST_CASE("project: Procfile.dev is preferred over Procfile", "[project]") {
  TempDir t;
  auto dir = t.sub("app");
  write(dir / "Procfile", "web: production-server\n");
  write(dir / "Procfile.dev", "web: dev-server\ncss: bin/css --watch\n");
  auto p = load_ok(dir);
  CHECK(names(p.services) == std::vector<std::string>{"web", "css"});
  CHECK(spec(p, "web").command == "dev-server");
}

TEST_CASE("project: -f names the Procfile and its directory is the project's", "[project]") {
  TempDir t;
  auto here = t.sub("here");
  write(here / "Procfile.dev", "web: wrong\n");
  write(here / "rp.yaml", "name: wrong\n");
  auto there = t.sub("Other_Dir");
  write(there / "Procfile.custom", "api: bin/api\n");
  write(there / "rp.yaml", "aliases: [other-alias]\n");
  write(there / ".env", "FROM=there\n");
  LoadOptions options;
  options.procfile = there / "Procfile.custom";
  auto p = load_ok(here, options);
  CHECK(p.dir == there);
  CHECK(p.name == "other-dir");
  CHECK(p.aliases == std::vector<std::string>{"other-alias"});
  CHECK(names(p.services) == std::vector<std::string>{"api"});
  CHECK(p.web == "api");
  CHECK(p.env == EnvMap{{"FROM", "there"}});
}

TEST_CASE("project: -f naming a missing file is an error", "[project]") {
  TempDir t;
  auto dir = t.sub("app");
  write(dir / "Procfile", "web: x\n");
  LoadOptions options;
  options.procfile = dir / "Procfile.missing";
  auto e = load_one_error(dir, options);
  CHECK(ends_with(e.file, "Procfile.missing"));
  CHECK(e.line == 0);
  CHECK(e.what == "cannot read the Procfile");
}

TEST_CASE("project: missing Procfile is an error", "[project]") {
  TempDir t;
  auto dir = t.sub("empty");
  auto e = load_one_error(dir);
  CHECK(ends_with(e.file, "Procfile"));
  CHECK(e.line == 0);
  CHECK(e.what == "cannot read the Procfile");
  // an rp.yaml without processes does not make up for it
  write(dir / "rp.yaml", "name: x\n");
  CHECK(load_one_error(dir).what == "cannot read the Procfile");
}

TEST_CASE("project: Procfile mistakes are reported with their file and line", "[project]") {
  TempDir t;
  auto dir = t.sub("app");
  write(dir / "Procfile", "web: ok\nbroken line\n");
  auto e = load_one_error(dir);
  CHECK(ends_with(e.file, "Procfile"));
  CHECK(e.line == 2);
}

TEST_CASE("project: dns_safe_name", "[project]") {
  CHECK(rp::dns_safe_name("My_Shop App") == "my-shop-app");
  CHECK(rp::dns_safe_name("shop") == "shop");
  CHECK(rp::dns_safe_name("Shop.V2") == "shop-v2");
  CHECK(rp::dns_safe_name("__weird__name--") == "weird-name");
  CHECK(rp::dns_safe_name("a   b") == "a-b");
  CHECK(rp::dns_safe_name("café") == "caf");
  CHECK(rp::dns_safe_name("---") == "");
  CHECK(rp::dns_safe_name("") == "");
  std::string long_name(70, 'a');
  CHECK(rp::dns_safe_name(long_name) == std::string(63, 'a'));
  // cut at 63 must not leave a '-' at the end
  std::string cut = std::string(62, 'b') + "_c";
  CHECK(rp::dns_safe_name(cut) == std::string(62, 'b'));
  for (const char* n : {"My_Shop App", "Shop.V2", "__weird__name--", "x y z"}) {
    CHECK(rp::valid_dns_label(rp::dns_safe_name(n)));
  }
}

TEST_CASE("project: name from the directory, lower-cased and DNS-safe", "[project]") {
  TempDir t;
  auto dir = t.sub("My_Shop App");
  write(dir / "Procfile", "web: x\n");
  CHECK(load_ok(dir).name == "my-shop-app");
}

TEST_CASE("project: rp.yaml name wins over the directory", "[project]") {
  TempDir t;
  auto dir = t.sub("My_Shop App");
  write(dir / "Procfile", "web: x\n");
  write(dir / "rp.yaml", "name: shop\naliases: [shop-admin, admin]\n");
  auto p = load_ok(dir);
  CHECK(p.name == "shop");
  CHECK(p.aliases == std::vector<std::string>{"shop-admin", "admin"});
}

TEST_CASE("project: a directory with no usable name needs rp.yaml name", "[project]") {
  TempDir t;
  auto dir = t.sub("___");
  write(dir / "Procfile", "web: x\n");
  auto e = load_one_error(dir);
  CHECK(ends_with(e.file, "rp.yaml"));
  CHECK(e.what == "'___' gives no usable app name");
  write(dir / "rp.yaml", "name: named\n");
  CHECK(load_ok(dir).name == "named");
}

TEST_CASE("project: the web process", "[project]") {
  TempDir t;
  SECTION("'web' when there is one, wherever it is") {
    auto dir = t.sub("a");
    write(dir / "Procfile", "worker: w\nweb: s\n");
    CHECK(load_ok(dir).web == "web");
  }
  SECTION("else the first process") {
    auto dir = t.sub("b");
    write(dir / "Procfile", "api: a\nworker: w\n");
    CHECK(load_ok(dir).web == "api");
  }
  SECTION("rp.yaml web names another one") {
    auto dir = t.sub("c");
    write(dir / "Procfile", "web: s\nfrontend: f\n");
    write(dir / "rp.yaml", "web: frontend\n");
    CHECK(load_ok(dir).web == "frontend");
  }
  SECTION("rp.yaml web naming an unknown process is an error at its line") {
    auto dir = t.sub("d");
    write(dir / "Procfile", "web: s\nworker: w\n");
    write(dir / "rp.yaml", "name: d\n\nweb: nope\n");
    auto e = load_one_error(dir);
    CHECK(ends_with(e.file, "rp.yaml"));
    CHECK(e.line == 3);
    CHECK(e.column == 6);
    CHECK(e.what == "web names unknown process 'nope'");
    CHECK(e.fix.find("web, worker") != std::string::npos);
  }
  SECTION("rp.yaml web naming a task is an error") {
    auto dir = t.sub("e");
    write(dir / "Procfile", "web: s\n");
    write(dir / "rp.yaml", "web: migrate\nprocesses:\n  migrate: {command: m, kind: task}\n");
    auto e = load_one_error(dir);
    CHECK(e.line == 1);
    CHECK(e.what == "web names unknown process 'migrate'");
  }
}

TEST_CASE("project: rp.yaml settings reach the processes", "[project]") {
  TempDir t;
  auto dir = t.sub("shop");
  write(dir / "Procfile", "web: bin/server\nworker: bin/worker\n");
  write(dir / "rp.yaml",
        "idle_timeout: 0\n"
        "boot_timeout: 2m\n"
        "processes:\n"
        "  web: {ready: {http: /up}, stop_signal: SIGINT, stop_timeout: 10s}\n"
        "  worker: {stop_signal: QUIT}\n");
  auto p = load_ok(dir);
  CHECK(p.idle_timeout == 0ms);
  CHECK(p.boot_timeout == 2min);
  const auto& web = spec(p, "web");
  CHECK(web.command == "bin/server");
  CHECK(web.ready_http == std::optional<std::string>("/up"));
  CHECK(web.stop_signal == SIGINT);
  CHECK(web.stop_timeout == 10s);
  const auto& worker = spec(p, "worker");
  CHECK(worker.stop_signal == SIGQUIT);
  CHECK(worker.stop_timeout == 5s);
  CHECK_FALSE(worker.ready_http.has_value());
}

TEST_CASE("project: processes only in rp.yaml are added after the Procfile's", "[project]") {
  TempDir t;
  auto dir = t.sub("shop");
  write(dir / "Procfile", "web: bin/server\n");
  write(dir / "rp.yaml",
        "processes:\n"
        "  mail: {command: bin/mailcatcher}\n"
        "  css: {command: bin/css, kind: service}\n");
  auto p = load_ok(dir);
  CHECK(names(p.services) == std::vector<std::string>{"web", "mail", "css"});
  CHECK(spec(p, "mail").command == "bin/mailcatcher");
  CHECK(spec(p, "css").kind == ProcessKind::service);
  CHECK(p.tasks.empty());
}

TEST_CASE("project: rp.yaml processes with no Procfile at all", "[project]") {
  TempDir t;
  auto dir = t.sub("shop");
  write(dir / "rp.yaml", "processes:\n  api: {command: bin/api}\n");
  auto p = load_ok(dir);
  CHECK(names(p.services) == std::vector<std::string>{"api"});
  CHECK(p.web == "api");
}

TEST_CASE("project: tasks leave the services, in rp.yaml order", "[project]") {
  TempDir t;
  auto dir = t.sub("shop");
  write(dir / "Procfile", "web: bin/server\nsetup: bin/setup\nworker: bin/worker\n");
  write(dir / "rp.yaml",
        "processes:\n"
        "  seed: {command: bin/seed, kind: task}\n"
        "  migrate: {command: bin/migrate, kind: task}\n"
        "  setup: {kind: task}\n");
  auto p = load_ok(dir);
  CHECK(names(p.services) == std::vector<std::string>{"web", "worker"});
  CHECK(names(p.tasks) == std::vector<std::string>{"seed", "migrate", "setup"});
  for (const auto& task : p.tasks) CHECK(task.kind == ProcessKind::task);
  CHECK(spec(p, "setup").command == "bin/setup");
  CHECK(spec(p, "migrate").command == "bin/migrate");
}

TEST_CASE("project: rp.yaml process with no command and not in the Procfile", "[project]") {
  TempDir t;
  auto dir = t.sub("shop");
  write(dir / "Procfile", "web: bin/server\n");
  write(dir / "rp.yaml", "processes:\n  web: {stop_timeout: 1s}\n  wrker: {stop_timeout: 1s}\n");
  auto e = load_one_error(dir);
  CHECK(ends_with(e.file, "rp.yaml"));
  CHECK(e.line == 3);
  CHECK(e.column == 3);
  CHECK(e.what == "process 'wrker' is not in the Procfile and has no command");
  CHECK(e.fix.find("web") != std::string::npos);
}

TEST_CASE("project: a command in both the Procfile and rp.yaml", "[project]") {
  TempDir t;
  auto dir = t.sub("shop");
  write(dir / "Procfile", "web: bin/server\n");
  write(dir / "rp.yaml", "processes:\n  web:\n    command: bin/other\n");
  auto e = load_one_error(dir);
  CHECK(ends_with(e.file, "rp.yaml"));
  CHECK(e.line == 2);
  CHECK(e.column == 3);
  CHECK(e.what == "process 'web' has a command here and in the Procfile");
}

TEST_CASE("project: formation from rp.yaml and from -m", "[project]") {
  TempDir t;
  auto dir = t.sub("shop");
  write(dir / "Procfile", "web: s\nworker: w\nclock: c\n");
  write(dir / "rp.yaml", "formation: {web: 2, worker: 3}\n");
  SECTION("rp.yaml alone") {
    auto p = load_ok(dir);
    CHECK(spec(p, "web").count == 2);
    CHECK(spec(p, "worker").count == 3);
    CHECK(spec(p, "clock").count == 1);
  }
  SECTION("-m over rp.yaml") {
    LoadOptions options;
    options.formation = "web=1,clock=0";
    auto p = load_ok(dir, options);
    CHECK(spec(p, "web").count == 1);
    CHECK(spec(p, "worker").count == 3);
    CHECK(spec(p, "clock").count == 0);
  }
  SECTION("-m all=N with an exception") {
    LoadOptions options;
    options.formation = "all=0,worker=4";
    auto p = load_ok(dir, options);
    CHECK(spec(p, "web").count == 0);
    CHECK(spec(p, "worker").count == 4);
    CHECK(spec(p, "clock").count == 0);
  }
}

TEST_CASE("project: formation naming an unknown process", "[project]") {
  TempDir t;
  auto dir = t.sub("shop");
  write(dir / "Procfile", "web: s\nworker: w\n");
  SECTION("in rp.yaml, at its line") {
    write(dir / "rp.yaml", "name: shop\nformation:\n  web: 1\n  wroker: 2\n");
    auto e = load_one_error(dir);
    CHECK(ends_with(e.file, "rp.yaml"));
    CHECK(e.line == 4);
    CHECK(e.column == 3);
    CHECK(e.what == "formation names unknown process 'wroker'");
    CHECK(e.fix.find("web, worker") != std::string::npos);
  }
  SECTION("in -m") {
    LoadOptions options;
    options.formation = "web=2,wroker=1";
    auto e = load_one_error(dir, options);
    CHECK(e.file == "-m");
    CHECK(e.line == 0);
    CHECK(e.what == "formation names unknown process 'wroker'");
    CHECK(e.str() == "-m: formation names unknown process 'wroker' — " + e.fix);
  }
  SECTION("-m that does not parse") {
    LoadOptions options;
    options.formation = "web=lots";
    auto e = load_one_error(dir, options);
    CHECK(e.file == "-m");
    CHECK(e.line == 0);
  }
}

TEST_CASE("project: env precedence .env < .env.local < rp.yaml env", "[project]") {
  TempDir t;
  auto dir = t.sub("shop");
  write(dir / "Procfile", "web: s\n");
  write(dir / ".env", "A=env\nB=env\nC=env\nBASE=/srv\n");
  write(dir / ".env.local", "B=local\nC=local\nD=${BASE}/local\nE=$FROM_SHELL\n");
  write(dir / "rp.yaml", "env:\n  C: yaml\n  F: yaml-only\n");
  auto p = load_ok(dir, {}, {{"FROM_SHELL", "shell"}, {"PATH", "/usr/bin"}});
  CHECK(p.env == EnvMap{{"A", "env"},
                        {"B", "local"},
                        {"C", "yaml"},
                        {"BASE", "/srv"},
                        {"D", "/srv/local"},
                        {"E", "shell"},
                        {"F", "yaml-only"}});
}

TEST_CASE("project: .env mistakes name the file and line", "[project]") {
  TempDir t;
  auto dir = t.sub("shop");
  write(dir / "Procfile", "web: s\n");
  write(dir / ".env.local", "A=1\nB=\"open\n");
  auto e = load_one_error(dir);
  CHECK(ends_with(e.file, ".env.local"));
  CHECK(e.line == 2);
}

TEST_CASE("project: explicit env files replace the defaults", "[project]") {
  TempDir t;
  auto dir = t.sub("shop");
  write(dir / "Procfile", "web: s\n");
  write(dir / ".env", "DEFAULT=yes\n");
  write(dir / ".env.local", "LOCAL=yes\n");
  write(dir / "one.env", "A=1\nB=1\n");
  write(dir / "two.env", "B=2\n");
  LoadOptions options;
  options.env_files = std::vector<fs::path>{dir / "one.env", dir / "two.env"};
  auto p = load_ok(dir, options);
  CHECK(p.env == EnvMap{{"A", "1"}, {"B", "2"}});
}

TEST_CASE("project: a missing explicit env file is an error", "[project]") {
  TempDir t;
  auto dir = t.sub("shop");
  write(dir / "Procfile", "web: s\n");
  LoadOptions options;
  options.env_files = std::vector<fs::path>{dir / "missing.env"};
  auto e = load_one_error(dir, options);
  CHECK(ends_with(e.file, "missing.env"));
  CHECK(e.line == 0);
  CHECK(e.what == "cannot read this env file");
}

TEST_CASE("project: only starts the named services", "[project]") {
  TempDir t;
  auto dir = t.sub("shop");
  write(dir / "Procfile", "web: s\nworker: w\nclock: c\n");
  write(dir / "rp.yaml", "processes:\n  migrate: {command: m, kind: task}\n");
  LoadOptions options;
  options.only = {"clock", "web"};
  auto p = load_ok(dir, options);
  CHECK(names(p.services) == std::vector<std::string>{"web", "clock"});
  CHECK(names(p.tasks) == std::vector<std::string>{"migrate"});  // tasks always run
  CHECK(p.web == "web");
}

TEST_CASE("project: only naming an unknown service is an error", "[project]") {
  TempDir t;
  auto dir = t.sub("shop");
  write(dir / "Procfile", "web: s\nworker: w\n");
  write(dir / "rp.yaml", "processes:\n  migrate: {command: m, kind: task}\n");
  LoadOptions options;
  options.only = {"web", "wroker"};
  auto e = load_one_error(dir, options);
  CHECK(e.file == "rp up");
  CHECK(e.line == 0);
  CHECK(e.what == "no service named 'wroker'");
  CHECK(e.fix.find("web, worker") != std::string::npos);
  // a task is not a service to pick
  options.only = {"migrate"};
  CHECK(load_one_error(dir, options).what == "no service named 'migrate'");
}

TEST_CASE("project: rp.yaml web is checked even when only some services start", "[project]") {
  TempDir t;
  auto dir = t.sub("shop");
  write(dir / "Procfile", "web: s\nworker: w\n");
  write(dir / "rp.yaml", "web: nope\n");
  LoadOptions options;
  options.only = {"worker"};
  auto e = load_one_error(dir, options);
  CHECK(e.line == 1);
  CHECK(e.what == "web names unknown process 'nope'");
}

TEST_CASE("project: every mistake of every file in one run", "[project]") {
  TempDir t;
  auto dir = t.sub("shop");
  write(dir / "Procfile", "web: s\nbad line\n");
  write(dir / ".env", "1X=2\n");
  write(dir / "rp.yaml", "colour: blue\n");
  LoadOptions options;
  options.formation = "nope=1";
  auto l = load(dir, options);
  INFO(errors_text(l.errors));
  CHECK_FALSE(l.project.has_value());
  CHECK(l.errors.size() == 4);
}

TEST_CASE("project: display_path is relative inside the current directory", "[project]") {
  auto cwd = fs::current_path();
  CHECK(rp::display_path(cwd / "sub" / "Procfile") == "sub/Procfile");
  CHECK(rp::display_path(cwd / "rp.yaml") == "rp.yaml");
  if (cwd != cwd.root_path()) {
    auto outside = cwd.parent_path() / "rp-not-here" / "Procfile";
    CHECK(rp::display_path(outside) == outside.string());
  }
}

TEST_CASE("project: diagnostics use paths relative to the current directory", "[project]") {
  TempDir t;
  auto dir = t.sub("shop");
  write(dir / "Procfile", "web: s\n");
  write(dir / "rp.yaml", "bogus: 1\n");
  auto old = fs::current_path();
  fs::current_path(dir);
  auto l = load(dir);
  fs::current_path(old);
  REQUIRE(l.errors.size() == 1);
  CHECK(l.errors[0].file == "rp.yaml");
  CHECK(l.errors[0].str().rfind("rp.yaml:1:1: unknown key 'bogus'", 0) == 0);
}
