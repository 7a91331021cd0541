#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "supervisor/project/text.hpp"
#include "supervisor/state/registry.hpp"
#include "tests/support/diagnostics.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using rp::Diagnostics;
using rp::Link;
using rp::Registry;
using rp::StaticRoute;
using rp::test::errors_text;
using rp::test::TempDir;

namespace {

Link shop() {
  Link link;
  link.name = "shop";
  link.dir = "/home/me/src/shop";
  link.env = {{"PATH", "/usr/bin:/bin"}, {"QUOTE", "say \"hi\"\n\ttab"}, {"EMPTY", ""}};
  return link;
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

// The diagnostics for one bad links file, checking that it names the file.
Diagnostics link_errors(const std::string& text, const std::string& name = "shop") {
  TempDir tmp("rp-registry-test");
  auto file = tmp.path / "apps" / (name + ".json");
  write(file, text);
  Diagnostics errors;
  auto links = Registry(tmp.path).links(errors);
  CHECK(links.empty());
  REQUIRE_FALSE(errors.empty());
  for (const auto& e : errors) {
    CHECK(e.file == file.string());
    CHECK_FALSE(e.fix.empty());
  }
  return errors;
}

Diagnostics route_errors(const std::string& text, std::vector<StaticRoute> expected = {}) {
  TempDir tmp("rp-registry-test");
  write(tmp.path / "routes.json", text);
  Diagnostics errors;
  CHECK(Registry(tmp.path).routes(errors) == expected);
  REQUIRE_FALSE(errors.empty());
  for (const auto& e : errors) CHECK(e.file == (tmp.path / "routes.json").string());
  return errors;
}

}  // namespace

TEST_CASE("registry: no RP_HOME yet means no links and no routes", "[registry]") {
  TempDir tmp("rp-registry-test");
  Registry registry(tmp.path / "missing");
  Diagnostics errors;
  CHECK(registry.links(errors).empty());
  CHECK(registry.routes(errors).empty());
  CHECK(errors.empty());
  CHECK_FALSE(registry.remove_link("shop"));
}

TEST_CASE("registry: a saved link loads back the same", "[registry]") {
  TempDir tmp("rp-registry-test");
  auto home = tmp.path / "home";
  Registry registry(home);
  std::string error;
  Link full = shop();
  full.procfile = "/home/me/src/shop/Procfile.dev";
  full.env_files = ".env,.env.local";
  REQUIRE(registry.save_link(full, error));
  Link bare;
  bare.name = "blog-2";
  bare.dir = "/srv/blog";
  REQUIRE(registry.save_link(bare, error));

  Diagnostics errors;
  auto links = registry.links(errors);
  INFO(errors_text(errors));
  CHECK(errors.empty());
  CHECK(links == std::vector<Link>{bare, full});  // sorted by name

  struct stat st {};
  REQUIRE(::stat(home.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  REQUIRE(::stat((home / "apps").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  REQUIRE(::stat((home / "apps" / "shop.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK_FALSE(fs::exists(home / "apps" / "shop.json.tmp"));

  // Optional keys are left out rather than written as null.
  auto text = rp::read_text_file(home / "apps" / "blog-2.json");
  REQUIRE(text);
  CHECK(text->find("procfile") == std::string::npos);
  CHECK(text->find("env_files") == std::string::npos);
  CHECK(text->find("\"name\": \"blog-2\"") != std::string::npos);
}

TEST_CASE("registry: saving a link again replaces it", "[registry]") {
  TempDir tmp("rp-registry-test");
  Registry registry(tmp.path);
  std::string error;
  REQUIRE(registry.save_link(shop(), error));
  Link moved = shop();
  moved.dir = "/elsewhere/shop";
  moved.env = {{"A", "1"}};
  REQUIRE(registry.save_link(moved, error));
  Diagnostics errors;
  CHECK(registry.links(errors) == std::vector<Link>{moved});
}

TEST_CASE("registry: remove_link", "[registry]") {
  TempDir tmp("rp-registry-test");
  Registry registry(tmp.path);
  std::string error;
  REQUIRE(registry.save_link(shop(), error));
  CHECK_FALSE(registry.remove_link("blog"));
  CHECK(registry.remove_link("shop"));
  CHECK_FALSE(registry.remove_link("shop"));
  Diagnostics errors;
  CHECK(registry.links(errors).empty());
  // Names that are not app names never reach the file system.
  write(tmp.path / "secret.json", "{}");
  CHECK_FALSE(registry.remove_link("../secret"));
  CHECK_FALSE(registry.remove_link(""));
  CHECK(fs::exists(tmp.path / "secret.json"));
}

TEST_CASE("registry: save_link refuses names that could leave apps/", "[registry]") {
  TempDir tmp("rp-registry-test");
  Registry registry(tmp.path);
  for (std::string name :
       {"", "..", "../x", "a/b", "Shop", "my_shop", ".shop", "shop.", "a..b", "-shop", "x y"}) {
    Link link = shop();
    link.name = name;
    std::string error;
    CAPTURE(name);
    CHECK_FALSE(registry.save_link(link, error));
    CHECK(error.find("not a valid app name") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(tmp.path / "apps"));
  CHECK_FALSE(fs::exists(tmp.path / "x.json"));
}

TEST_CASE("registry: a git worktree's BRANCH.NAME is an app name", "[registry]") {
  TempDir tmp("rp-registry-test");
  Registry registry(tmp.path);
  Link link = shop();
  link.name = "feature-login.shop";
  std::string error;
  REQUIRE(registry.save_link(link, error));
  Diagnostics errors;
  auto links = registry.links(errors);
  CHECK(errors.empty());
  REQUIRE(links.size() == 1);
  CHECK(links[0].name == "feature-login.shop");
  CHECK(registry.remove_link("feature-login.shop"));
}

TEST_CASE("registry: save_link refuses a relative directory", "[registry]") {
  TempDir tmp("rp-registry-test");
  Link link = shop();
  link.dir = "src/shop";
  std::string error;
  CHECK_FALSE(Registry(tmp.path).save_link(link, error));
  CHECK(error.find("src/shop") != std::string::npos);
}

TEST_CASE("registry: save_link reports a directory it cannot create", "[registry]") {
  TempDir tmp("rp-registry-test");
  write(tmp.path / "apps", "a file in the way");
  std::string error;
  CHECK_FALSE(Registry(tmp.path).save_link(shop(), error));
  CHECK(error.find("apps") != std::string::npos);
}

TEST_CASE("registry: one bad link file does not hide the others", "[registry]") {
  TempDir tmp("rp-registry-test");
  Registry registry(tmp.path);
  std::string error;
  REQUIRE(registry.save_link(shop(), error));
  write(tmp.path / "apps" / "broken.json", "{\"name\": \"broken\",\n  \"dir\": ");
  write(tmp.path / "apps" / "half.json.tmp", "{");  // an unfinished write: not a link
  write(tmp.path / "apps" / "notes.txt", "mine");   // not ours
  Diagnostics errors;
  auto links = registry.links(errors);
  CHECK(links == std::vector<Link>{shop()});
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].file == (tmp.path / "apps" / "broken.json").string());
  CHECK(errors[0].line == 2);
  CHECK(errors[0].what.find("not valid JSON") != std::string::npos);
  CHECK(errors[0].fix.find("rp link") != std::string::npos);
}

TEST_CASE("registry: an apps/ that cannot be listed is a diagnostic", "[registry]") {
  TempDir tmp("rp-registry-test");
  write(tmp.path / "apps", "a file in the way");
  Diagnostics errors;
  CHECK(Registry(tmp.path).links(errors).empty());
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].file == (tmp.path / "apps").string());
  CHECK(errors[0].what.find("cannot be listed") != std::string::npos);
}

TEST_CASE("registry: link files that are not JSON objects", "[registry]") {
  CHECK(link_errors("")[0].what.find("not valid JSON") != std::string::npos);
  CHECK(link_errors("nonsense")[0].line == 1);
  CHECK(link_errors("[1, 2]")[0].what == "is not a JSON object");
  CHECK(link_errors("\"shop\"")[0].what == "is not a JSON object");
  CHECK(link_errors("{} {}")[0].what.find("not valid JSON") != std::string::npos);
}

TEST_CASE("registry: link fields of the wrong type", "[registry]") {
  const std::string env = ", \"env\": {}";
  CHECK(link_errors("{\"dir\": \"/x\"" + env + "}")[0].what == "has no \"name\"");
  CHECK(link_errors("{\"name\": \"shop\"" + env + "}")[0].what == "has no \"dir\"");
  CHECK(link_errors("{\"name\": \"shop\", \"dir\": \"/x\"}")[0].what == "has no \"env\"");
  CHECK(link_errors("{\"name\": 7, \"dir\": \"/x\"" + env + "}")[0].what ==
        "\"name\" is not a string");
  CHECK(link_errors("{\"name\": \"shop\", \"dir\": [\"/x\"]" + env + "}")[0].what ==
        "\"dir\" is not a string");
  CHECK(link_errors("{\"name\": \"shop\", \"dir\": \"/x\", \"env\": [] }")[0].what ==
        "\"env\" is not an object");
  CHECK(link_errors("{\"name\": \"shop\", \"dir\": \"/x\", \"env\": {\"A\": 1}}")[0].what ==
        "\"env\": the value of A is not a string");
  CHECK(
      link_errors("{\"name\": \"shop\", \"dir\": \"/x\", \"procfile\": true" + env + "}")[0].what ==
      "\"procfile\" is not a string");
  CHECK(
      link_errors("{\"name\": \"shop\", \"dir\": \"/x\", \"env_files\": {}" + env + "}")[0].what ==
      "\"env_files\" is not a string");
  // All the mistakes in a file at once, as `rp check` likes them.
  CHECK(link_errors("{\"name\": 1, \"dir\": 2, \"env\": 3}").size() == 3);
}

TEST_CASE("registry: link files whose values do not fit", "[registry]") {
  CHECK(link_errors("{\"name\": \"blog\", \"dir\": \"/x\", \"env\": {}}")[0].what ==
        "names the app 'blog' but the file is for 'shop'");
  CHECK(link_errors("{\"name\": \"shop\", \"dir\": \"rel\", \"env\": {}}")[0].what ==
        "\"dir\" is not an absolute path: 'rel'");
  CHECK(link_errors("{}", "Not_An_App")[0].what.find("not named for an app") != std::string::npos);
}

TEST_CASE("registry: link files are lenient where it is harmless", "[registry]") {
  TempDir tmp("rp-registry-test");
  // null for an optional key is absence; unknown keys (from a newer rp) are ignored; a byte
  // order mark from an editor is skipped.
  write(tmp.path / "apps" / "shop.json",
        "\xEF\xBB\xBF{\"name\": \"shop\", \"dir\": \"/x\", \"env\": {}, \"procfile\": null, "
        "\"future\": 1}");
  Diagnostics errors;
  auto links = Registry(tmp.path).links(errors);
  INFO(errors_text(errors));
  CHECK(errors.empty());
  REQUIRE(links.size() == 1);
  CHECK_FALSE(links[0].procfile.has_value());
  CHECK(links[0].dir == "/x");
}

TEST_CASE("registry: routes round trip, sorted by name", "[registry]") {
  TempDir tmp("rp-registry-test");
  Registry registry(tmp.path / "home");
  std::string error;
  REQUIRE(
      registry.save_routes({{"pgadmin", 5050}, {"api", 8080}, {"low", 1}, {"top", 65535}}, error));
  Diagnostics errors;
  auto routes = registry.routes(errors);
  INFO(errors_text(errors));
  CHECK(errors.empty());
  CHECK(routes ==
        std::vector<StaticRoute>{{"api", 8080}, {"low", 1}, {"pgadmin", 5050}, {"top", 65535}});
  REQUIRE(registry.save_routes({}, error));
  CHECK(registry.routes(errors).empty());
  CHECK(errors.empty());
  CHECK(rp::read_text_file(tmp.path / "home" / "routes.json") == "{\n  \"routes\": {}\n}\n");
}

TEST_CASE("registry: save_routes refuses what routes() would not load", "[registry]") {
  TempDir tmp("rp-registry-test");
  Registry registry(tmp.path);
  std::string error;
  CHECK_FALSE(registry.save_routes({{"api", 0}}, error));
  CHECK(error.find("not a port") != std::string::npos);
  CHECK_FALSE(registry.save_routes({{"api", 65536}}, error));
  CHECK_FALSE(registry.save_routes({{"api", -80}}, error));
  CHECK_FALSE(registry.save_routes({{"../x", 80}}, error));
  CHECK(error.find("not a valid app name") != std::string::npos);
  CHECK_FALSE(registry.save_routes({{"api", 80}, {"api", 81}}, error));
  CHECK(error.find("twice") != std::string::npos);
  CHECK_FALSE(fs::exists(tmp.path / "routes.json"));
}

TEST_CASE("registry: a bad routes.json is a diagnostic", "[registry]") {
  CHECK(route_errors("{\"routes\": ")[0].what.find("not valid JSON") != std::string::npos);
  CHECK(route_errors("[]")[0].what == "is not a JSON object");
  CHECK(route_errors("{}")[0].what == "has no \"routes\"");
  CHECK(route_errors("{\"routes\": [\"api\"]}")[0].what == "\"routes\" is not an object");
}

TEST_CASE("registry: bad routes are left out, good ones load", "[registry]") {
  auto errors = route_errors(
      "{\"routes\": {\"api\": 8080, \"zero\": 0, \"big\": 65536, \"neg\": -1, \"str\": \"80\","
      " \"frac\": 80.5, \"huge\": 18446744073709551615, \"null\": null, \"Bad_Name\": 80,"
      " \"db\": 5432}}",
      {{"api", 8080}, {"db", 5432}});
  CHECK(errors.size() == 8);
  CHECK(errors[0].what == "route 'zero': 0 is not a port (1 to 65535)");
  CHECK(errors[0].fix.find("rp route zero PORT") != std::string::npos);
  CHECK(errors[3].what == "route 'str': \"80\" is not a port (1 to 65535)");
  CHECK(errors[7].what == "'Bad_Name' is not a valid app name");
}
