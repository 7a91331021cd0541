#include "proxy/tls/trust_stores.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <system_error>

#include "proxy/tls/certificates.hpp"
#include "supervisor/project/text.hpp"
#include "supervisor/state/root_files.hpp"

namespace rp::tls {
namespace {

namespace fs = std::filesystem;

// The distributions' layouts, in the order they are tried. Fedora's directory comes first: a
// Fedora machine may have an empty /usr/local/share/ca-certificates that nothing reads.
const std::vector<SystemStore>& layouts() {
  static const std::vector<SystemStore> known{
      {"Fedora/RHEL",
       "/etc/pki/ca-trust/source/anchors",
       ".pem",
       {"update-ca-trust", "extract"},
       "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"},
      {"Debian/Ubuntu",
       "/usr/local/share/ca-certificates",
       ".crt",
       {"update-ca-certificates"},
       "/etc/ssl/certs/ca-certificates.crt"},
      {"Arch",
       "/etc/ca-certificates/trust-source/anchors",
       ".crt",
       {"update-ca-trust"},
       "/etc/ca-certificates/extracted/tls-ca-bundle.pem"},
      {"openSUSE",
       "/usr/share/pki/trust/anchors",
       ".pem",
       {"update-ca-certificates"},
       "/var/lib/ca-certificates/ca-bundle.pem"},
  };
  return known;
}

// p11-kit alone: rp keeps the copy it hands to `trust anchor` beside its manifest.
const SystemStore kP11Kit{"p11-kit", "/var/lib/rp", ".pem", {}, ""};

const char* const kBinDirs[] = {"/usr/sbin", "/usr/bin", "/sbin", "/bin"};

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

bool has_program(const fs::path& root, const std::string& name) {
  return std::any_of(std::begin(kBinDirs), std::end(kBinDirs), [&](const char* dir) {
    return is_file(root / fs::path(dir).relative_path() / name);
  });
}

std::string sql(const fs::path& db) {
  return "sql:" + db.string();
}

// The profiles (directories with cert9.db) one level below `dir`, by name.
std::vector<std::string> profiles_in(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_directory(ec) && is_file(entry.path() / "cert9.db")) {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

const char* kind_word(TrustRecord::Kind kind) {
  switch (kind) {
    case TrustRecord::Kind::dir:
      return "dir";
    case TrustRecord::Kind::file:
      return "file";
    case TrustRecord::Kind::p11_kit:
      return "p11-kit";
    case TrustRecord::Kind::nss:
      return "nss";
    case TrustRecord::Kind::nss_made:
      return "nss-made";
  }
  return "";
}

bool is_id(std::string_view s) {
  return s.size() == 16 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

std::optional<CaIdentity> identify_ca(const std::string& certificate) {
  auto hex = fingerprint(certificate);
  if (!hex) return std::nullopt;
  return CaIdentity{certificate, hex->substr(0, 16)};
}

std::string nickname(std::string_view id) {
  return fmt::format("rp local CA {}", id);
}

std::string SystemStore::file_for(std::string_view id) const {
  return fmt::format("{}/rp-ca-{}{}", anchors_dir, id, extension);
}

std::optional<SystemStore> find_system_store(const fs::path& root) {
  for (const auto& layout : layouts()) {
    if (is_dir(root / fs::path(layout.anchors_dir).relative_path())) return layout;
  }
  for (const auto& layout : layouts()) {
    if (has_program(root, layout.update.front())) return layout;
  }
  if (has_program(root, "trust")) return kP11Kit;
  return std::nullopt;
}

std::optional<SystemStore> system_store_of(std::string_view file) {
  const auto dir = fs::path(file).parent_path().string();
  for (const auto& layout : layouts()) {
    if (layout.anchors_dir == dir) return layout;
  }
  if (dir == kP11Kit.anchors_dir) return kP11Kit;
  return std::nullopt;
}

bool bundle_holds(std::string_view bundle, std::string_view certificate) {
  auto squeeze = [](std::string_view text) {
    std::string out;
    for (char c : text) {
      if (c != '\n' && c != '\r' && c != ' ' && c != '\t') out += c;
    }
    return out;
  };
  // The base64 between the BEGIN and END lines.
  const std::string cert = squeeze(certificate);
  constexpr std::string_view kBegin = "-----BEGINCERTIFICATE-----";
  constexpr std::string_view kEnd = "-----ENDCERTIFICATE-----";
  const auto begin = cert.find(kBegin);
  const auto end = cert.find(kEnd);
  if (begin == std::string::npos || end == std::string::npos || end <= begin + kBegin.size()) {
    return false;
  }
  const auto body = cert.substr(begin + kBegin.size(), end - begin - kBegin.size());
  return squeeze(bundle).find(body) != std::string::npos;
}

Command p11_kit_store(const std::string& file) {
  return {"trust", "anchor", "--store", file};
}

Command p11_kit_remove(const std::string& file) {
  return {"trust", "anchor", "--remove", file};
}

std::vector<NssDb> find_nss_dbs(const fs::path& root, const std::string& home) {
  std::vector<NssDb> dbs;
  const fs::path at = root / fs::path(home).relative_path();
  if (home.empty() || !is_dir(at)) return dbs;
  auto on_target = [&](const std::string& rel) { return (fs::path(home) / rel).string(); };

  // Chromium and Chrome read ~/.pki/nssdb when it is there, and make it at their first start
  // when it is not: made beforehand, it serves a browser started (or installed) later too.
  dbs.push_back({"Chromium", on_target(".pki/nssdb"), is_file(at / ".pki/nssdb/cert9.db")});
  const std::pair<const char*, const char*> shared[] = {
      {"NSS shared database", ".local/share/pki/nssdb"},
      {"Chromium (Snap)", "snap/chromium/current/.pki/nssdb"},
      {"Chromium (Flatpak)", ".var/app/org.chromium.Chromium/.pki/nssdb"},
      {"Chrome (Flatpak)", ".var/app/com.google.Chrome/.pki/nssdb"},
  };
  for (const auto& [browser, rel] : shared) {
    if (is_file(at / rel / "cert9.db")) dbs.push_back({browser, on_target(rel), true});
  }
  const std::pair<const char*, const char*> firefoxes[] = {
      {"Firefox", ".mozilla/firefox"},
      {"Firefox", ".config/mozilla/firefox"},
      {"Firefox (Snap)", "snap/firefox/common/.mozilla/firefox"},
      {"Firefox (Flatpak)", ".var/app/org.mozilla.firefox/.mozilla/firefox"},
  };
  for (const auto& [browser, rel] : firefoxes) {
    for (const auto& profile : profiles_in(at / rel)) {
      dbs.push_back({fmt::format("{} profile {}", browser, profile),
                     on_target(fmt::format("{}/{}", rel, profile)), true});
    }
  }
  return dbs;
}

Command certutil_list(const fs::path& db, std::string_view id) {
  return {"certutil", "-L", "-d", sql(db), "-n", nickname(id)};
}

Command certutil_add(const fs::path& db, std::string_view id) {
  // "C,,": a CA trusted to issue server certificates (not e-mail or code signing ones).
  return {"certutil", "-A", "-d", sql(db), "-t", "C,,", "-n", nickname(id)};
}

Command certutil_delete(const fs::path& db, std::string_view id) {
  return {"certutil", "-D", "-d", sql(db), "-n", nickname(id)};
}

Command certutil_create(const fs::path& db) {
  // As Chromium makes it: no password, so that browsers open it without asking.
  return {"certutil", "-N", "--empty-password", "-d", sql(db)};
}

Command certutil_list_all(const fs::path& db) {
  return {"certutil", "-L", "-d", sql(db)};
}

Command certutil_list_keys(const fs::path& db) {
  return {"certutil", "-K", "-d", sql(db)};
}

bool certutil_not_found(std::string_view output) {
  return output.find("Could not find cert") != std::string_view::npos;
}

bool certutil_lists_none(std::string_view output) {
  // The header is two lines ("Certificate Nickname … Trust Attributes", "SSL,S/MIME,JAR/XPI");
  // each certificate is a line of its own after them.
  int lines = 0;
  for (auto line : split_lines(output)) {
    if (!trim(line).empty()) ++lines;
  }
  return lines <= 2;
}

std::vector<Step> plan_trust(const std::vector<Store>& stores,
                             const std::optional<SystemStore>& system) {
  std::vector<Step> steps;
  for (const auto& store : stores) {
    Step step{store, Action::nothing, ""};
    switch (store.has) {
      case Store::Has::yes:
        step.says = "rp's CA is there already";
        break;
      case Store::Has::other:
        step.action = Action::leave;
        step.says = "a file that is not rp's CA is at this path; rp leaves it alone";
        break;
      case Store::Has::unknown:
        step.action = Action::cannot;
        step.says = "rp cannot look at it or change it: " + store.note;
        break;
      case Store::Has::missing:
        step.action = Action::create_and_add;
        step.says =
            "make the database (certutil -N --empty-password, as Chromium does), and add "
            "rp's CA to it";
        break;
      case Store::Has::no:
        step.action = Action::add;
        if (store.kind == Store::Kind::nss) {
          step.says = "add rp's CA (certutil -A, trusted to identify web sites)";
        } else if (store.kind == Store::Kind::p11_kit) {
          step.says = "copy rp's CA here, and trust anchor --store it";
        } else {
          std::string update;
          for (const auto& word : system ? system->update : Command{}) {
            update += (update.empty() ? "" : " ") + word;
          }
          step.says = fmt::format("write rp's CA, then run {}", update);
        }
        break;
    }
    steps.push_back(std::move(step));
  }
  return steps;
}

std::string render_trust_manifest(const TrustManifest& manifest) {
  std::string out =
      "# What `rp trust --apply` added; `rp trust --undo` removes exactly this. Keep it.\n";
  for (const auto& r : manifest.records) {
    if (r.kind == TrustRecord::Kind::dir) {
      out += fmt::format("dir {}\n", r.path);
    } else {
      out += fmt::format("{} {} {}\n", kind_word(r.kind), r.id, r.path);
    }
  }
  return out;
}

std::optional<TrustManifest> parse_trust_manifest(std::string_view text, std::string& error) {
  TrustManifest manifest;
  for (auto [n, line, word, rest] : manifest_lines(text)) {
    std::optional<TrustRecord::Kind> kind;
    for (auto k : {TrustRecord::Kind::dir, TrustRecord::Kind::file, TrustRecord::Kind::p11_kit,
                   TrustRecord::Kind::nss, TrustRecord::Kind::nss_made}) {
      if (word == kind_word(k)) kind = k;
    }
    TrustRecord record;
    if (kind) {
      record.kind = *kind;
      if (*kind != TrustRecord::Kind::dir) {
        auto id_end = rest.find(' ');
        record.id = std::string(rest.substr(0, id_end));
        rest = id_end == std::string_view::npos ? std::string_view{} : rest.substr(id_end + 1);
      }
      // A path is the rest of the line: a home or a profile may have spaces in its name.
      record.path = std::string(rest);
    }
    if (!kind || !record.path.starts_with("/") ||
        (*kind != TrustRecord::Kind::dir && !is_id(record.id))) {
      error = fmt::format("line {} is not one rp trust writes: '{}'", n, line);
      return std::nullopt;
    }
    manifest.records.push_back(std::move(record));
  }
  return manifest;
}

}  // namespace rp::tls
