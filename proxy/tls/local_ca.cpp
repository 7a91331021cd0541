#include "proxy/tls/local_ca.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/x509.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <system_error>

#include "supervisor/project/text.hpp"
#include "supervisor/state/state_files.hpp"

namespace fs = std::filesystem;

namespace rp::tls {
namespace {

constexpr std::string_view kKeyBegin = "-----BEGIN PRIVATE KEY-----";

// A leaf's file: its certificate, then its key.
std::optional<KeyPair> split_leaf(const std::string& text) {
  const auto at = text.find(kKeyBegin);
  if (at == std::string::npos) return std::nullopt;
  return KeyPair{text.substr(0, at), text.substr(at)};
}

// Anyone may read a certificate file (it is what gets trusted); keys stay 0600.
void make_public(const fs::path& path) {
  std::error_code ec;
  fs::permissions(path,
                  fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                      fs::perms::others_read,
                  ec);
}

// Held while the CA is loaded or made: `rp run` and a daemon that starts meanwhile may both find
// no CA, and two made at once could leave the key of one beside the certificate of the other.
// Best effort: a directory rp may not write to is read without it.
class DirLock {
 public:
  explicit DirLock(const fs::path& dir) {
    std::string ignored;
    if (!make_private_dirs(dir, ignored)) return;
    fd_ = ::open((dir / "rp-ca.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ >= 0) ::flock(fd_, LOCK_EX);
  }
  ~DirLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace

void LocalCa::check(const fs::path& key_path, const std::vector<std::string>& tlds) {
  struct stat st {};
  if (::stat(key_path.c_str(), &st) == 0) {
    if ((st.st_mode & 077) != 0) {
      warnings_.push_back(
          {fmt::format("{}: the CA's key may be read by others (mode {:04o})", key_path.string(),
                       st.st_mode & 07777),
           fmt::format("chmod 600 {}; if others did read it, remove {} to have a new CA made, "
                       "and run `rp trust --apply` again",
                       key_path.string(), dir_.string())});
    }
    if (st.st_uid != ::geteuid()) {
      warnings_.push_back(
          {fmt::format("{}: the CA's key belongs to uid {}, not to this user (uid {})",
                       key_path.string(), st.st_uid, ::geteuid()),
           fmt::format("chown it, or remove {} to have a new CA made", dir_.string())});
    }
  }
  const auto permitted = permitted_names(authority_.certificate);
  std::string missing;
  for (const auto& tld : tlds) {
    if (std::find(permitted.begin(), permitted.end(), tld) == permitted.end()) {
      missing += (missing.empty() ? "." : ", .") + tld;
    }
  }
  if (!missing.empty()) {
    warnings_.push_back(
        {fmt::format("{}: rp's CA was made before {} became one of rp's TLDs and cannot vouch for "
                     "names there",
                     certificate_file_.string(), missing),
         fmt::format("remove {} to have a new CA made at the next start, then run `rp trust "
                     "--apply` again",
                     dir_.string())});
  }
}

LocalCa::LocalCa(fs::path dir, KeyPair authority)
    : dir_(std::move(dir)),
      certificate_file_(dir_ / "rp-ca.pem"),
      authority_(std::move(authority)) {}

fs::path LocalCa::system_bundle_file() {
  return X509_get_default_cert_file();
}

std::optional<LocalCa> LocalCa::open(const fs::path& dir, const std::vector<std::string>& tlds,
                                     std::string& error, const fs::path& system_bundle) {
  DirLock lock(dir);
  auto ca = load_or_make(dir, tlds, error);
  if (ca) ca->write_bundle(system_bundle);
  return ca;
}

std::optional<LocalCa> LocalCa::inspect(const fs::path& dir, const std::vector<std::string>& tlds,
                                        std::string& error) {
  const fs::path cert_path = dir / "rp-ca.pem";
  const fs::path key_path = dir / "rp-ca.key";
  auto cert = read_text_file(cert_path);
  auto key = read_text_file(key_path);
  KeyPair authority{cert.value_or(""), key.value_or("")};
  if (!is_whole(authority)) {
    error = (dir / "rp-ca.*").string() +
            ": rp's CA is incomplete or damaged — remove the directory to have a new CA made "
            "at the next start (and run `rp trust --apply` again)";
    return std::nullopt;
  }
  LocalCa ca(dir, std::move(authority));
  ca.check(key_path, tlds);
  return ca;
}

std::optional<LocalCa> LocalCa::load_or_make(const fs::path& dir,
                                             const std::vector<std::string>& tlds,
                                             std::string& error) {
  const fs::path cert_path = dir / "rp-ca.pem";
  const fs::path key_path = dir / "rp-ca.key";
  std::error_code ec;
  if (fs::exists(cert_path, ec) || fs::exists(key_path, ec)) return inspect(dir, tlds, error);
  auto made = make_authority(tlds, error);
  if (!made) return std::nullopt;
  // The key first: a certificate without its key would be a damaged CA at the next start.
  if (!write_file_atomically(key_path, made->key, error) ||
      !write_file_atomically(cert_path, made->certificate, error)) {
    return std::nullopt;
  }
  make_public(cert_path);
  return LocalCa(dir, std::move(*made));
}

void LocalCa::write_bundle(const fs::path& system_bundle) {
  const fs::path path = dir_ / "bundle.pem";
  // No system bundle (a minimal container) leaves rp's CA alone in it.
  std::string wanted = read_text_file(system_bundle).value_or("");
  if (!wanted.empty() && wanted.back() != '\n') wanted += '\n';
  wanted += authority_.certificate;
  if (read_text_file(path) != wanted) {
    std::string error;
    if (!write_file_atomically(path, wanted, error)) {
      warnings_.push_back(
          {fmt::format("{}: processes get no SSL_CERT_FILE or REQUESTS_CA_BUNDLE from rp", error),
           fmt::format("make {} writable and restart the daemon", dir_.string())});
      return;
    }
    make_public(path);
  }
  bundle_file_ = path;
}

std::optional<KeyPair> LocalCa::for_app(const std::string& name, std::string& error) {
  return leaf(name + ".pem", {{name, "*." + name}, {}, 397}, error);
}

std::optional<KeyPair> LocalCa::for_loopback(std::string& error) {
  return leaf("localhost.pem", {{"localhost"}, {"127.0.0.1", "::1"}, 397}, error);
}

bool LocalCa::current(const KeyPair& leaf) const {
  auto until = not_after(leaf.certificate);
  return until && *until - std::chrono::system_clock::now() > kRenewBefore &&
         signed_by(leaf.certificate, authority_);
}

std::optional<KeyPair> LocalCa::leaf(const std::string& file, const LeafRequest& request,
                                     std::string& error) {
  if (auto it = leaves_.find(file); it != leaves_.end() && current(it->second)) return it->second;
  const fs::path path = dir_ / "certs" / file;
  if (auto text = read_text_file(path)) {
    if (auto kept = split_leaf(*text); kept && current(*kept)) {
      leaves_[file] = *kept;
      return kept;
    }
  }
  auto made = make_leaf(authority_, request, error);
  if (!made) return std::nullopt;
  // A leaf that cannot be kept on disk still serves: it is made again at the next start.
  std::string ignored;
  // A cache: a leaf lost in a crash is made again (so no fsync, which would cost milliseconds).
  write_file_atomically(path, made->certificate + made->key, ignored, Durability::cache);
  leaves_[file] = *made;
  return made;
}

}  // namespace rp::tls
