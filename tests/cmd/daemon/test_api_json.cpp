#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>

#include "cmd/daemon/api_json.hpp"
#include "proxy/http/message.hpp"

namespace json = boost::json;
using namespace rp::cmd;
using Clock = std::chrono::steady_clock;

namespace {

json::object object_of(std::string_view text) {
  return json::parse(text).as_object();
}

// The JSON body of a whole answer, and its status, read back with the client's reader.
std::pair<int, json::value> read_answer(const std::string& answer) {
  rp::http::ResponseReader r;
  r.feed(answer);
  REQUIRE(r.done());
  REQUIRE(r.head().content_length == r.body().size());
  return {r.head().status, json::parse(r.body())};
}

}  // namespace

TEST_CASE("api_json: parse_query", "[api_json]") {
  using Map = std::map<std::string, std::string>;
  CHECK(parse_query("app=shop&n=5&follow=1") == Map{{"app", "shop"}, {"n", "5"}, {"follow", "1"}});
  CHECK(parse_query("") == Map{});
  // A repeated key keeps its last value; a key without '=' has an empty one.
  CHECK(parse_query("n=1&n=2") == Map{{"n", "2"}});
  CHECK(parse_query("follow&app=") == Map{{"follow", ""}, {"app", ""}});
  // Nothing is decoded, and an empty part is an empty key.
  CHECK(parse_query("process=web%2E1&&x=a=b") ==
        Map{{"process", "web%2E1"}, {"", ""}, {"x", "a=b"}});
}

TEST_CASE("api_json: split_path", "[api_json]") {
  using V = std::vector<std::string>;
  CHECK(split_path("/v1/apps/shop/stop") == V{"v1", "apps", "shop", "stop"});
  CHECK(split_path("//v1///status/") == V{"v1", "status"});
  CHECK(split_path("/") == V{});
  CHECK(split_path("") == V{});
}

TEST_CASE("api_json: registration_from a whole body", "[api_json]") {
  std::string error;
  auto r = registration_from(object_of(R"({"dir": "/home/me/shop", "env": {"PATH": "/bin"},
      "name": "shop", "procfile": "/home/me/shop/Procfile.dev", "env_files": "/a/.env,/b/.env",
      "formation": "web=2", "only": ["web", 3, "worker"], "exit_on_error": true})"),
                             error);
  REQUIRE(r);
  CHECK(error.empty());
  CHECK(r->dir == "/home/me/shop");
  CHECK(r->env.at("PATH") == "/bin");
  CHECK(r->name == "shop");
  CHECK(r->procfile == "/home/me/shop/Procfile.dev");
  CHECK(r->env_files == "/a/.env,/b/.env");
  CHECK(r->formation == "web=2");
  // What is not a string in "only" is skipped.
  CHECK(r->only == std::vector<std::string>{"web", "worker"});
  CHECK(r->exit_on_error);
}

TEST_CASE("api_json: registration_from needs only an absolute dir", "[api_json]") {
  std::string error;
  auto r =
      registration_from(object_of(R"({"dir": "/p", "exit_on_error": "yes", "name": 7})"), error);
  REQUIRE(r);
  CHECK(r->env.empty());
  CHECK_FALSE(r->name);
  CHECK_FALSE(r->procfile);
  CHECK(r->only.empty());
  CHECK_FALSE(r->exit_on_error);
}

TEST_CASE("api_json: registration_from refuses a bad dir or env", "[api_json]") {
  const std::string bad_dir = "\"dir\" must be the project's absolute path";
  const std::string bad_env = "\"env\" must be an object of strings";
  for (const char* body : {R"({})", R"({"dir": ""})", R"({"dir": "shop"})", R"({"dir": "./shop"})",
                           R"({"dir": 42})", R"({"dir": null})"}) {
    INFO(body);
    std::string error;
    CHECK_FALSE(registration_from(object_of(body), error));
    CHECK(error == bad_dir);
  }
  for (const char* body :
       {R"({"dir": "/p", "env": ["PATH=/bin"]})",
        R"({"dir": "/p", "env": {"PATH": "/bin", "N": 1}})", R"({"dir": "/p", "env": {"X": null}})",
        R"({"dir": "/p", "env": "x"})"}) {
    INFO(body);
    std::string error;
    CHECK_FALSE(registration_from(object_of(body), error));
    CHECK(error == bad_env);
  }
}

TEST_CASE("api_json: fields of the wrong type are absent", "[api_json]") {
  auto o = object_of(R"({"s": "x", "n": 1, "b": true, "f": false, "bs": "true"})");
  CHECK(string_field(o, "s") == "x");
  CHECK_FALSE(string_field(o, "n"));
  CHECK_FALSE(string_field(o, "missing"));
  CHECK(bool_field(o, "b"));
  CHECK_FALSE(bool_field(o, "f"));
  CHECK_FALSE(bool_field(o, "bs"));
  CHECK_FALSE(bool_field(o, "missing"));
}

TEST_CASE("api_json: route_port", "[api_json]") {
  CHECK(route_port(object_of(R"({"port": 3000})")) == 3000);
  CHECK(route_port(object_of(R"({"port": 1})")) == 1);
  CHECK(route_port(object_of(R"({"port": 65535})")) == 65535);
  CHECK_FALSE(route_port(object_of(R"({"port": 0})")));
  CHECK_FALSE(route_port(object_of(R"({"port": 65536})")));
  CHECK_FALSE(route_port(object_of(R"({"port": -80})")));
  CHECK_FALSE(route_port(object_of(R"({"port": "3000"})")));
  CHECK_FALSE(route_port(object_of(R"({"port": 3000.5})")));
  CHECK_FALSE(route_port(object_of(R"({})")));
}

TEST_CASE("api_json: log_query", "[api_json]") {
  std::string error;
  auto all = log_query({}, error);
  REQUIRE(all);
  CHECK(all->app.empty());
  CHECK(all->process.empty());
  CHECK(all->n == 100);
  CHECK_FALSE(all->follow);

  auto one = log_query({{"app", "shop"}, {"process", "web.2"}, {"n", "5"}, {"follow", "1"}}, error);
  REQUIRE(one);
  CHECK(one->app == "shop");
  CHECK(one->process == "web.2");
  CHECK(one->n == 5);
  CHECK(one->follow);
  // Only "1" follows.
  CHECK_FALSE(log_query({{"follow", "yes"}}, error)->follow);

  // Found writing the control fuzz target: std::stoul read "-1" as the largest number and "5x"
  // as 5.
  for (const char* n : {"", "many", "x5", "-1", "5x", " 5", "+5", "99999999999999999999999"}) {
    INFO(n);
    std::string why;
    CHECK_FALSE(log_query({{"n", n}}, why));
    CHECK(why == "n must be a number");
  }
}

TEST_CASE("api_json: answers are whole HTTP messages with a JSON line", "[api_json]") {
  const std::string answer = error_answer(404, "no app named shop");
  CHECK(answer.starts_with("HTTP/1.1 404 Not Found\r\n"));
  CHECK(answer.ends_with("}\n"));
  auto [status, body] = read_answer(answer);
  CHECK(status == 404);
  CHECK(body == json::value(json::object{{"error", "no app named shop"}}));
}

TEST_CASE("api_json: refusals", "[api_json]") {
  using Refusal = rp::Apps::Refusal;
  CHECK(refusal_status(Refusal::needs_name) == 400);
  CHECK(refusal_status(Refusal::name_taken) == 409);
  CHECK(refusal_status(Refusal::gone) == 410);
  CHECK(refusal_status(Refusal::invalid_files) == 422);
  CHECK(refusal_status(Refusal::cannot_save) == 500);

  rp::Diagnostic d{"Procfile", 3, 5, "no command for web", "write `web: COMMAND`"};
  auto [status, body] = read_answer(refusal_answer(
      rp::Apps::Outcome::failure(Refusal::invalid_files, "the project has errors", {d})));
  CHECK(status == 422);
  CHECK(body.at("error") == "the project has errors");
  const auto& diag = body.at("diagnostics").as_array();
  REQUIRE(diag.size() == 1);
  CHECK(diag[0].at("file") == "Procfile");
  CHECK(diag[0].at("line") == 3);
  CHECK(diag[0].at("column") == 5);
  CHECK(diag[0].at("what") == "no command for web");
  CHECK(diag[0].at("fix") == "write `web: COMMAND`");
  CHECK(diag[0].at("text").as_string() == d.str());
}

TEST_CASE("api_json: state_of an app", "[api_json]") {
  rp::AppView a;
  a.phase = rp::AppPhase::ready;
  CHECK(state_of(a) == "running");
  a.errors = {"Procfile:1: bad"};
  // Running with errors in its files: it keeps running, and its state says so.
  CHECK(state_of(a) == "running");
  a.phase = rp::AppPhase::stopped;
  CHECK(state_of(a) == "error");
  a.phase = rp::AppPhase::failed;
  CHECK(state_of(a) == "error");
  a.errors.clear();
  CHECK(state_of(a) == "failed");
}

TEST_CASE("api_json: status_json", "[api_json]") {
  const auto now = Clock::now();
  DaemonInfo info{"/home/me/.config/rp",
                  "0.1.0",
                  80,
                  443,
                  5300,
                  now - std::chrono::seconds(60),
                  {},
                  "*.test does not resolve here yet",
                  {"test"}};
  rp::AppView shop;
  shop.name = "shop";
  shop.dir = "/src/shop";
  shop.url = "http://shop.test";
  shop.linked = true;
  shop.phase = rp::AppPhase::ready;
  shop.since = now - std::chrono::seconds(42);
  shop.instances = {
      {"web.1", "web", rp::InstanceState::running, 24512, 4242, now - std::chrono::seconds(40), 2},
      {"worker.1", "worker", rp::InstanceState::stopped, 0, 0, {}, 0}};
  std::vector<rp::StaticRoute> routes{{"api", 3000}};
  auto url_of = [](const std::string& name) { return "http://" + name + ".test"; };

  const json::object s = status_json(info, 4120, {shop}, routes, url_of, now);
  const auto& d = s.at("daemon").as_object();
  CHECK(d.at("pid") == 4120);
  CHECK(d.at("version") == "0.1.0");
  CHECK(d.at("home") == "/home/me/.config/rp");
  CHECK(d.at("http_port") == 80);
  CHECK(d.at("https_port") == 443);
  CHECK(d.at("dns_port") == 5300);
  CHECK(d.at("uptime_s") == 60);
  CHECK(d.at("url_hint") == "*.test does not resolve here yet");

  const auto& apps = s.at("apps").as_array();
  REQUIRE(apps.size() == 1);
  const auto& a = apps[0].as_object();
  CHECK(a.at("name") == "shop");
  CHECK(a.at("dir") == "/src/shop");
  CHECK(a.at("linked") == true);
  CHECK(a.at("attached") == false);
  CHECK(a.at("state") == "running");
  CHECK(a.at("since_s") == 42);
  CHECK(a.at("errors").as_array().empty());
  const auto& ps = a.at("processes").as_array();
  REQUIRE(ps.size() == 2);
  CHECK(ps[0].at("label") == "web.1");
  CHECK(ps[0].at("state") == "running");
  CHECK(ps[0].at("pid") == 4242);
  CHECK(ps[0].at("uptime_s") == 40);
  CHECK(ps[0].at("restarts") == 2);
  CHECK(ps[1].at("state") == "stopped");
  // A process that does not run has no pid and no uptime.
  CHECK(ps[1].at("pid").is_null());
  CHECK(ps[1].at("uptime_s").is_null());

  const auto& rs = s.at("routes").as_array();
  REQUIRE(rs.size() == 1);
  CHECK(rs[0] ==
        json::value(json::object{{"name", "api"}, {"port", 3000}, {"url", "http://api.test"}}));
}

TEST_CASE("api_json: a status's fingerprint ignores the ages, not the states", "[api_json]") {
  const auto now = Clock::now();
  DaemonInfo info{"/h", "0.1.0", 80, 0, 0, now - std::chrono::seconds(60), {}, "", {"test"}};
  rp::AppView shop;
  shop.name = "shop";
  shop.phase = rp::AppPhase::ready;
  shop.since = now - std::chrono::seconds(42);
  shop.instances = {
      {"web.1", "web", rp::InstanceState::running, 24512, 4242, now - std::chrono::seconds(40), 0}};
  auto url_of = [](const std::string& name) { return "http://" + name + ".test"; };
  const auto at = [&](Clock::time_point t, const rp::AppView& app) {
    return status_fingerprint(status_json(info, 1, {app}, {}, url_of, t));
  };
  CHECK(at(now, shop) == at(now + std::chrono::seconds(30), shop));
  rp::AppView restarted = shop;
  restarted.instances[0].pid = 4243;
  CHECK(at(now, shop) != at(now, restarted));
  rp::AppView stopped = shop;
  stopped.phase = rp::AppPhase::stopped;
  CHECK(at(now, shop) != at(now, stopped));
}

TEST_CASE("api_json: entry_line", "[api_json]") {
  rp::LogEntry e;
  e.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1764190000100));
  e.source = "web.1";
  e.color = 2;
  e.text = "say \"hi\"\tnow";
  const std::string line = entry_line(e, "");
  REQUIRE(line.ends_with("\n"));
  CHECK(line == R"({"type":"line","source":"web.1","text":"say \"hi\"\u0009now","color":2,)"
                R"("time":1764190000100})"
                "\n");

  rp::LogEntry ours;
  ours.time = e.time;
  ours.source = "rp";
  ours.text = "web.1 started";
  const json::value v = json::parse(entry_line(ours, "shop"));
  CHECK(v.at("app") == "shop");
  CHECK(v.at("source") == "rp");
  // rp's own lines have no colour.
  CHECK_FALSE(v.as_object().contains("color"));

  // Bytes that are not UTF-8 still make valid JSON.
  rp::LogEntry binary = ours;
  binary.text = std::string("\xff\xfe ok", 5);
  CHECK(json::parse(entry_line(binary, "")).at("text") == "\xEF\xBF\xBD\xEF\xBF\xBD ok");
}
