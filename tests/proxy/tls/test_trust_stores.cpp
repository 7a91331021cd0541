// Where rp's CA goes on a machine, found in scratch file trees: the system store of each
// distribution, every NSS database of a home; what --apply would do in each; the certutil command
// lines; and the manifest that lets --undo remove exactly what --apply added.
#include <catch2/catch.hpp>
#include <fstream>

#include "proxy/tls/certificates.hpp"
#include "proxy/tls/trust_stores.hpp"
#include "tests/support/temp_dir.hpp"

using namespace rp::tls;
namespace fs = std::filesystem;

namespace {

void touch(const fs::path& p) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << "";
}

std::vector<std::pair<std::string, std::string>> listed(const std::vector<NssDb>& dbs) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& db : dbs) out.emplace_back(db.browser, db.path);
  return out;
}

std::string a_ca() {
  std::string error;
  auto ca = make_authority({"test"}, error);
  REQUIRE(ca);
  return ca->certificate;
}

}  // namespace

TEST_CASE("the system store is found by its anchors directory, else by its update command") {
  rp::test::TempDir root;
  CHECK_FALSE(find_system_store(root.path));

  fs::create_directories(root.path / "usr/local/share/ca-certificates");
  auto debian = find_system_store(root.path);
  REQUIRE(debian);
  CHECK(debian->name == "Debian/Ubuntu");
  CHECK(debian->update == Command{"update-ca-certificates"});
  CHECK(debian->file_for("0123456789abcdef") ==
        "/usr/local/share/ca-certificates/rp-ca-0123456789abcdef.crt");
  CHECK(debian->bundle == "/etc/ssl/certs/ca-certificates.crt");
  CHECK_FALSE(debian->p11_kit());

  // Fedora's directory wins: a Fedora machine may have an unused Debian-style one too.
  fs::create_directories(root.path / "etc/pki/ca-trust/source/anchors");
  auto fedora = find_system_store(root.path);
  REQUIRE(fedora);
  CHECK(fedora->name == "Fedora/RHEL");
  CHECK(fedora->update == Command{"update-ca-trust", "extract"});
  CHECK(fedora->file_for("0123456789abcdef") ==
        "/etc/pki/ca-trust/source/anchors/rp-ca-0123456789abcdef.pem");
}

TEST_CASE("Arch's anchors, a tool without its directory, and p11-kit alone") {
  rp::test::TempDir arch;
  fs::create_directories(arch.path / "etc/ca-certificates/trust-source/anchors");
  REQUIRE(find_system_store(arch.path));
  CHECK(find_system_store(arch.path)->name == "Arch");
  CHECK(find_system_store(arch.path)->update == Command{"update-ca-trust"});

  rp::test::TempDir tool_only;
  touch(tool_only.path / "usr/sbin/update-ca-certificates");
  REQUIRE(find_system_store(tool_only.path));
  CHECK(find_system_store(tool_only.path)->anchors_dir == "/usr/local/share/ca-certificates");

  rp::test::TempDir p11;
  touch(p11.path / "usr/bin/trust");
  auto store = find_system_store(p11.path);
  REQUIRE(store);
  CHECK(store->p11_kit());
  CHECK(store->file_for("0123456789abcdef") == "/var/lib/rp/rp-ca-0123456789abcdef.pem");
  CHECK(p11_kit_store("/var/lib/rp/x.pem") ==
        Command{"trust", "anchor", "--store", "/var/lib/rp/x.pem"});
  CHECK(p11_kit_remove("/var/lib/rp/x.pem") ==
        Command{"trust", "anchor", "--remove", "/var/lib/rp/x.pem"});
}

TEST_CASE("the layout of a file rp wrote gives the command to run again at the undo") {
  auto debian = system_store_of("/usr/local/share/ca-certificates/rp-ca-0123456789abcdef.crt");
  REQUIRE(debian);
  CHECK(debian->update == Command{"update-ca-certificates"});
  REQUIRE(system_store_of("/var/lib/rp/rp-ca-0123456789abcdef.pem"));
  CHECK(system_store_of("/var/lib/rp/rp-ca-0123456789abcdef.pem")->p11_kit());
  CHECK_FALSE(system_store_of("/etc/ssl/certs/rp.pem"));
}

TEST_CASE("every NSS database of a home is found, Chromium's even before it exists") {
  rp::test::TempDir root;
  CHECK(find_nss_dbs(root.path, "/home/ann").empty());  // no such home: nothing to make
  const fs::path home = root.path / "home/ann";
  fs::create_directories(home);
  CHECK(listed(find_nss_dbs(root.path, "/home/ann")) ==
        decltype(listed({})){{"Chromium", "/home/ann/.pki/nssdb"}});
  CHECK_FALSE(find_nss_dbs(root.path, "/home/ann").front().exists);

  touch(home / ".pki/nssdb/cert9.db");
  touch(home / ".local/share/pki/nssdb/cert9.db");
  touch(home / "snap/chromium/current/.pki/nssdb/cert9.db");
  touch(home / ".mozilla/firefox/b.default-release/cert9.db");
  touch(home / ".mozilla/firefox/a.dev-edition-default/cert9.db");
  touch(home / ".mozilla/firefox/never-started/prefs.js");  // no cert9.db yet: not a database
  touch(home / ".mozilla/firefox/profiles.ini");
  touch(home / ".config/mozilla/firefox/c.default/cert9.db");
  touch(home / "snap/firefox/common/.mozilla/firefox/d.default/cert9.db");
  touch(home / ".var/app/org.mozilla.firefox/.mozilla/firefox/e.default/cert9.db");
  touch(home / ".var/app/com.google.Chrome/.pki/nssdb/cert9.db");
  const auto dbs = find_nss_dbs(root.path, "/home/ann");
  CHECK(listed(dbs) ==
        decltype(listed({})){
            {"Chromium", "/home/ann/.pki/nssdb"},
            {"NSS shared database", "/home/ann/.local/share/pki/nssdb"},
            {"Chromium (Snap)", "/home/ann/snap/chromium/current/.pki/nssdb"},
            {"Chrome (Flatpak)", "/home/ann/.var/app/com.google.Chrome/.pki/nssdb"},
            {"Firefox profile a.dev-edition-default",
             "/home/ann/.mozilla/firefox/a.dev-edition-default"},
            {"Firefox profile b.default-release", "/home/ann/.mozilla/firefox/b.default-release"},
            {"Firefox profile c.default", "/home/ann/.config/mozilla/firefox/c.default"},
            {"Firefox (Snap) profile d.default",
             "/home/ann/snap/firefox/common/.mozilla/firefox/d.default"},
            {"Firefox (Flatpak) profile e.default",
             "/home/ann/.var/app/org.mozilla.firefox/.mozilla/firefox/e.default"},
        });
  CHECK(std::all_of(dbs.begin(), dbs.end(), [](const NssDb& db) { return db.exists; }));
}

TEST_CASE("the CA's name in the stores comes from its fingerprint") {
  const auto pem = a_ca();
  auto ca = identify_ca(pem);
  REQUIRE(ca);
  CHECK(ca->certificate == pem);
  CHECK(ca->id == fingerprint(pem)->substr(0, 16));
  CHECK(nickname(ca->id) == "rp local CA " + ca->id);
  CHECK(identify_ca(a_ca())->id != ca->id);
  CHECK_FALSE(identify_ca("not a certificate"));
}

TEST_CASE("certutil's command lines name the database as sql: and the CA by its nickname") {
  const fs::path db = "/r/home/ann/.pki/nssdb";
  const auto id = "0123456789abcdef";
  CHECK(certutil_list(db, id) == Command{"certutil", "-L", "-d", "sql:/r/home/ann/.pki/nssdb", "-n",
                                         "rp local CA 0123456789abcdef"});
  CHECK(certutil_add(db, id) == Command{"certutil", "-A", "-d", "sql:/r/home/ann/.pki/nssdb", "-t",
                                        "C,,", "-n", "rp local CA 0123456789abcdef"});
  CHECK(certutil_delete(db, id) == Command{"certutil", "-D", "-d", "sql:/r/home/ann/.pki/nssdb",
                                           "-n", "rp local CA 0123456789abcdef"});
  CHECK(certutil_create(db) ==
        Command{"certutil", "-N", "--empty-password", "-d", "sql:/r/home/ann/.pki/nssdb"});
}

TEST_CASE("certutil's answers: not found, and a database with no certificate") {
  CHECK(
      certutil_not_found("certutil: Could not find cert: rp local CA 0123456789abcdef\n: "
                         "PR_FILE_NOT_FOUND_ERROR: File not found\n"));
  CHECK_FALSE(
      certutil_not_found("certutil: function failed: SEC_ERROR_BAD_DATABASE: security "
                         "library: bad database.\n"));
  const std::string header =
      "\nCertificate Nickname                                         Trust Attributes\n"
      "                                                             SSL,S/MIME,JAR/XPI\n\n";
  CHECK(certutil_lists_none(header));
  CHECK_FALSE(certutil_lists_none(header + "rp local CA 0123456789abcdef          C,,  \n"));
}

TEST_CASE("a bundle holds the CA whatever its line breaks") {
  const auto pem = a_ca();
  std::string rewrapped;
  for (char c : pem) {
    if (c != '\n') rewrapped += c;
    if (c == '=' || rewrapped.size() % 50 == 0) rewrapped += '\n';
  }
  CHECK(bundle_holds("# another CA\n" + a_ca() + pem, pem));
  CHECK(bundle_holds(a_ca() + "\r\n" + rewrapped, pem));
  CHECK_FALSE(bundle_holds(a_ca() + a_ca(), pem));
  CHECK_FALSE(bundle_holds(pem, "not a certificate"));
}

TEST_CASE("the plan: add where the CA is missing, make Chromium's database, leave the rest") {
  SystemStore debian{
      "Debian/Ubuntu", "/usr/local/share/ca-certificates", ".crt", {"update-ca-certificates"}, ""};
  const std::vector<Store> stores{
      {Store::Kind::system_file, "system store (Debian/Ubuntu)", "/usr/local/x.crt", Store::Has::no,
       ""},
      {Store::Kind::nss, "Chromium", "/home/ann/.pki/nssdb", Store::Has::missing, ""},
      {Store::Kind::nss, "Firefox profile a", "/home/ann/.mozilla/firefox/a", Store::Has::yes, ""},
      {Store::Kind::nss, "Firefox profile b", "/home/ann/.mozilla/firefox/b", Store::Has::unknown,
       "certutil is not installed"},
      {Store::Kind::nss, "Firefox profile c", "/home/ann/.mozilla/firefox/c", Store::Has::no, ""},
  };
  const auto steps = plan_trust(stores, debian);
  REQUIRE(steps.size() == 5);
  CHECK(steps[0].action == Action::add);
  CHECK(steps[0].says == "write rp's CA, then run update-ca-certificates");
  CHECK(steps[1].action == Action::create_and_add);
  CHECK(steps[2].action == Action::nothing);
  CHECK(steps[2].says == "rp's CA is there already");
  CHECK(steps[3].action == Action::cannot);
  CHECK(steps[3].says == "rp cannot look at it or change it: certutil is not installed");
  CHECK(steps[4].action == Action::add);
  CHECK(steps[4].says == "add rp's CA (certutil -A, trusted to identify web sites)");

  const auto other = plan_trust(
      {{Store::Kind::system_file, "system store", "/usr/local/x.crt", Store::Has::other, ""}},
      debian);
  CHECK(other[0].action == Action::leave);
}

TEST_CASE("the manifest reads back what it wrote, paths with spaces included") {
  TrustManifest m{{
      {TrustRecord::Kind::file, "0123456789abcdef",
       "/usr/local/share/ca-certificates/rp-ca-0123456789abcdef.crt"},
      {TrustRecord::Kind::dir, "", "/home/ann/.pki"},
      {TrustRecord::Kind::nss_made, "0123456789abcdef", "/home/ann/.pki/nssdb"},
      {TrustRecord::Kind::nss, "0123456789abcdef", "/home/ann/.mozilla/firefox/my profile"},
      {TrustRecord::Kind::p11_kit, "0123456789abcdef", "/var/lib/rp/rp-ca-0123456789abcdef.pem"},
      {TrustRecord::Kind::dir, "", "/var/lib/rp"},
  }};
  const auto text = render_trust_manifest(m);
  CHECK(text ==
        "# What `rp trust --apply` added; `rp trust --undo` removes exactly this. Keep it.\n"
        "file 0123456789abcdef /usr/local/share/ca-certificates/rp-ca-0123456789abcdef.crt\n"
        "dir /home/ann/.pki\n"
        "nss-made 0123456789abcdef /home/ann/.pki/nssdb\n"
        "nss 0123456789abcdef /home/ann/.mozilla/firefox/my profile\n"
        "p11-kit 0123456789abcdef /var/lib/rp/rp-ca-0123456789abcdef.pem\n"
        "dir /var/lib/rp\n");
  std::string error;
  auto back = parse_trust_manifest(text, error);
  REQUIRE(back);
  CHECK(back->records == m.records);
}

TEST_CASE("a manifest line rp does not write is an error, not a guess") {
  std::string error;
  for (const char* bad :
       {"nss /home/ann/.pki/nssdb\n", "file 0123 /x.crt\n", "nss 0123456789abcdef relative/path\n",
        "sysctl x 1\n", "nss 0123456789ABCDEF /home/ann/.pki/nssdb\n"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_trust_manifest(bad, error));
    CHECK(error.starts_with("line 1 is not one rp trust writes: '"));
  }
  CHECK(parse_trust_manifest("# comment\n\n", error)->records.empty());
}
