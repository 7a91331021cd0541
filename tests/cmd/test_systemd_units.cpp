// `rp export systemd`'s units as text: foreman's layout (NAME.target, NAME-PROC-N.service),
// systemd's quoting of the environment and the command, the stop settings, tasks as oneshot units
// before the services, a port per instance, and how a later export knows its own files.
#include <catch2/catch.hpp>
#include <csignal>
#include <string>
#include <vector>

#include "cmd/systemd_units.hpp"
#include "supervisor/app/ports.hpp"

using namespace std::chrono_literals;
using rp::exec_quoted;
using rp::exported_for;
using rp::unit_quoted;

namespace {

rp::ProcessSpec process(std::string name, std::string command, int count = 1) {
  rp::ProcessSpec spec;
  spec.name = std::move(name);
  spec.command = std::move(command);
  spec.count = count;
  return spec;
}

rp::Project shop() {
  rp::Project p;
  p.dir = "/home/ann/shop";
  p.name = "shop";
  p.web = "web";
  p.services = {process("web", "python3 app.py")};
  return p;
}

const rp::PortRange kRange{20000, 29999};

std::vector<rp::UnitFile> units_of(const rp::Project& project) {
  rp::Diagnostics errors;
  auto units = rp::systemd_units(project, kRange, errors);
  REQUIRE(errors.empty());
  return units;
}

// A copy, so that it outlives the vector it came from.
rp::UnitFile unit(const std::vector<rp::UnitFile>& units, const std::string& name) {
  for (const auto& u : units) {
    if (u.name == name) return u;
  }
  FAIL("no unit " << name);
  return {};
}

bool has_line(const rp::UnitFile& u, const std::string& line) {
  return u.text.find("\n" + line + "\n") != std::string::npos;
}

std::vector<std::string> names(const std::vector<rp::UnitFile>& units) {
  std::vector<std::string> out;
  for (const auto& u : units) out.push_back(u.name);
  return out;
}

}  // namespace

TEST_CASE("systemd: a value is one double-quoted word, escaped as systemd reads it", "[systemd]") {
  CHECK(unit_quoted("plain") == "\"plain\"");
  CHECK(unit_quoted("say \"hi\"") == "\"say \\\"hi\\\"\"");
  CHECK(unit_quoted("C:\\dir\\") == "\"C:\\\\dir\\\\\"");
  CHECK(unit_quoted("100%") == "\"100%%\"");
  CHECK(unit_quoted("%n %h") == "\"%%n %%h\"");
  // Environment= takes `$` literally; ExecStart= would substitute it.
  CHECK(unit_quoted("$HOME ${X}") == "\"$HOME ${X}\"");
  CHECK(exec_quoted("$HOME ${X} $$") == "\"$$HOME $${X} $$$$\"");
  CHECK(unit_quoted("single 'quotes' stay") == "\"single 'quotes' stay\"");
}

TEST_CASE("systemd: control characters are C escapes, so a value may span lines", "[systemd]") {
  CHECK(unit_quoted("-----BEGIN KEY-----\nabc\n-----END KEY-----") ==
        "\"-----BEGIN KEY-----\\nabc\\n-----END KEY-----\"");
  CHECK(unit_quoted("a\tb\rc") == "\"a\\tb\\rc\"");
  CHECK(unit_quoted(std::string("bell\x07 del\x7f", 10)) == "\"bell\\x07 del\\x7f\"");
  CHECK(exec_quoted("echo a\necho b") == "\"echo a\\necho b\"");
  // UTF-8 passes as it is.
  CHECK(unit_quoted("café ☕") == "\"café ☕\"");
}

TEST_CASE("systemd: NAME.target wants one unit per process instance", "[systemd]") {
  auto p = shop();
  p.services.push_back(process("worker", "bundle exec sidekiq"));
  auto units = units_of(p);
  CHECK(names(units) ==
        std::vector<std::string>{"shop.target", "shop-web-1.service", "shop-worker-1.service"});
  const auto& target = unit(units, "shop.target");
  CHECK(has_line(target, "Wants=shop-web-1.service shop-worker-1.service"));
  CHECK(has_line(target, "[Install]"));
  CHECK(target.text.ends_with("\nWantedBy=default.target\n"));
  CHECK(target.port == 0);
  for (const auto& name : {"shop-web-1.service", "shop-worker-1.service"}) {
    CHECK(has_line(unit(units, name), "PartOf=shop.target"));
  }
}

TEST_CASE("systemd: a service runs in the project, through sh, restarted on failure", "[systemd]") {
  auto p = shop();
  p.services = {process("web", "bin/rails server -p $PORT -b \"127.0.0.1\"")};
  const auto& web = unit(units_of(p), "shop-web-1.service");
  CHECK(has_line(web, "[Service]"));
  CHECK(has_line(web, "WorkingDirectory=/home/ann/shop"));
  // A simple command gets exec (supervisor/process/shell_command), then systemd's quoting.
  CHECK(has_line(web,
                 "ExecStart=/bin/sh -c \"exec bin/rails server -p $$PORT -b \\\"127.0.0.1\\\"\""));
  CHECK(has_line(web, "Restart=on-failure"));
  CHECK(has_line(web, "KillMode=control-group"));
  CHECK(has_line(web, "Description=shop web.1 (rp export)"));
}

TEST_CASE("systemd: a list stays a shell script, `%` and `\\` escaped", "[systemd]") {
  auto p = shop();
  p.services = {process("web", "cd web && printf '100%%\\n' && exec npm start")};
  CHECK(has_line(unit(units_of(p), "shop-web-1.service"),
                 "ExecStart=/bin/sh -c \"cd web && printf '100%%%%\\\\n' && exec npm start\""));
}

TEST_CASE("systemd: KillSignal and TimeoutStopSec come from stop_signal and stop_timeout",
          "[systemd]") {
  auto p = shop();
  p.services[0].stop_signal = SIGINT;
  p.services[0].stop_timeout = 90s;
  p.services.push_back(process("worker", "sleep 1"));
  p.services[1].stop_signal = SIGQUIT;
  p.services[1].stop_timeout = 500ms;
  p.services.push_back(process("clock", "sleep 1"));
  p.services[2].stop_timeout = 0s;
  auto units = units_of(p);
  CHECK(has_line(unit(units, "shop-web-1.service"), "KillSignal=SIGINT"));
  CHECK(has_line(unit(units, "shop-web-1.service"), "TimeoutStopSec=1m30s"));
  CHECK(has_line(unit(units, "shop-worker-1.service"), "KillSignal=SIGQUIT"));
  CHECK(has_line(unit(units, "shop-worker-1.service"), "TimeoutStopSec=500ms"));
  // The default, SIGTERM after 5 s; and 0 (rp kills at once) is not systemd's 0 (never).
  CHECK(has_line(unit(units, "shop-clock-1.service"), "KillSignal=SIGTERM"));
  CHECK(has_line(unit(units, "shop-clock-1.service"), "TimeoutStopSec=1ms"));
}

TEST_CASE("systemd: the project's environment, then PORT, RP_APP and RP_PROCESS", "[systemd]") {
  auto p = shop();
  p.env = {{"DATABASE_URL", "postgres://localhost/shop"},
           {"GREETING", "say \"hi\" 100% of $TIME"},
           {"PORT", "1"},
           {"RP_APP", "theirs"}};
  const auto& web = unit(units_of(p), "shop-web-1.service");
  CHECK(has_line(web, "Environment=\"DATABASE_URL=postgres://localhost/shop\""));
  CHECK(has_line(web, "Environment=\"GREETING=say \\\"hi\\\" 100%% of $TIME\""));
  const int port = rp::preferred_port("shop", "web", 1, kRange);
  CHECK(web.port == port);
  CHECK(has_line(web, "Environment=\"PORT=" + std::to_string(port) + "\""));
  CHECK(has_line(web, "Environment=\"RP_APP=shop\""));
  CHECK(has_line(web, "Environment=\"RP_PROCESS=web.1\""));
  CHECK(web.text.find("PORT=1\"") == std::string::npos);
  CHECK(web.text.find("theirs") == std::string::npos);
}

TEST_CASE("systemd: a formation of 2 gives two units, each with its own PORT", "[systemd]") {
  auto p = shop();
  p.services[0].count = 2;
  p.services.push_back(process("worker", "sleep 1", 0));
  auto units = units_of(p);
  CHECK(names(units) ==
        std::vector<std::string>{"shop.target", "shop-web-1.service", "shop-web-2.service"});
  const auto& one = unit(units, "shop-web-1.service");
  const auto& two = unit(units, "shop-web-2.service");
  CHECK(one.port == rp::preferred_port("shop", "web", 1, kRange));
  CHECK(two.port == rp::preferred_port("shop", "web", 2, kRange));
  CHECK(one.port != two.port);
  CHECK(has_line(two, "Environment=\"PORT=" + std::to_string(two.port) + "\""));
  CHECK(has_line(two, "Environment=\"RP_PROCESS=web.2\""));
  CHECK(has_line(unit(units, "shop.target"), "Wants=shop-web-1.service shop-web-2.service"));
}

TEST_CASE("systemd: instances whose ports collide get the next one, as under rp up", "[systemd]") {
  auto p = shop();
  p.services[0].count = 3;
  rp::Diagnostics errors;
  auto units = rp::systemd_units(p, {20000, 20001}, errors);
  REQUIRE(units.size() == 4);
  CHECK(units[1].port != units[2].port);
  CHECK((units[1].port == 20000 || units[1].port == 20001));
  CHECK(units[3].port == 0);  // the range is full
}

TEST_CASE("systemd: tasks are oneshot units, in order, that every service requires", "[systemd]") {
  auto p = shop();
  p.tasks = {process("migrate", "bin/migrate"), process("seed", "bin/seed")};
  for (auto& t : p.tasks) t.kind = rp::ProcessKind::task;
  auto units = units_of(p);
  CHECK(names(units) == std::vector<std::string>{"shop.target", "shop-migrate-1.service",
                                                 "shop-seed-1.service", "shop-web-1.service"});
  const auto& migrate = unit(units, "shop-migrate-1.service");
  const auto& seed = unit(units, "shop-seed-1.service");
  for (const auto* task : {&migrate, &seed}) {
    CHECK(has_line(*task, "Type=oneshot"));
    CHECK(has_line(*task, "RemainAfterExit=yes"));
    CHECK(has_line(*task, "PartOf=shop.target"));
    CHECK(task->text.find("Restart=") == std::string::npos);
    CHECK(task->text.find("PORT=") == std::string::npos);
    CHECK(task->port == 0);
  }
  CHECK(migrate.text.find("After=") == std::string::npos);
  CHECK(has_line(seed, "After=shop-migrate-1.service"));
  CHECK(has_line(seed, "Requires=shop-migrate-1.service"));
  const auto& web = unit(units, "shop-web-1.service");
  CHECK(has_line(web, "After=shop-migrate-1.service shop-seed-1.service"));
  CHECK(has_line(web, "Requires=shop-migrate-1.service shop-seed-1.service"));
  CHECK(has_line(unit(units, "shop.target"),
                 "Wants=shop-migrate-1.service shop-seed-1.service shop-web-1.service"));
}

TEST_CASE("systemd: `%` in the project's path is escaped in WorkingDirectory", "[systemd]") {
  auto p = shop();
  p.dir = "/home/ann/100% done/shop";
  CHECK(has_line(unit(units_of(p), "shop-web-1.service"),
                 "WorkingDirectory=/home/ann/100%% done/shop"));
}

TEST_CASE("systemd: what a unit cannot carry is an error, and no unit is made", "[systemd]") {
  auto p = shop();
  p.env = {{"app.name", "x"}, {"OK", "y"}};
  rp::Diagnostics errors;
  CHECK(rp::systemd_units(p, kRange, errors).empty());
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].str().find("systemd cannot pass the variable 'app.name'") != std::string::npos);

  p = shop();
  p.dir = "/home/ann/odd\nname";
  errors.clear();
  CHECK(rp::systemd_units(p, kRange, errors).empty());
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].str().find("control character") != std::string::npos);
}

TEST_CASE("systemd: a later export knows its own files, and only those", "[systemd]") {
  auto units = units_of(shop());
  for (const auto& u : units) CHECK(exported_for("shop", u.name, u.text));
  const auto& web = unit(units, "shop-web-1.service");
  // Another app's export, even one whose name starts with this one's.
  auto other = shop();
  other.name = "shop-web";
  const auto others = unit(units_of(other), "shop-web-web-1.service");
  CHECK_FALSE(exported_for("shop", "shop-web-web-1.service", others.text));
  CHECK(exported_for("shop-web", "shop-web-web-1.service", others.text));
  // A file the user wrote, or this app's mark under a name that is not this app's.
  CHECK_FALSE(exported_for("shop", "shop-web-1.service", "[Service]\nExecStart=/bin/true\n"));
  CHECK_FALSE(exported_for("shop", "shop.service", web.text));
  CHECK_FALSE(exported_for("shop", "shop-.service", web.text));
  CHECK_FALSE(exported_for("shop", "blog-web-1.service", web.text));
  CHECK_FALSE(exported_for("shop", "shop-web-1.service.bak", web.text));
}
