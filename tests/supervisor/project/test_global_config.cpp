#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "supervisor/project/global_config.hpp"
#include "tests/support/diagnostics.hpp"

using namespace std::chrono_literals;
using rp::Diagnostics;
using rp::EnvMap;
using rp::GlobalConfig;

namespace fs = std::filesystem;

using rp::test::errors_text;

namespace {

struct Parsed {
  GlobalConfig config;
  Diagnostics errors;
};

Parsed parse(const std::string& text) {
  Parsed p;
  p.config = rp::parse_global_config(text, "config.yaml", p.errors);
  return p;
}

void check_defaults(const GlobalConfig& c) {
  CHECK(c.tlds == std::vector<std::string>{"test", "localhost"});
  CHECK_FALSE(c.http_port.has_value());
  CHECK_FALSE(c.https_port.has_value());
  CHECK(c.dns_port == 5300);
  CHECK(c.bind == std::vector<std::string>{"127.0.0.1", "::1"});
  CHECK(c.idle_timeout == 15min);
  CHECK(c.port_range.first == 20000);
  CHECK(c.port_range.last == 29999);
}

struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           ("rp-global-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
            std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

}  // namespace

TEST_CASE("config.yaml: defaults", "[global_config]") {
  check_defaults(GlobalConfig{});
  auto p = parse("");
  CHECK(p.errors.empty());
  check_defaults(p.config);
  auto q = parse("# just a comment\n");
  CHECK(q.errors.empty());
  check_defaults(q.config);
}

TEST_CASE("config.yaml: every key", "[global_config]") {
  auto p = parse(
      "tlds: [dev, localhost]\n"
      "http_port: 8080\n"
      "https_port: 8443\n"
      "dns_port: 5353\n"
      "bind: [0.0.0.0, '::', 192.168.1.10]\n"
      "idle_timeout: 1h\n"
      "port_range: 30000-30999\n");
  INFO(errors_text(p.errors));
  REQUIRE(p.errors.empty());
  const auto& c = p.config;
  CHECK(c.tlds == std::vector<std::string>{"dev", "localhost"});
  CHECK(c.http_port == std::optional<int>(8080));
  CHECK(c.https_port == std::optional<int>(8443));
  CHECK(c.dns_port == 5353);
  CHECK(c.bind == std::vector<std::string>{"0.0.0.0", "::", "192.168.1.10"});
  CHECK(c.idle_timeout == 1h);
  CHECK(c.port_range.first == 30000);
  CHECK(c.port_range.last == 30999);
}

TEST_CASE("config.yaml: port 0 disables a listener", "[global_config]") {
  auto p = parse("http_port: 0\nhttps_port: 0\ndns_port: 0\nidle_timeout: 0\n");
  REQUIRE(p.errors.empty());
  CHECK(p.config.http_port == std::optional<int>(0));
  CHECK(p.config.https_port == std::optional<int>(0));
  CHECK(p.config.dns_port == 0);
  CHECK(p.config.idle_timeout == 0ms);
}

TEST_CASE("config.yaml: port_range with spaces and a single port", "[global_config]") {
  auto p = parse("port_range: 40000 - 40010\n");
  INFO(errors_text(p.errors));
  REQUIRE(p.errors.empty());
  CHECK(p.config.port_range.first == 40000);
  CHECK(p.config.port_range.last == 40010);
  auto q = parse("port_range: 1024-1024\n");
  REQUIRE(q.errors.empty());
  CHECK(q.config.port_range.first == 1024);
  CHECK(q.config.port_range.last == 1024);
}

TEST_CASE("config.yaml: errors", "[global_config]") {
  auto one = [](const std::string& text, int line, int column) {
    auto p = parse(text);
    INFO(text);
    INFO(errors_text(p.errors));
    REQUIRE(p.errors.size() == 1);
    CHECK(p.errors[0].file == "config.yaml");
    CHECK(p.errors[0].line == line);
    CHECK(p.errors[0].column == column);
    CHECK_FALSE(p.errors[0].fix.empty());
    return p;
  };
  SECTION("unknown key") {
    auto p = one("dns_port: 53\nhttp-port: 80\n", 2, 1);
    CHECK(p.errors[0].what == "unknown key 'http-port' in config.yaml");
    CHECK(p.errors[0].fix.find("http_port") != std::string::npos);
    CHECK(p.config.dns_port == 53);
  }
  SECTION("port out of range") {
    auto p = one("http_port: 70000\n", 1, 12);
    CHECK(p.errors[0].what == "http_port must be a whole number from 0 to 65535, found '70000'");
    CHECK_FALSE(p.config.http_port.has_value());
  }
  SECTION("https port not a number") {
    auto p = one("https_port: https\n", 1, 13);
    CHECK_FALSE(p.config.https_port.has_value());
  }
  SECTION("negative dns port keeps the default") {
    auto p = one("dns_port: -1\n", 1, 11);
    CHECK(p.config.dns_port == 5300);
  }
  SECTION("bad address") {
    auto p = one("bind: ['::1', 127.0.0.256]\n", 1, 15);
    CHECK(p.errors[0].what == "'127.0.0.256' is not an IP address");
  }
  SECTION("bind not a list") {
    auto p = one("bind: 127.0.0.1\n", 1, 7);
    CHECK(p.config.bind == std::vector<std::string>{"127.0.0.1", "::1"});
  }
  SECTION("bad port_range 5-3") {
    auto p = one("port_range: 5-3\n", 1, 13);
    CHECK(p.errors[0].what == "port_range '5-3' is not FIRST-LAST");
    CHECK(p.config.port_range.first == 20000);
    CHECK(p.config.port_range.last == 29999);
  }
  SECTION("port_range reversed") {
    one("port_range: 30000-20000\n", 1, 13);
  }
  SECTION("port_range below 1024") {
    one("port_range: 80-2000\n", 1, 13);
  }
  SECTION("port_range above 65535") {
    one("port_range: 60000-70000\n", 1, 13);
  }
  SECTION("port_range without a dash") {
    one("port_range: 20000\n", 1, 13);
  }
  SECTION("port_range with junk") {
    one("port_range: 20000-2x000\n", 1, 13);
  }
  SECTION("port_range with a missing end") {
    one("port_range: 20000-\n", 1, 13);
  }
  SECTION("tlds not a list") {
    auto p = one("tlds: test\n", 1, 7);
    CHECK(p.errors[0].what == "tlds must be a list, found 'test'");
    CHECK(p.config.tlds == std::vector<std::string>{"test", "localhost"});
  }
  SECTION("empty tlds") {
    auto p = one("tlds: []\n", 1, 7);
    CHECK(p.errors[0].what == "tlds is empty");
  }
  SECTION("bad tld") {
    auto p = one("tlds: [test, Bad.TLD]\n", 1, 14);
    CHECK(p.errors[0].what == "'Bad.TLD' is not a top-level domain rp can serve");
    CHECK(p.config.tlds == std::vector<std::string>{"test"});
  }
  SECTION("idle_timeout without unit") {
    auto p = one("idle_timeout: 15\n", 1, 15);
    CHECK(p.config.idle_timeout == 15min);
  }
  SECTION("not a map") {
    one("[a, b]\n", 1, 1);
  }
}

TEST_CASE("config.yaml: bad bind addresses are reported one by one", "[global_config]") {
  auto p = parse("bind: [127.0.0.1, localhost, 999.1.1.1, '::1']\n");
  INFO(errors_text(p.errors));
  REQUIRE(p.errors.size() == 2);
  CHECK(p.errors[0].line == 1);
  CHECK(p.errors[0].column == 19);
  CHECK(p.errors[0].what == "'localhost' is not an IP address");
  CHECK_FALSE(p.errors[0].fix.empty());
  CHECK(p.errors[1].column == 30);
  CHECK(p.errors[1].what == "'999.1.1.1' is not an IP address");
  CHECK(p.config.bind == std::vector<std::string>{"127.0.0.1", "::1"});
}

TEST_CASE("env overrides: ports and tlds", "[global_config]") {
  GlobalConfig c;
  c.http_port = 8080;
  Diagnostics errors;
  rp::apply_env_overrides(c,
                          {{"RP_HTTP_PORT", "18080"},
                           {"RP_HTTPS_PORT", "18443"},
                           {"RP_DNS_PORT", "15353"},
                           {"RP_TLDS", "dev,localhost"},
                           {"UNRELATED", "x"}},
                          errors);
  INFO(errors_text(errors));
  CHECK(errors.empty());
  CHECK(c.http_port == std::optional<int>(18080));
  CHECK(c.https_port == std::optional<int>(18443));
  CHECK(c.dns_port == 15353);
  CHECK(c.tlds == std::vector<std::string>{"dev", "localhost"});
  CHECK(c.bind == std::vector<std::string>{"127.0.0.1", "::1"});
}

TEST_CASE("env overrides: 0 turns a listener off", "[global_config]") {
  GlobalConfig c;
  Diagnostics errors;
  rp::apply_env_overrides(c, {{"RP_DNS_PORT", "0"}, {"RP_HTTPS_PORT", "0"}}, errors);
  CHECK(errors.empty());
  CHECK(c.dns_port == 0);
  CHECK(c.https_port == std::optional<int>(0));
  CHECK_FALSE(c.http_port.has_value());
}

TEST_CASE("env overrides: nothing set changes nothing", "[global_config]") {
  GlobalConfig c;
  Diagnostics errors;
  rp::apply_env_overrides(c, {{"HOME", "/home/me"}}, errors);
  CHECK(errors.empty());
  check_defaults(c);
}

TEST_CASE("env overrides: RP_TLDS tolerates spaces and empty items", "[global_config]") {
  GlobalConfig c;
  Diagnostics errors;
  rp::apply_env_overrides(c, {{"RP_TLDS", " dev , ,test,"}}, errors);
  CHECK(errors.empty());
  CHECK(c.tlds == std::vector<std::string>{"dev", "test"});
}

TEST_CASE("env overrides: RP_URL_TLD names one of the TLDs, after RP_TLDS", "[global_config]") {
  GlobalConfig c;
  Diagnostics errors;
  rp::apply_env_overrides(c, {{"RP_TLDS", "dev,localhost"}, {"RP_URL_TLD", "dev"}}, errors);
  CHECK(errors.empty());
  CHECK(c.url_tld == std::optional<std::string>("dev"));

  GlobalConfig d;
  rp::apply_env_overrides(d, {{"RP_URL_TLD", "dev"}}, errors);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].str() ==
        "RP_URL_TLD: 'dev' is not one of rp's TLDs — name one of tlds (config.yaml or RP_TLDS), "
        "e.g. test or localhost");
  CHECK_FALSE(d.url_tld.has_value());
}

TEST_CASE("env overrides: bad values name the variable", "[global_config]") {
  auto bad = [](const std::string& name, const std::string& value) {
    GlobalConfig c;
    Diagnostics errors;
    rp::apply_env_overrides(c, {{name, value}}, errors);
    INFO(name << "=" << value);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].file == name);
    CHECK(errors[0].line == 0);
    CHECK_FALSE(errors[0].what.empty());
    CHECK_FALSE(errors[0].fix.empty());
    CHECK(errors[0].str().rfind(name + ": ", 0) == 0);
    check_defaults(c);  // nothing applied
    return errors[0];
  };
  CHECK(bad("RP_HTTP_PORT", "abc").what == "'abc' is not a port");
  bad("RP_HTTP_PORT", "70000");
  bad("RP_HTTP_PORT", "-1");
  bad("RP_HTTP_PORT", "");
  bad("RP_HTTPS_PORT", "443x");
  bad("RP_DNS_PORT", "65536");
  bad("RP_DNS_PORT", " 53");
  CHECK(bad("RP_TLDS", "test,Bad_Tld").what == "'Bad_Tld' is not a top-level domain");
  CHECK(bad("RP_TLDS", "").what == "no top-level domain given");
  bad("RP_TLDS", " , ");
}

TEST_CASE("env overrides: every bad variable is reported", "[global_config]") {
  GlobalConfig c;
  Diagnostics errors;
  rp::apply_env_overrides(c, {{"RP_HTTP_PORT", "x"}, {"RP_HTTPS_PORT", "y"}, {"RP_DNS_PORT", "z"}},
                          errors);
  REQUIRE(errors.size() == 3);
  CHECK(errors[0].file == "RP_HTTP_PORT");
  CHECK(errors[1].file == "RP_HTTPS_PORT");
  CHECK(errors[2].file == "RP_DNS_PORT");
}

TEST_CASE("rp_home", "[global_config]") {
  CHECK(rp::rp_home({{"RP_HOME", "/tmp/rph"}, {"XDG_CONFIG_HOME", "/x"}, {"HOME", "/h"}}) ==
        fs::path("/tmp/rph"));
  CHECK(rp::rp_home({{"XDG_CONFIG_HOME", "/x/cfg"}, {"HOME", "/h"}}) == fs::path("/x/cfg/rp"));
  CHECK(rp::rp_home({{"HOME", "/home/me"}}) == fs::path("/home/me/.config/rp"));
  // empty values count as unset
  CHECK(rp::rp_home({{"RP_HOME", ""}, {"XDG_CONFIG_HOME", ""}, {"HOME", "/home/me"}}) ==
        fs::path("/home/me/.config/rp"));
  CHECK(rp::rp_home({{"RP_HOME", ""}, {"XDG_CONFIG_HOME", "/x"}}) == fs::path("/x/rp"));
}

TEST_CASE("load_global_config: file in RP_HOME, then env overrides", "[global_config]") {
  TempDir home;
  {
    std::ofstream out(home.path / "config.yaml");
    out << "dns_port: 5454\nhttp_port: 8000\ntlds: [dev]\n";
  }
  Diagnostics errors;
  auto c =
      rp::load_global_config({{"RP_HOME", home.path.string()}, {"RP_HTTP_PORT", "9000"}}, errors);
  INFO(errors_text(errors));
  CHECK(errors.empty());
  CHECK(c.dns_port == 5454);
  CHECK(c.http_port == std::optional<int>(9000));
  CHECK(c.tlds == std::vector<std::string>{"dev"});
}

TEST_CASE("load_global_config: no file is fine", "[global_config]") {
  TempDir home;
  Diagnostics errors;
  auto c = rp::load_global_config({{"RP_HOME", (home.path / "absent").string()}}, errors);
  CHECK(errors.empty());
  check_defaults(c);
}

TEST_CASE("load_global_config: errors name the file", "[global_config]") {
  TempDir home;
  {
    std::ofstream out(home.path / "config.yaml");
    out << "\ndns_port: lots\n";
  }
  Diagnostics errors;
  auto c = rp::load_global_config({{"RP_HOME", home.path.string()}}, errors);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].file == (home.path / "config.yaml").string());
  CHECK(errors[0].line == 2);
  CHECK(errors[0].column == 11);
  CHECK(c.dns_port == 5300);
}

TEST_CASE("effective_http_port uses the configured port", "[global_config]") {
  GlobalConfig c;
  c.http_port = 8123;
  CHECK(rp::effective_http_port(c, true) == 8123);
  c.http_port = 0;
  CHECK(rp::effective_http_port(c, true) == 0);
  c.http_port.reset();
  CHECK(rp::effective_http_port(c, true) == 80);
  CHECK(rp::effective_http_port(c, false) == 7780);
}

TEST_CASE("effective_https_port uses the configured port, else 443 or 7743", "[global_config]") {
  GlobalConfig c;
  CHECK(rp::effective_https_port(c, true) == 443);
  CHECK(rp::effective_https_port(c, false) == 7743);
  c.https_port = 8443;
  CHECK(rp::effective_https_port(c, false) == 8443);
  c.https_port = 0;
  CHECK(rp::effective_https_port(c, true) == 0);
}

TEST_CASE("max_connections follows the open-files limit unless config.yaml sets it",
          "[global_config]") {
  GlobalConfig c;
  // Two descriptors per proxied request, after a reserve of 128 for the daemon and its apps.
  CHECK(rp::effective_max_connections(c, 256) == 64);
  CHECK(rp::effective_max_connections(c, 1024) == 448);
  CHECK(rp::effective_max_connections(c, 1'048'576) == 524'224);
  CHECK(rp::effective_max_connections(c, 100) == 16);  // tiny limits still serve someone
  CHECK(rp::effective_max_connections(c, UINT64_MAX) == 1'000'000);
  Diagnostics errors;
  c = rp::parse_global_config("max_connections: 5000\n", "config.yaml", errors);
  REQUIRE(errors.empty());
  CHECK(rp::effective_max_connections(c, 256) == 5000);  // the user's word wins
}
