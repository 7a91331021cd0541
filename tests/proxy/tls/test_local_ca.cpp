// rp's CA in a directory of its own: made once, loaded after, never replaced when damaged; its
// leaves made on first use, kept, and made anew when they near their end or another CA signed
// them; bundle.pem kept equal to the system's CAs plus rp's.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "proxy/tls/local_ca.hpp"
#include "tests/support/temp_dir.hpp"

using namespace rp::tls;
namespace fs = std::filesystem;

namespace {

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

LocalCa open_ca(const fs::path& dir) {
  std::string error;
  auto ca = LocalCa::open(dir, {"test", "localhost"}, error);
  INFO(error);
  REQUIRE(ca);
  return std::move(*ca);
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

}  // namespace

TEST_CASE("the CA is made on first open, its key 0600, and loaded the same after") {
  rp::test::TempDir home;
  const fs::path dir = home.path / "ca";
  LocalCa first = open_ca(dir);
  CHECK(first.certificate_file() == dir / "rp-ca.pem");
  CHECK(mode_of(dir / "rp-ca.key") == 0600);
  CHECK(mode_of(dir / "rp-ca.pem") == 0644);
  CHECK(read(dir / "rp-ca.pem") == first.authority().certificate);
  LocalCa again = open_ca(dir);
  CHECK(again.authority().certificate == first.authority().certificate);
  CHECK(again.authority().key == first.authority().key);
}

TEST_CASE("an app's leaf is made once, kept on disk, and found there by the next daemon") {
  rp::test::TempDir home;
  LocalCa ca = open_ca(home.path);
  std::string error;
  auto shop = ca.for_app("shop.test", error);
  REQUIRE(shop);
  CHECK(signed_by(shop->certificate, ca.authority()));
  auto again = ca.for_app("shop.test", error);
  REQUIRE(again);
  CHECK(again->certificate == shop->certificate);
  const fs::path file = home.path / "certs" / "shop.test.pem";
  CHECK(mode_of(file) == 0600);
  CHECK(read(file) == shop->certificate + shop->key);
  LocalCa next = open_ca(home.path);
  auto loaded = next.for_app("shop.test", error);
  REQUIRE(loaded);
  CHECK(loaded->certificate == shop->certificate);
  CHECK(loaded->key == shop->key);
  auto loopback = ca.for_loopback(error);
  REQUIRE(loopback);
  CHECK(loopback->certificate != shop->certificate);
}

TEST_CASE("a leaf near its end, or signed by another CA, or damaged, is made anew") {
  rp::test::TempDir home;
  LocalCa ca = open_ca(home.path);
  std::string error;
  const fs::path file = home.path / "certs" / "shop.test.pem";

  auto short_lived = make_leaf(ca.authority(), {{"shop.test", "*.shop.test"}, {}, 10}, error);
  REQUIRE(short_lived);
  write(file, short_lived->certificate + short_lived->key);
  auto renewed = ca.for_app("shop.test", error);
  REQUIRE(renewed);
  CHECK(renewed->certificate != short_lived->certificate);
  auto until = not_after(renewed->certificate);
  REQUIRE(until);
  CHECK(*until - std::chrono::system_clock::now() > LocalCa::kRenewBefore);

  auto other = make_authority({"test"}, error);
  REQUIRE(other);
  auto foreign = make_leaf(*other, {{"web.test", "*.web.test"}, {}, 397}, error);
  REQUIRE(foreign);
  write(home.path / "certs" / "web.test.pem", foreign->certificate + foreign->key);
  auto replaced = ca.for_app("web.test", error);
  REQUIRE(replaced);
  CHECK(signed_by(replaced->certificate, ca.authority()));

  write(home.path / "certs" / "api.test.pem", "not a certificate");
  auto remade = ca.for_app("api.test", error);
  REQUIRE(remade);
  CHECK(signed_by(remade->certificate, ca.authority()));
}

TEST_CASE("a damaged or half CA is an error naming the directory, and is left as it is") {
  rp::test::TempDir home;
  const fs::path dir = home.path / "ca";
  open_ca(dir);
  const std::string cert = read(dir / "rp-ca.pem");
  write(dir / "rp-ca.key", "garbage");
  std::string error;
  CHECK_FALSE(LocalCa::open(dir, {"test"}, error));
  CHECK(error.find((dir / "rp-ca.*").string()) == 0);
  CHECK(error.find("damaged") != std::string::npos);
  CHECK(read(dir / "rp-ca.pem") == cert);
  CHECK(read(dir / "rp-ca.key") == "garbage");

  fs::remove(dir / "rp-ca.key");
  error.clear();
  CHECK_FALSE(LocalCa::open(dir, {"test"}, error));
  CHECK_FALSE(error.empty());
}

TEST_CASE("a CA whose key others may read, or made for fewer TLDs, serves on with warnings") {
  rp::test::TempDir home;
  const fs::path dir = home.path / "ca";
  open_ca(dir);
  CHECK(open_ca(dir).warnings().empty());

  fs::permissions(dir / "rp-ca.key", fs::perms::group_read | fs::perms::others_read,
                  fs::perm_options::add);
  auto loose = open_ca(dir);
  REQUIRE(loose.warnings().size() == 1);
  CHECK(loose.warnings()[0].what.find("may be read by others (mode 0644)") != std::string::npos);
  CHECK(loose.warnings()[0].fix.find("chmod 600") == 0);

  fs::permissions(dir / "rp-ca.key", fs::perms::owner_read | fs::perms::owner_write);
  std::string error;
  auto wider = LocalCa::open(dir, {"test", "localhost", "dev"}, error);
  REQUIRE(wider);
  REQUIRE(wider->warnings().size() == 1);
  CHECK(wider->warnings()[0].what.find("before .dev became one of rp's TLDs") != std::string::npos);
}

TEST_CASE(
    "bundle.pem is the system's CAs then rp's, public, and written anew when either changes") {
  rp::test::TempDir home;
  const fs::path dir = home.path / "ca";
  const fs::path system = home.path / "system.crt";
  const fs::path bundle = dir / "bundle.pem";
  write(system, "-----BEGIN CERTIFICATE-----\nsystem one\n-----END CERTIFICATE-----");
  std::string error;
  auto ca = LocalCa::open(dir, {"test"}, error, system);
  REQUIRE(ca);
  CHECK(ca->bundle_file() == bundle);
  const std::string first = read(bundle);
  CHECK(first == read(system) + "\n" + ca->authority().certificate);
  CHECK(mode_of(bundle) == 0644);

  // Loaded again with nothing changed: the file is left alone.
  const auto written = fs::last_write_time(bundle);
  REQUIRE(LocalCa::open(dir, {"test"}, error, system));
  CHECK(fs::last_write_time(bundle) == written);

  // The system's CAs were updated.
  write(system, "-----BEGIN CERTIFICATE-----\nsystem two\n-----END CERTIFICATE-----\n");
  REQUIRE(LocalCa::open(dir, {"test"}, error, system));
  CHECK(read(bundle) == read(system) + ca->authority().certificate);

  // A CA made anew (its directory removed, the bundle kept by hand) replaces the old one in it.
  const std::string kept = read(bundle);
  fs::remove_all(dir);
  write(bundle, kept);
  auto remade = LocalCa::open(dir, {"test"}, error, system);
  REQUIRE(remade);
  CHECK(remade->authority().certificate != ca->authority().certificate);
  CHECK(read(bundle) == read(system) + remade->authority().certificate);
}

TEST_CASE("with no system bundle, bundle.pem holds rp's CA alone") {
  rp::test::TempDir home;
  std::string error;
  auto ca = LocalCa::open(home.path / "ca", {"test"}, error, home.path / "no-such.crt");
  REQUIRE(ca);
  CHECK(read(ca->bundle_file()) == ca->authority().certificate);
}

TEST_CASE("a bundle that cannot be written is a warning, and no bundle file is offered") {
  rp::test::TempDir home;
  const fs::path dir = home.path / "ca";
  open_ca(dir);
  // A directory in its place: no rename replaces it, whoever runs the test.
  fs::remove(dir / "bundle.pem");
  fs::create_directory(dir / "bundle.pem");
  std::string error;
  auto ca = LocalCa::open(dir, {"test", "localhost"}, error, home.path / "no-such.crt");
  REQUIRE(ca);
  CHECK(ca->bundle_file().empty());
  REQUIRE(ca->warnings().size() == 1);
  CHECK(ca->warnings()[0].what.find("bundle.pem") != std::string::npos);
}

TEST_CASE("inspect loads and checks a CA without writing or making anything") {
  rp::test::TempDir home;
  const fs::path dir = home.path / "ca";
  std::string error;
  CHECK_FALSE(LocalCa::inspect(dir, {"test"}, error));
  CHECK_FALSE(fs::exists(dir));
  open_ca(dir);
  fs::remove(dir / "bundle.pem");
  fs::remove(dir / "rp-ca.lock");
  auto ca = LocalCa::inspect(dir, {"test", "localhost", "dev"}, error);
  REQUIRE(ca);
  REQUIRE(ca->warnings().size() == 1);  // .dev came after the CA
  CHECK_FALSE(fs::exists(dir / "bundle.pem"));
  CHECK_FALSE(fs::exists(dir / "rp-ca.lock"));
}
