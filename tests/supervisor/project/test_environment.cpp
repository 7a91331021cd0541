// A process's environment: the inherited one, then the project's over it, then rp's own
// variables; rp's CA offered where the user chose no CA file of their own, and rp's TLDs to
// Vite's host check where the user chose no hosts of their own.
#include <catch2/catch.hpp>

#include "supervisor/project/environment.hpp"

using rp::CaFiles;
using rp::EnvMap;
using rp::RpEnvironment;

namespace {

const CaFiles kCa{"/home/u/.config/rp/ca/rp-ca.pem", "/home/u/.config/rp/ca/bundle.pem"};
const RpEnvironment kCaOnly{kCa, {}};
const std::string kVite = "__VITE_ADDITIONAL_SERVER_ALLOWED_HOSTS";

}  // namespace

TEST_CASE("the project's variables win over the inherited ones, and rp's over both") {
  rp::InstanceIdentity who{"shop", "web", 2, 24105, "http://shop.test", "abc-shop-1"};
  EnvMap env = rp::process_environment({{"PATH", "/bin"}, {"A", "inherited"}, {"PORT", "1"}},
                                       {{"A", "project"}, {"RP_APP", "mine"}}, {}, who);
  CHECK(env == EnvMap{{"PATH", "/bin"},
                      {"A", "project"},
                      {"PORT", "24105"},
                      {"RP_APP", "shop"},
                      {"RP_PROCESS", "web.2"},
                      {"RP_URL", "http://shop.test"},
                      {"RP_RUN_ID", "abc-shop-1"}});
}

TEST_CASE("rp's CA: RP_CA_FILE always, the three others unless the user set them") {
  SECTION("nobody set them") {
    EnvMap env = rp::project_environment({{"PATH", "/bin"}}, {}, kCaOnly);
    CHECK(env == EnvMap{{"PATH", "/bin"},
                        {"RP_CA_FILE", kCa.certificate},
                        {"NODE_EXTRA_CA_CERTS", kCa.certificate},
                        {"SSL_CERT_FILE", kCa.bundle},
                        {"REQUESTS_CA_BUNDLE", kCa.bundle}});
  }
  SECTION("the user's values win, from the registering command or the project, even empty") {
    EnvMap env = rp::project_environment(
        {{"SSL_CERT_FILE", "/etc/ssl/mine.pem"}, {"RP_CA_FILE", "/elsewhere/rp-ca.pem"}},
        {{"NODE_EXTRA_CA_CERTS", "/srv/corp.pem"}, {"REQUESTS_CA_BUNDLE", ""}}, kCaOnly);
    CHECK(env == EnvMap{{"RP_CA_FILE", kCa.certificate},
                        {"NODE_EXTRA_CA_CERTS", "/srv/corp.pem"},
                        {"SSL_CERT_FILE", "/etc/ssl/mine.pem"},
                        {"REQUESTS_CA_BUNDLE", ""}});
  }
  SECTION("a process gets them too, beside who it is") {
    EnvMap env = rp::process_environment({}, {{"SSL_CERT_FILE", "/etc/ssl/mine.pem"}}, kCaOnly,
                                         {"shop", "web", 1, 24105, "http://shop.test", "r"});
    CHECK(env.at("RP_CA_FILE") == kCa.certificate);
    CHECK(env.at("SSL_CERT_FILE") == "/etc/ssl/mine.pem");
    CHECK(env.at("REQUESTS_CA_BUNDLE") == kCa.bundle);
    CHECK(env.at("PORT") == "24105");
  }
}

TEST_CASE("without a CA none of them is set; without a bundle only the CA's own two") {
  EnvMap off = rp::project_environment({{"SSL_CERT_FILE", "/etc/ssl/mine.pem"}}, {}, {});
  CHECK(off == EnvMap{{"SSL_CERT_FILE", "/etc/ssl/mine.pem"}});
  EnvMap no_bundle = rp::project_environment({}, {}, RpEnvironment{{kCa.certificate, {}}, {}});
  CHECK(no_bundle ==
        EnvMap{{"RP_CA_FILE", kCa.certificate}, {"NODE_EXTRA_CA_CERTS", kCa.certificate}});
}

TEST_CASE("Vite's extra allowed hosts are rp's TLDs but localhost, each with a leading dot") {
  CHECK(rp::vite_allowed_hosts({"test", "localhost"}) == ".test");
  CHECK(rp::vite_allowed_hosts({"localhost", "test"}) == ".test");
  CHECK(rp::vite_allowed_hosts({"test", "dev", "localhost", "internal"}) == ".test,.dev,.internal");
  CHECK(rp::vite_allowed_hosts({"localhost"}).empty());
  CHECK(rp::vite_allowed_hosts({}).empty());
}

TEST_CASE("__VITE_ADDITIONAL_SERVER_ALLOWED_HOSTS is offered unless the user set it") {
  const RpEnvironment rp_env{kCa, {"test", "localhost"}};
  SECTION("nobody set it: every process has it, with or without the CA") {
    CHECK(rp::project_environment({}, {}, rp_env).at(kVite) == ".test");
    CHECK(rp::project_environment({}, {}, {{}, {"test", "dev", "localhost"}}) ==
          EnvMap{{kVite, ".test,.dev"}});
    EnvMap env =
        rp::process_environment({}, {}, rp_env, {"shop", "web", 1, 24105, "http://shop.test", "r"});
    CHECK(env.at(kVite) == ".test");
    CHECK(env.at("RP_CA_FILE") == kCa.certificate);
  }
  SECTION("the user's value wins, from the registering command or the project, even empty") {
    CHECK(rp::project_environment({{kVite, "my.host"}}, {}, rp_env).at(kVite) == "my.host");
    CHECK(
        rp::project_environment({{kVite, "my.host"}}, {{kVite, ".shop.test"}}, rp_env).at(kVite) ==
        ".shop.test");
    CHECK(rp::project_environment({}, {{kVite, ""}}, rp_env).at(kVite) == "");
  }
  SECTION("only localhost: nothing to add, so nothing is set") {
    CHECK(rp::project_environment({}, {}, {{}, {"localhost"}}).empty());
  }
}
