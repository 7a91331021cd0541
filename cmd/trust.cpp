#include "cmd/trust.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <system_error>

#include "cmd/commands.hpp"
#include "proxy/tls/local_ca.hpp"
#include "proxy/tls/trust_stores.hpp"
#include "supervisor/project/text.hpp"
#include "supervisor/state/root_files.hpp"

namespace rp::cmd {
namespace {

namespace fs = std::filesystem;
using tls::Store;
using tls::TrustRecord;

constexpr const char* kNoCertutil =
    "certutil is not installed, so rp cannot read or change the NSS databases of Chromium and "
    "Firefox: install it (sudo apt install libnss3-tools; nss-tools on Fedora, nss on Arch), "
    "then run rp trust --apply again";

void say_error(const std::string& what) {
  fmt::print(stderr, "rp trust: {}\n", what);
}

std::string shown(const TrustTarget& t, const std::string& path) {
  return under_root(t.root, path).string();
}

// certutil as the user whose database it is, its output kept.
int certutil(const TrustTarget& t, const Command& command, std::string& output,
             const std::string* input = nullptr) {
  return run_command(command, {t.user.as ? &*t.user.as : nullptr, input, &output});
}

std::string first_line(std::string_view text) {
  auto lines = split_lines(text);
  return lines.empty() ? "" : std::string(trim(lines.front()));
}

// The CA of the target's RP_HOME, made now when there is none.
std::optional<tls::CaIdentity> open_ca(const TrustTarget& t) {
  std::error_code ec;
  if (t.user.as && !fs::exists(t.ca_dir / "rp-ca.pem", ec)) {
    // Made as the user: RP_HOME is theirs, and their daemon writes in it.
    const int made = run_as(*t.user.as, [&] {
      std::string error;
      if (tls::LocalCa::open(t.ca_dir, t.tlds, error)) return 0;
      say_error(error);
      return 1;
    });
    if (made != 0) return std::nullopt;
  }
  std::string error;
  auto ca = tls::LocalCa::open(t.ca_dir, t.tlds, error);
  if (!ca) {
    say_error(error);
    return std::nullopt;
  }
  return tls::identify_ca(ca->authority().certificate);
}

// What each store holds now: whether rp's CA is there (when there is a CA to look for), by its
// file or by `certutil -L`. `with_missing`: also ~/.pki/nssdb when it is not there yet.
struct Survey {
  std::optional<tls::SystemStore> system;
  std::vector<Store> stores;
  bool certutil = false;
};

Store::Has file_holds(const TrustTarget& t, const std::string& path, const tls::CaIdentity* ca) {
  std::error_code ec;
  const auto at = under_root(t.root, path);
  if (!ca || !fs::exists(at, ec)) return Store::Has::no;
  return read_text_file(at) == ca->certificate ? Store::Has::yes : Store::Has::other;
}

Store nss_store(const TrustTarget& t, const tls::NssDb& db, const tls::CaIdentity* ca,
                bool has_certutil) {
  Store store{Store::Kind::nss, db.browser, db.path, Store::Has::missing, ""};
  if (!db.exists) return store;
  std::string output;
  if (!has_certutil) {
    store.has = Store::Has::unknown;
    store.note = "certutil is not installed";
  } else if (!ca) {
    store.has = Store::Has::no;
  } else if (certutil(t, tls::certutil_list(under_root(t.root, db.path), ca->id), output) == 0) {
    store.has = Store::Has::yes;
  } else if (tls::certutil_not_found(output)) {
    store.has = Store::Has::no;
  } else {
    store.has = Store::Has::unknown;
    store.note = fmt::format("certutil cannot read it: {}", first_line(output));
  }
  return store;
}

Survey survey(const TrustTarget& t, const tls::CaIdentity* ca, bool with_missing) {
  Survey s;
  s.system = tls::find_system_store(t.root);
  if (s.system) {
    // Without a CA, any name does: nothing holds it.
    const auto path = s.system->file_for(ca ? ca->id : "rp-ca");
    s.stores.push_back({s.system->p11_kit() ? Store::Kind::p11_kit : Store::Kind::system_file,
                        fmt::format("system store ({})", s.system->name), path,
                        file_holds(t, path, ca), ""});
  }
  s.certutil = find_program("certutil").has_value();
  for (const auto& db : tls::find_nss_dbs(t.root, t.user.home)) {
    if (db.exists || with_missing) s.stores.push_back(nss_store(t, db, ca, s.certutil));
  }
  return s;
}

// Whether the bundle that the system's update command makes (what OpenSSL and curl read) holds
// the CA; true when there is no such bundle to look at.
bool bundled(const TrustTarget& t, const tls::SystemStore& system, const tls::CaIdentity& ca) {
  if (system.bundle.empty()) return true;
  auto bundle = read_text_file(under_root(t.root, system.bundle));
  return !bundle || tls::bundle_holds(*bundle, ca.certificate);
}

// The manifest on the target, or an empty one; nullopt (said) when it is damaged.
std::optional<tls::TrustManifest> read_manifest(const TrustTarget& t) {
  const auto path = under_root(t.root, tls::kTrustManifestPath);
  auto text = read_text_file(path);
  if (!text) return tls::TrustManifest{};
  std::string error;
  auto manifest = tls::parse_trust_manifest(*text, error);
  if (!manifest) {
    say_error(
        fmt::format("{}: {} — rp trust cannot tell what it added before; fix or remove that "
                    "file",
                    path.string(), error));
  }
  return manifest;
}

bool write_manifest(const TrustTarget& t, tls::TrustManifest& manifest) {
  std::vector<std::string> dirs;
  for (const auto& r : manifest.records) {
    if (r.kind == TrustRecord::Kind::dir) dirs.push_back(r.path);
  }
  const auto before = dirs.size();
  std::string error;
  bool ok =
      make_dirs_under_root(t.root, fs::path(tls::kTrustManifestPath).parent_path(), dirs, error);
  for (auto i = before; i < dirs.size(); ++i) {
    manifest.records.push_back({TrustRecord::Kind::dir, "", dirs[i]});
  }
  const auto path = under_root(t.root, tls::kTrustManifestPath);
  if (ok) ok = write_system_file(path, tls::render_trust_manifest(manifest), error);
  if (!ok) {
    say_error(error);
    return false;
  }
  fmt::print("recorded them in {}\n", path.string());
  return true;
}

// What --apply does, store by store, adding to the manifest what it made.
class Applier {
 public:
  Applier(const TrustTarget& t, const tls::CaIdentity& ca, tls::TrustManifest& manifest)
      : t_(t), ca_(ca), manifest_(manifest) {
    for (const auto& r : manifest.records) {
      if (r.kind == TrustRecord::Kind::dir) dirs_.push_back(r.path);
    }
  }

  // The system's update command when a file was written for it.
  std::vector<Command> commands;

  bool run(const tls::Step& step, const std::optional<tls::SystemStore>& system) {
    const auto& store = step.store;
    switch (step.action) {
      case tls::Action::nothing:
        fmt::print("already there: {}: {}\n", store.name, shown(t_, store.path));
        return true;
      case tls::Action::leave:
      case tls::Action::cannot:
        say_error(fmt::format("{}: {}: {}", store.name, shown(t_, store.path), step.says));
        return false;
      case tls::Action::add:
        if (store.kind == Store::Kind::nss) return add_to_nss(store, TrustRecord::Kind::nss);
        return add_to_system(store, *system);
      case tls::Action::create_and_add:
        return make_nss(store);
    }
    return false;
  }

 private:
  void record(TrustRecord::Kind kind, const std::string& path) {
    TrustRecord r{kind, kind == TrustRecord::Kind::dir ? "" : ca_.id, path};
    if (std::find(manifest_.records.begin(), manifest_.records.end(), r) ==
        manifest_.records.end()) {
      manifest_.records.push_back(std::move(r));
    }
  }

  // Creates `dir` (on the target) and its missing parents, recording them; in a home, as the
  // user's own and private, as Chromium makes ~/.pki.
  bool make_dirs(const std::string& dir, bool in_home) {
    const auto before = dirs_.size();
    std::string error;
    const bool ok = make_dirs_under_root(t_.root, dir, dirs_, error);
    for (auto i = before; i < dirs_.size(); ++i) {
      record(TrustRecord::Kind::dir, dirs_[i]);
      if (!in_home) continue;
      const auto at = under_root(t_.root, dirs_[i]);
      std::error_code ec;
      fs::permissions(at, fs::perms::owner_all, ec);
      if (t_.user.as && ::chown(at.c_str(), t_.user.as->uid, t_.user.as->gid) != 0) {
        say_error(fmt::format("cannot give {} to {}", at.string(), t_.user.name));
      }
    }
    if (!ok) say_error(error);
    return ok;
  }

  bool add_to_system(const Store& store, const tls::SystemStore& system) {
    std::string error;
    if (!make_dirs(fs::path(store.path).parent_path().string(), false)) return false;
    if (!write_system_file(under_root(t_.root, store.path), ca_.certificate, error)) {
      say_error(error);
      return false;
    }
    record(TrustRecord::Kind::file, store.path);
    fmt::print("wrote {}\n", shown(t_, store.path));
    if (!system.p11_kit()) {
      commands.push_back(system.update);
      return true;
    }
    const auto store_it = tls::p11_kit_store(store.path);
    if (!t_.live) {
      say_not_run_under_root({store_it});
      return true;
    }
    if (!run_commands({store_it}, "rp trust")) return false;
    record(TrustRecord::Kind::p11_kit, store.path);
    return true;
  }

  bool add_to_nss(const Store& store, TrustRecord::Kind kind) {
    const auto db = under_root(t_.root, store.path);
    std::string output;
    int status = certutil(t_, tls::certutil_add(db, ca_.id), output, &ca_.certificate);
    std::string listed;
    if (status == 0) status = certutil(t_, tls::certutil_list(db, ca_.id), listed);
    if (status != 0) {
      // certutil keeps a certificate under the nickname it had: the CA may be there already
      // under another name, which rp leaves alone.
      say_error(fmt::format("{}: certutil could not add rp's CA to {}: {}", store.name, db.string(),
                            first_line(output + listed)));
      return false;
    }
    record(kind, store.path);
    fmt::print("added rp's CA to {}: {}\n", store.name, db.string());
    return true;
  }

  bool make_nss(const Store& store) {
    const auto db = under_root(t_.root, store.path);
    if (!make_dirs(store.path, true)) return false;
    std::string output;
    if (certutil(t_, tls::certutil_create(db), output) != 0) {
      say_error(fmt::format("certutil could not make an NSS database in {}: {}", db.string(),
                            first_line(output)));
      return false;
    }
    fmt::print("made {} (an empty NSS database, as Chromium makes it)\n", db.string());
    return add_to_nss(store, TrustRecord::Kind::nss_made);
  }

  const TrustTarget& t_;
  const tls::CaIdentity& ca_;
  tls::TrustManifest& manifest_;
  std::vector<std::string> dirs_;
};

// Removes a database rp made when nothing but rp's CA was ever put in it; true when it is gone.
bool remove_made_db(const TrustTarget& t, const fs::path& db) {
  std::string certs;
  std::string keys;
  if (certutil(t, tls::certutil_list_all(db), certs) != 0 || !tls::certutil_lists_none(certs) ||
      certutil(t, tls::certutil_list_keys(db), keys) == 0) {
    fmt::print("left {}: rp made it, but it holds other certificates or keys now\n", db.string());
    return false;
  }
  std::error_code ec;
  for (const char* file : {"cert9.db", "key4.db", "pkcs11.txt"}) fs::remove(db / file, ec);
  fmt::print("removed the NSS database rp made in {}\n", db.string());
  return true;
}

// Undoes one record (not a directory); false, and said, when it stays.
bool undo_record(const TrustTarget& t, const TrustRecord& r, bool has_certutil,
                 std::vector<Command>& commands) {
  const auto at = under_root(t.root, r.path);
  std::error_code ec;
  switch (r.kind) {
    case TrustRecord::Kind::dir:
      return true;
    case TrustRecord::Kind::nss:
    case TrustRecord::Kind::nss_made: {
      if (!fs::exists(at, ec)) {
        fmt::print("{} is already gone\n", at.string());
        return true;
      }
      if (!has_certutil) return false;
      std::string output;
      if (certutil(t, tls::certutil_delete(at, r.id), output) == 0) {
        fmt::print("removed \"{}\" from {}\n", tls::nickname(r.id), at.string());
      } else if (!tls::certutil_not_found(output)) {
        say_error(fmt::format("certutil could not remove \"{}\" from {}: {}", tls::nickname(r.id),
                              at.string(), first_line(output)));
        return false;
      }
      if (r.kind == TrustRecord::Kind::nss_made) remove_made_db(t, at);
      return true;
    }
    case TrustRecord::Kind::p11_kit:
      if (!t.live) {
        say_not_run_under_root({tls::p11_kit_remove(r.path)});
        return true;
      }
      return run_commands({tls::p11_kit_remove(r.path)}, "rp trust");
    case TrustRecord::Kind::file: {
      if (!fs::exists(at, ec)) {
        fmt::print("{} is already gone\n", at.string());
        return true;
      }
      auto text = read_text_file(at);
      auto held = text ? tls::identify_ca(*text) : std::nullopt;
      if (!held || held->id != r.id) {
        say_error(
            fmt::format("{} is no longer the CA rp wrote there, so rp leaves it — remove it "
                        "yourself if it is not needed",
                        at.string()));
        return false;
      }
      if (!fs::remove(at, ec)) {
        say_error(fmt::format("cannot remove {}: {}", at.string(), ec.message()));
        return false;
      }
      fmt::print("removed {}\n", at.string());
      if (auto system = tls::system_store_of(r.path); system && !system->p11_kit()) {
        if (std::find(commands.begin(), commands.end(), system->update) == commands.end()) {
          commands.push_back(system->update);
        }
      }
      return true;
    }
  }
  return false;
}

bool run_system_commands(const TrustTarget& t, const std::vector<Command>& commands) {
  if (t.live) return run_commands(commands, "rp trust");
  say_not_run_under_root(commands);
  return true;
}

}  // namespace

TrustTarget trust_target(const ForUser& who, const fs::path& root, bool live) {
  return {root, live, who.user, rp_home(who.env) / "ca", who.config.tlds};
}

bool show_trust(const TrustTarget& t) {
  auto ca = open_ca(t);
  if (!ca) return false;
  auto s = survey(t, &*ca, true);
  fmt::print("rp's CA: {}, named \"{}\" in the trust stores.\n", (t.ca_dir / "rp-ca.pem").string(),
             tls::nickname(ca->id));
  if (s.stores.empty()) {
    fmt::print(
        "rp trust finds no trust store here: no system store it knows, and no NSS "
        "database in {}.\n",
        shown(t, t.user.home));
    return true;
  }
  for (const auto& step : tls::plan_trust(s.stores, s.system)) {
    fmt::print("  {}: {} — {}\n", step.store.name, shown(t, step.store.path), step.says);
  }
  const bool nss = std::any_of(s.stores.begin(), s.stores.end(),
                               [](const Store& x) { return x.kind == Store::Kind::nss; });
  if (nss && !s.certutil) fmt::print("{}.\n", kNoCertutil);
  return true;
}

bool apply_trust(const TrustTarget& t) {
  auto manifest = read_manifest(t);
  if (!manifest) return false;
  auto ca = open_ca(t);
  if (!ca) return false;
  auto s = survey(t, &*ca, true);
  const auto recorded = manifest->records.size();
  Applier applier(t, *ca, *manifest);
  bool ok = true;
  bool skipped_nss = false;
  for (const auto& step : tls::plan_trust(s.stores, s.system)) {
    if (step.store.kind == Store::Kind::nss && !s.certutil) {
      // The database Chromium would make is not missed yet; the ones that exist are.
      skipped_nss = true;
      ok = ok && step.store.has == Store::Has::missing;
      continue;
    }
    ok = applier.run(step, s.system) && ok;
  }
  if (skipped_nss) say_error(kNoCertutil);
  if (s.stores.empty()) {
    fmt::print(
        "rp trust finds no trust store here: no system store it knows, and no NSS "
        "database in {}.\n",
        shown(t, t.user.home));
  }
  if (manifest->records.size() != recorded) ok = write_manifest(t, *manifest) && ok;
  ok = run_system_commands(t, applier.commands) && ok;
  if (manifest->records.size() != recorded) {
    fmt::print(
        "Browsers read their trust stores when they start: restart them. "
        "rp doctor checks each store.\n");
  }
  return ok;
}

bool undo_trust(const TrustTarget& t) {
  const auto manifest_path = under_root(t.root, tls::kTrustManifestPath);
  std::error_code ec;
  if (!fs::exists(manifest_path, ec)) {
    fmt::print("nothing to undo: there is no {} (rp trust --apply has added nothing here)\n",
               manifest_path.string());
    return true;
  }
  auto manifest = read_manifest(t);
  if (!manifest) return false;
  const bool has_certutil = find_program("certutil").has_value();
  tls::TrustManifest left;
  std::vector<std::string> dirs;
  std::vector<Command> commands;
  const bool has_nss = std::any_of(manifest->records.begin(), manifest->records.end(), [](auto& r) {
    return r.kind == TrustRecord::Kind::nss || r.kind == TrustRecord::Kind::nss_made;
  });
  if (has_nss && !has_certutil) say_error(kNoCertutil);
  for (auto it = manifest->records.rbegin(); it != manifest->records.rend(); ++it) {
    if (it->kind == TrustRecord::Kind::dir) {
      dirs.insert(dirs.begin(), it->path);
    } else if (!undo_record(t, *it, has_certutil, commands)) {
      left.records.insert(left.records.begin(), *it);
    }
  }
  bool ok = run_system_commands(t, commands);
  if (!left.records.empty()) {
    // Kept for another --undo, with the directories that hold what is left.
    for (const auto& d : dirs) left.records.push_back({TrustRecord::Kind::dir, "", d});
    std::string error;
    if (!write_system_file(manifest_path, tls::render_trust_manifest(left), error)) {
      say_error(error);
    }
    fmt::print("{} keeps what is left, for another rp trust --undo\n", manifest_path.string());
    return false;
  }
  if (fs::remove(manifest_path, ec)) fmt::print("removed {}\n", manifest_path.string());
  std::vector<std::string> done;
  remove_empty_dirs(t.root, dirs, done);
  for (const auto& line : done) fmt::print("{}\n", line);
  return ok;
}

std::vector<TrustStatus> trust_status(const TrustTarget& t) {
  auto text = read_text_file(t.ca_dir / "rp-ca.pem");
  auto ca = text ? tls::identify_ca(*text) : std::nullopt;
  auto s = survey(t, ca ? &*ca : nullptr, false);
  const std::string fix = "sudo rp trust --apply (rp trust alone shows what it changes)";
  std::vector<TrustStatus> out;
  for (const auto& store : s.stores) {
    const auto where = fmt::format("{} {}", store.name, shown(t, store.path));
    if (store.has == Store::Has::unknown) {
      out.push_back({false, fmt::format("{}: cannot tell ({})", where, store.note),
                     "sudo apt install libnss3-tools (it has certutil)"});
    } else if (store.has != Store::Has::yes) {
      out.push_back({false, where + ": not yet trusted", fix});
    } else if (store.kind == Store::Kind::system_file && !bundled(t, *s.system, *ca)) {
      out.push_back({false,
                     fmt::format("{}: the file is there, but {} does not include it yet", where,
                                 shown(t, s.system->bundle)),
                     "sudo " + command_text(s.system->update)});
    } else {
      out.push_back({true, where + ": trusted", ""});
    }
  }
  return out;
}

int trust(const TrustArgs& args) {
  auto who = load_for_invoking_user();
  if (!who) return 1;
  const bool live = !args.root;
  auto root = target_root(args.root, "rp trust");
  if (!root) return 1;
  const char* action = args.undo ? "--undo" : "--apply";
  if ((args.apply || args.undo) && !may_change_system(live, "trust", action)) return 1;
  const auto target = trust_target(*who, *root, live);
  if (args.undo) return undo_trust(target) ? 0 : 1;
  if (args.apply) return apply_trust(target) ? 0 : 1;
  if (!show_trust(target)) return 1;
  fmt::print(
      "\nNothing was changed. To make these changes: sudo rp trust --apply "
      "(sudo rp trust --undo takes them back).\n");
  return 0;
}

}  // namespace rp::cmd
