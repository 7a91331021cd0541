// An app's phases with nothing real under it: a fake ProcessHost whose processes exit when the
// test says, a fake readiness probe that says "ready" for the ports the test names, and AppClock
// moved by hand, so a minute of crashes or a boot timeout takes no time.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "supervisor/app/app.hpp"
#include "supervisor/app/clock.hpp"
#include "supervisor/app/process_host.hpp"
#include "supervisor/app/readiness.hpp"
#include "tests/support/temp_dir.hpp"

using namespace rp;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

// Processes that live until the test ends them. Each spawn gets a pipe for its output.
class FakeProcesses : public ProcessHost {
 public:
  ~FakeProcesses() override {
    for (auto& [pid, fd] : writers) ::close(fd);
  }

  std::optional<Spawned> spawn(const SpawnRequest& request, std::string& error) override {
    if (fail_spawns) {
      error = "no such file";
      return std::nullopt;
    }
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    const pid_t pid = next_pid++;
    writers[pid] = fds[1];
    alive.insert(pid);
    for (const auto& e : request.env) {
      if (e.starts_with("RP_PROCESS=")) label_of[pid] = e.substr(11);
    }
    spawned.push_back(pid);
    return Spawned{pid, fds[0]};
  }
  void adopt(pid_t group) override { adopted.insert(group); }
  void release(pid_t group) override { adopted.erase(group); }
  void signal_group(pid_t group, int signal) override {
    if (group > 0) signals.push_back({group, signal});
  }
  bool group_alive(pid_t group) override { return alive.contains(group); }
  std::vector<pid_t> escaped(const std::string&) override { return {}; }
  void signal(pid_t, int) override {}
  bool port_free(int) override { return true; }
  std::optional<std::string> port_holder(int) override { return std::nullopt; }

  // The newest process of `label` ("web.1").
  pid_t pid_of(const std::string& label) const {
    for (auto it = spawned.rbegin(); it != spawned.rend(); ++it) {
      if (label_of.at(*it) == label) return *it;
    }
    return -1;
  }
  int spawns_of(const std::string& label) const {
    int n = 0;
    for (pid_t p : spawned) n += label_of.at(p) == label;
    return n;
  }
  // The process is gone, its pipe closed; the app must still be told (App::on_child_exit).
  void end(pid_t pid) {
    alive.erase(pid);
    if (auto it = writers.find(pid); it != writers.end()) {
      ::close(it->second);
      writers.erase(it);
    }
  }
  bool signalled(pid_t group, int signal) const {
    for (auto& s : signals) {
      if (s.first == group && s.second == signal) return true;
    }
    return false;
  }

  bool fail_spawns = false;
  pid_t next_pid = 40000;
  std::vector<pid_t> spawned;
  std::map<pid_t, std::string> label_of;
  std::map<pid_t, int> writers;
  std::set<pid_t> alive;
  std::set<pid_t> adopted;
  std::vector<std::pair<pid_t, int>> signals;
};

// Says "ready" for the ports in `ready`, later, as the real probe does.
class FakeProbe : public ReadinessProbe {
 public:
  explicit FakeProbe(asio::io_context& io) : io_(io) {}
  void check(const ReadinessCheck& check, std::function<void(ReadinessAnswer)> done) override {
    ++checks;
    const bool yes = ready.contains(check.port);
    // A port that answers leaves its connection with the answer (here a descriptor of
    // /dev/null), as the real probe does without `ready: {http: …}`.
    std::shared_ptr<HeldConnection> connection;
    if (yes) {
      connection = std::make_shared<HeldConnection>(::open("/dev/null", O_RDONLY), 4);
      connections.push_back(connection);
    }
    asio::post(io_, [done = std::move(done), yes, connection] {
      done({yes, yes ? 4 : 0, connection});
    });
  }
  std::set<int> ready;
  int checks = 0;
  std::vector<std::weak_ptr<HeldConnection>> connections;  // every one handed out

 private:
  asio::io_context& io_;
};

ProcessSpec service(const std::string& name) {
  ProcessSpec s;
  s.name = name;
  s.command = "serve " + name;
  s.stop_timeout = 5s;
  return s;
}

Project web_project() {
  Project p;
  p.dir = "/tmp";
  p.name = "shop";
  p.web = "web";
  p.services = {service("web"), service("worker")};
  p.boot_timeout = 60s;
  return p;
}

struct Harness {
  explicit Harness(Project project = web_project())
      : context{processes, probe, "t-", ".test", {20000, 29999}, ports, home.path, {}, {}},
        app(io, context, std::move(project), {}, {}) {}

  // Runs whatever is due now, including what that makes due.
  void settle() {
    for (int i = 0; i < 20; ++i) {
      io.restart();
      io.run_for(200us);
    }
  }
  // Moves the clock. Asio's reactor sleeps on a timerfd set in real time for the earliest timer;
  // a timer earlier than every other makes it look at the shifted clock again.
  void advance(AppClock::duration d) {
    AppClock::advance(d);
    AppTimer nudge(io, AppClock::time_point{});
    nudge.async_wait([](boost::system::error_code) {});
    settle();
  }
  int port_of(const std::string& label) const {
    for (const auto& i : app.instances()) {
      if (i.label == label) return i.port;
    }
    return 0;
  }
  InstanceState state_of(const std::string& label) const {
    for (const auto& i : app.instances()) {
      if (i.label == label) return i.state;
    }
    FAIL("no instance " << label);
    return InstanceState::stopped;
  }
  // The process of `label` exits with `code` (or is killed by `signal`).
  void exit(const std::string& label, int code, int signal = 0) {
    const pid_t pid = processes.pid_of(label);
    processes.end(pid);
    probe.ready.erase(port_of(label));  // nothing listens there now
    const int status = signal ? signal : (code << 8);
    REQUIRE(app.on_child_exit(pid, status));
    settle();
  }
  // Starts the app and makes its web process answer.
  void boot() {
    app.start();
    settle();
    probe.ready.insert(port_of("web.1"));
    advance(1ms);
    REQUIRE(app.phase() == AppPhase::ready);
  }
  // Wakes the app; the result lands in `result` when the boot ends.
  std::optional<BootResult>& wake() {
    results.emplace_back();
    auto& slot = results.back();
    app.wake([&slot](BootResult r) { slot = std::move(r); });
    return slot;
  }

  asio::io_context io;
  test::TempDir home;
  FakeProcesses processes;
  FakeProbe probe{io};
  std::set<int> ports;
  AppContext context;
  App app;
  std::deque<std::optional<BootResult>> results;
};

bool has_event(const App& app, const std::string& text) {
  for (const auto& e : app.recent(1000)) {
    if (e.source == "rp" && e.text.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("an app starts its services and is ready once its web process answers") {
  Harness h;
  REQUIRE(h.app.phase() == AppPhase::stopped);
  auto& result = h.wake();
  h.settle();
  CHECK(h.app.phase() == AppPhase::starting);
  CHECK(h.processes.spawns_of("web.1") == 1);
  CHECK(h.processes.spawns_of("worker.1") == 1);
  CHECK(h.state_of("web.1") == InstanceState::running);
  CHECK(h.probe.checks >= 1);
  CHECK_FALSE(result.has_value());  // held while the port does not answer

  h.probe.ready.insert(h.port_of("web.1"));
  h.advance(1ms);
  CHECK(h.app.phase() == AppPhase::ready);
  REQUIRE(result.has_value());
  CHECK(result->ok());
  REQUIRE(result->app);
  CHECK(result->app == h.app.status());  // the snapshot to forward to
  CHECK(has_event(h.app, "web is ready"));
  CHECK(h.processes.adopted.size() == 2);

  // Ready: a wake answers at once, without a new boot.
  auto& again = h.wake();
  REQUIRE(again.has_value());
  CHECK(again->ok());
  CHECK(h.processes.spawns_of("web.1") == 1);
}

TEST_CASE("readiness is asked again and again until the port answers") {
  Harness h;
  h.app.start();
  h.settle();
  const int first = h.probe.checks;
  h.advance(1ms);
  h.advance(1ms);
  CHECK(h.probe.checks > first);
  CHECK(h.app.phase() == AppPhase::starting);
}

TEST_CASE(
    "a web process that exits before it is ready fails the waiting requests, then backs off") {
  Harness h;
  auto& result = h.wake();
  h.settle();
  h.exit("web.1", 3);
  REQUIRE(result.has_value());
  CHECK(result->outcome == BootOutcome::failed);
  CHECK(result->what == "web.1 exited with status 3 before it was ready.");
  CHECK(h.state_of("web.1") == InstanceState::backing_off);
  CHECK(has_event(h.app, "restarting web.1 in 1s"));
  // The group is let go once its leader exited, so a reused number is never signalled.
  CHECK(h.processes.signalled(h.processes.spawned.front(), SIGKILL));
  CHECK_FALSE(h.processes.adopted.contains(h.processes.spawned.front()));

  h.advance(500ms);  // (real time passes too: a margin, not a millisecond)
  CHECK(h.processes.spawns_of("web.1") == 1);
  h.advance(600ms);
  CHECK(h.processes.spawns_of("web.1") == 2);
  CHECK(h.state_of("web.1") == InstanceState::running);
  h.probe.ready.insert(h.port_of("web.1"));
  h.advance(1ms);
  CHECK(h.app.phase() == AppPhase::ready);
}

TEST_CASE("a ready app's crashing worker restarts with a doubling back-off, then is crashed") {
  Harness h;
  h.boot();
  for (auto delay : {1s, 2s, 4s, 8s}) {
    h.exit("worker.1", 1);
    CHECK(h.state_of("worker.1") == InstanceState::backing_off);
    h.advance(delay);
    CHECK(h.state_of("worker.1") == InstanceState::running);
  }
  h.exit("worker.1", 1);  // the fifth exit within a minute
  CHECK(h.state_of("worker.1") == InstanceState::crashed);
  CHECK(has_event(h.app, "worker.1 crashed: it exited 5 times within a minute"));
  h.advance(60s);
  CHECK(h.processes.spawns_of("worker.1") == 5);
  CHECK(h.app.phase() == AppPhase::ready);  // the web process still serves
  auto restarts_of = [&h](const std::string& label) {
    for (const auto& i : h.app.instances()) {
      if (i.label == label) return i.restarts;
    }
    return -1;
  };
  CHECK(restarts_of("worker.1") == 4);
  CHECK(restarts_of("web.1") == 0);
}

TEST_CASE("a crashed web process fails the app; the next wake is a new try") {
  Harness h;
  h.boot();
  for (auto delay : {1s, 2s, 4s, 8s}) {
    h.exit("web.1", 1);
    h.advance(delay);
  }
  h.exit("web.1", 1);
  CHECK(h.state_of("web.1") == InstanceState::crashed);
  CHECK(h.app.phase() == AppPhase::failed);

  // A new request stops what is left (the worker) and starts everything again.
  auto& result = h.wake();
  h.settle();
  CHECK(h.app.phase() == AppPhase::stopping);
  CHECK(h.processes.signalled(h.processes.pid_of("worker.1"), SIGTERM));
  h.exit("worker.1", 0, SIGTERM);
  h.advance(50ms);
  CHECK(h.app.phase() == AppPhase::starting);
  CHECK(h.processes.spawns_of("web.1") == 6);
  h.probe.ready.insert(h.port_of("web.1"));
  h.advance(1ms);
  REQUIRE(result.has_value());
  CHECK(result->ok());
}

TEST_CASE("a boot that takes longer than boot_timeout answers its waiters timed out") {
  auto project = web_project();
  project.boot_timeout = 30s;
  Harness h(project);
  auto& result = h.wake();
  h.settle();
  h.advance(29s);
  CHECK_FALSE(result.has_value());
  h.advance(1s);
  REQUIRE(result.has_value());
  CHECK(result->outcome == BootOutcome::timed_out);
  CHECK(result->what == "web was not ready within 30s (boot_timeout in rp.yaml).");
  CHECK(h.app.phase() == AppPhase::starting);  // the boot goes on for the next request
}

TEST_CASE("a stop signals every group, kills what outlives stop_timeout, and ends stopped") {
  Harness h;
  h.boot();
  bool stopped = false;
  h.app.stop([&] { stopped = true; });
  h.settle();
  CHECK(h.app.phase() == AppPhase::stopping);
  const pid_t web = h.processes.pid_of("web.1");
  const pid_t worker = h.processes.pid_of("worker.1");
  CHECK(h.processes.signalled(web, SIGTERM));
  CHECK(h.processes.signalled(worker, SIGTERM));

  h.exit("web.1", 0, SIGTERM);
  h.advance(50ms);
  CHECK_FALSE(stopped);  // the worker ignores SIGTERM
  CHECK_FALSE(h.processes.signalled(worker, SIGKILL));
  h.advance(5s);
  CHECK(h.processes.signalled(worker, SIGKILL));
  h.exit("worker.1", 0, SIGKILL);
  h.advance(50ms);
  CHECK(stopped);
  CHECK(h.app.phase() == AppPhase::stopped);
  CHECK(h.state_of("web.1") == InstanceState::stopped);
  CHECK(h.processes.adopted.empty());
  CHECK(has_event(h.app, "all processes stopped"));
}

TEST_CASE("a wake during a stop starts the app again once the stop is over") {
  Harness h;
  h.boot();
  h.app.stop();
  h.settle();
  auto& result = h.wake();
  h.settle();
  CHECK(h.app.phase() == AppPhase::stopping);
  CHECK_FALSE(result.has_value());
  h.exit("web.1", 0, SIGTERM);
  h.exit("worker.1", 0, SIGTERM);
  h.advance(50ms);
  CHECK(h.app.phase() == AppPhase::starting);
  CHECK(h.processes.spawns_of("web.1") == 2);
  CHECK_FALSE(result.has_value());
  h.probe.ready.insert(h.port_of("web.1"));
  h.advance(1ms);
  REQUIRE(result.has_value());
  CHECK(result->ok());
}

TEST_CASE("a stop nobody follows with a start fails the boot it interrupts") {
  Harness h;
  auto& result = h.wake();
  h.settle();
  h.app.stop();
  h.settle();
  h.exit("web.1", 0, SIGTERM);
  h.exit("worker.1", 0, SIGTERM);
  h.advance(50ms);
  CHECK(h.app.phase() == AppPhase::stopped);
  REQUIRE(result.has_value());
  CHECK(result->outcome == BootOutcome::failed);
  CHECK(result->what == "The app stopped before it was ready.");
}

TEST_CASE("tasks run in order before the services; a failed task fails the boot") {
  auto project = web_project();
  ProcessSpec migrate = service("migrate");
  migrate.kind = ProcessKind::task;
  ProcessSpec seed = service("seed");
  seed.kind = ProcessKind::task;
  project.tasks = {migrate, seed};
  Harness h(project);
  auto& result = h.wake();
  h.settle();
  CHECK(h.processes.spawns_of("migrate.1") == 1);
  CHECK(h.processes.spawns_of("seed.1") == 0);
  CHECK(h.processes.spawns_of("web.1") == 0);
  h.exit("migrate.1", 0);
  CHECK(h.processes.spawns_of("seed.1") == 1);
  CHECK(h.processes.spawns_of("web.1") == 0);
  h.exit("seed.1", 2);
  REQUIRE(result.has_value());
  CHECK(result->outcome == BootOutcome::failed);
  CHECK(result->what == "Task seed.1 exited with status 2 before the services could start.");
  CHECK(h.processes.spawns_of("web.1") == 0);
  h.advance(50ms);
  CHECK(h.app.phase() == AppPhase::failed);
}

TEST_CASE("an idle app that is stopped starts again on the next wake") {
  Harness h;
  h.boot();
  // What Apps does when idle_timeout passes with no request (policy: AppActivity::idle_for).
  h.app.stop();
  h.settle();
  h.exit("web.1", 0, SIGTERM);
  h.exit("worker.1", 0, SIGTERM);
  h.advance(50ms);
  REQUIRE(h.app.phase() == AppPhase::stopped);
  auto& result = h.wake();
  h.settle();
  CHECK(h.app.phase() == AppPhase::starting);
  h.probe.ready.insert(h.port_of("web.1"));
  h.advance(1ms);
  REQUIRE(result.has_value());
  CHECK(result->ok());
}

TEST_CASE("a process that cannot be spawned is retried with back-off") {
  Harness h;
  h.processes.fail_spawns = true;
  h.app.start();
  h.settle();
  CHECK(has_event(h.app, "web.1 could not start: no such file"));
  CHECK(h.state_of("web.1") == InstanceState::backing_off);
  h.processes.fail_spawns = false;
  h.advance(1s);
  CHECK(h.state_of("web.1") == InstanceState::running);
}

TEST_CASE("restarting one process stops and starts only its instances") {
  Harness h;
  h.boot();
  const pid_t worker = h.processes.pid_of("worker.1");
  REQUIRE(h.app.restart_process("worker"));
  h.settle();
  CHECK(h.processes.signalled(worker, SIGTERM));
  CHECK_FALSE(h.processes.signalled(h.processes.pid_of("web.1"), SIGTERM));
  h.exit("worker.1", 0, SIGTERM);
  h.advance(50ms);
  CHECK(h.processes.spawns_of("worker.1") == 2);
  CHECK(h.app.phase() == AppPhase::ready);
  CHECK_FALSE(h.app.restart_process("nope"));
}

namespace {

// Gives `file` the modification time `seconds` after the epoch.
void set_mtime(const std::filesystem::path& file, long seconds) {
  const struct timespec times[2] = {{seconds, 0}, {seconds, 0}};
  REQUIRE(::utimensat(AT_FDCWD, file.c_str(), times, 0) == 0);
}

}  // namespace

TEST_CASE("tmp/restart.txt: a touch restarts a running app once; the file at its start does not") {
  test::TempDir dir;
  std::filesystem::create_directories(dir.path / "tmp");
  const auto file = dir.path / "tmp" / "restart.txt";
  { std::ofstream{file}; }
  set_mtime(file, 1000);
  auto project = web_project();
  project.dir = dir.path;
  Harness h(project);
  CHECK(h.app.status()->restart_file == file.string());

  h.boot();
  CHECK(h.app.status()->restart_touched() == 0);  // already there when the app started
  h.app.restart_if_touched(0);
  h.settle();
  CHECK(h.app.phase() == AppPhase::ready);

  set_mtime(file, 2000);
  const std::int64_t touched = h.app.status()->restart_touched();
  CHECK(touched == 2000'000'000'000);
  // A request saw it: the app restarts, and the request waits for the new web process.
  h.app.restart_if_touched(touched);
  auto& result = h.wake();
  h.settle();
  CHECK(h.app.phase() == AppPhase::stopping);
  CHECK(has_event(h.app, "tmp/restart.txt was touched: restarting"));
  CHECK(h.app.status()->restart_touched() == 0);  // other requests wait for the same restart
  // The file watch reports the same touch: nothing more.
  h.app.restart_if_touched(0);
  h.exit("web.1", 0, SIGTERM);
  h.exit("worker.1", 0, SIGTERM);
  h.advance(50ms);
  CHECK(h.app.phase() == AppPhase::starting);
  CHECK_FALSE(result.has_value());
  h.probe.ready.insert(h.port_of("web.1"));
  h.advance(1ms);
  REQUIRE(result.has_value());
  CHECK(result->ok());
  CHECK(h.processes.spawns_of("web.1") == 2);
  CHECK(h.processes.spawns_of("worker.1") == 2);
  h.app.restart_if_touched(touched);
  h.settle();
  CHECK(h.app.phase() == AppPhase::ready);
}

TEST_CASE(
    "tmp/restart.txt: a touch while the app is stopped is no restart, and no stat without tmp/") {
  test::TempDir dir;
  auto project = web_project();
  project.dir = dir.path;
  Harness h(project);
  h.boot();
  std::filesystem::create_directories(dir.path / "tmp");
  { std::ofstream{dir.path / "tmp" / "restart.txt"}; }
  // No tmp/ when the app started: requests do not look until the file watch says it came.
  CHECK_FALSE(h.app.activity()->has_tmp.load());
  CHECK(h.app.status()->restart_touched() == 0);
  h.app.restart_if_touched(0);  // what the file watch does when tmp/ appears
  h.settle();
  CHECK(h.app.activity()->has_tmp.load());
  CHECK(h.app.phase() == AppPhase::stopping);  // it came after the start: a touch

  test::TempDir other;
  std::filesystem::create_directories(other.path / "tmp");
  project.dir = other.path;
  Harness stopped(project);
  { std::ofstream{other.path / "tmp" / "restart.txt"}; }
  stopped.app.restart_if_touched(0);
  stopped.settle();
  CHECK(stopped.app.phase() == AppPhase::stopped);
  CHECK(stopped.processes.spawned.empty());
}

TEST_CASE("the probe's connection goes to the first waiter; nobody else's is kept open") {
  Harness h;
  auto& first = h.wake();
  auto& second = h.wake();
  h.settle();
  h.probe.ready.insert(h.port_of("web.1"));
  h.advance(1ms);
  REQUIRE(first.has_value());
  REQUIRE(second.has_value());
  REQUIRE(first->connection);
  CHECK(first->connection_to == h.app.status()->instances.front());
  CHECK(first->connection_to->label == "web.1");
  CHECK_FALSE(second->connection);
  // Every other probe connection is closed by now: only the first waiter holds one.
  int open = 0;
  for (const auto& c : h.probe.connections) open += !c.expired();
  CHECK(open == 1);
  first->connection.reset();
  CHECK(h.probe.connections.front().expired());
}
