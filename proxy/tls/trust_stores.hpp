// Where a Linux machine keeps the certificate authorities it trusts, and what `rp trust` changes
// there so that browsers and command-line clients accept rp's HTTPS: a file in the system's
// anchors directory (read by OpenSSL, GnuTLS, curl, Python… once the distribution's update command
// has rebuilt its bundle), or p11-kit's `trust anchor` where that is the only mechanism; and an
// entry in each NSS database of the user (Chromium's, each Firefox profile's), added by
// `certutil` under a nickname that names this CA alone ("rp local CA 1a2b…"), so that nothing
// else in a store is ever touched.
//
// What `--apply` added is recorded in a manifest on the target system (kTrustManifestPath), so
// that `--undo` removes exactly that, even after RP_HOME/ca was made anew.
//
// Finding the stores reads directories under a root; planning, the certutil command lines and the
// manifest are pure functions over values, so a test can describe any machine.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rp::tls {

using Command = std::vector<std::string>;

inline constexpr const char* kTrustManifestPath = "/var/lib/rp/trust-manifest";

// rp's CA as the stores know it.
struct CaIdentity {
  std::string certificate;  // PEM, exactly RP_HOME/ca/rp-ca.pem
  std::string id;           // the first 16 hex digits of its SHA-256 fingerprint
};

// nullopt when `certificate` is not a PEM certificate.
std::optional<CaIdentity> identify_ca(const std::string& certificate);

// The CA's name in an NSS database: "rp local CA <id>".
std::string nickname(std::string_view id);

// How a distribution keeps the CAs that every program trusts.
struct SystemStore {
  std::string name;         // "Debian/Ubuntu"
  std::string anchors_dir;  // where rp puts the CA's file (for p11-kit: the copy it hands over)
  std::string extension;    // ".crt"
  Command update;           // what rebuilds the system's bundle from the directory; empty: p11-kit
  std::string bundle;       // the bundle OpenSSL and curl read; empty when unknown

  bool p11_kit() const { return update.empty(); }
  // Where the CA goes: anchors_dir/rp-ca-<id><extension>.
  std::string file_for(std::string_view id) const;
};

// The first known layout whose anchors directory exists under `root`, else the first whose update
// command does, else p11-kit's `trust` when that is there; nullopt when none is.
std::optional<SystemStore> find_system_store(const std::filesystem::path& root);

// The layout that `file` (a CA file rp wrote) belongs to, to run its update command again at the
// undo; nullopt when it is no known anchors directory's.
std::optional<SystemStore> system_store_of(std::string_view file);

// Whether `bundle` (PEM certificates one after the other, as update-ca-certificates writes them)
// holds `certificate`, however its lines are broken.
bool bundle_holds(std::string_view bundle, std::string_view certificate);

// The commands of p11-kit, for a CA file on the target system.
Command p11_kit_store(const std::string& file);
Command p11_kit_remove(const std::string& file);

// An NSS database: a directory with cert9.db.
struct NssDb {
  std::string browser;  // "Chromium", "Firefox profile xyz.default-release"
  std::string path;     // the directory, on the target system
  bool exists = true;   // false: ~/.pki/nssdb is missing, and rp trust --apply makes it
};

// The NSS databases of the user whose home is `home` (a path on the target system), under `root`:
// Chromium's ~/.pki/nssdb (listed even when missing, if the home exists: Chromium reads it when it
// is there, so rp makes it), NSS's ~/.local/share/pki/nssdb, those of Chromium and Chrome as Snap
// and Flatpak, and every Firefox profile of the native, XDG, Snap and Flatpak Firefox.
std::vector<NssDb> find_nss_dbs(const std::filesystem::path& root, const std::string& home);

// certutil's command lines for a database whose directory is reached at `db`.
Command certutil_list(const std::filesystem::path& db, std::string_view id);
Command certutil_add(const std::filesystem::path& db, std::string_view id);  // PEM on stdin
Command certutil_delete(const std::filesystem::path& db, std::string_view id);
Command certutil_create(const std::filesystem::path& db);
Command certutil_list_all(const std::filesystem::path& db);  // every certificate in it
Command certutil_list_keys(const std::filesystem::path& db);

// Whether certutil's output for a nickname it did not find says just that (and not that the
// database could not be opened).
bool certutil_not_found(std::string_view output);
// Whether `certutil -L` lists no certificate at all, only its header.
bool certutil_lists_none(std::string_view output);

// One store as rp found it.
struct Store {
  enum class Kind { system_file, p11_kit, nss } kind = Kind::nss;
  std::string name;  // "system store (Debian/Ubuntu)", "Chromium", "Firefox profile x"
  std::string path;  // on the target system: the CA's file, or the NSS database's directory
  enum class Has {
    no,       // rp's CA is not there
    yes,      // it is there already
    other,    // a file that is not rp's CA is at rp's path
    missing,  // NSS: no database yet (rp makes ~/.pki/nssdb)
    unknown,  // NSS: certutil is missing, or could not read the database (see note)
  } has = Has::no;
  std::string note;  // why unknown
};

enum class Action { add, create_and_add, nothing, leave, cannot };

struct Step {
  Store store;
  Action action = Action::nothing;
  std::string says;  // for people: "add it, then run update-ca-certificates"
};

// What --apply does in each store, in the order given.
std::vector<Step> plan_trust(const std::vector<Store>& stores,
                             const std::optional<SystemStore>& system);

// One thing --apply made, on the target system.
struct TrustRecord {
  enum class Kind {
    dir,       // a directory it created
    file,      // the CA's file in the system's anchors directory (or p11-kit's copy)
    p11_kit,   // a file handed to `trust anchor --store`
    nss,       // the CA added to an NSS database
    nss_made,  // an NSS database it created, the CA in it
  } kind = Kind::dir;
  std::string id;  // the CA's (not for dir)
  std::string path;

  bool operator==(const TrustRecord&) const = default;
};

struct TrustManifest {
  std::vector<TrustRecord> records;  // in the order they were made; undone newest first
};

std::string render_trust_manifest(const TrustManifest& manifest);
// nullopt, and `error` set, when a line is not one rp writes.
std::optional<TrustManifest> parse_trust_manifest(std::string_view text, std::string& error);

}  // namespace rp::tls
