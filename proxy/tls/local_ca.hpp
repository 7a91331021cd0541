// rp's certificate authority as it lives in RP_HOME/ca/: rp-ca.pem (the certificate, the file
// users and `rp trust` install) and rp-ca.key (mode 0600, never copied anywhere), made on the
// first start; bundle.pem, the system's CAs followed by rp's, for the tools that trust one file
// only (OpenSSL's SSL_CERT_FILE, Python requests' REQUESTS_CA_BUNDLE); and the leaf certificates
// it signs, kept in memory and in RP_HOME/ca/certs/ (certificate and key in one file, mode 0600),
// renewed when fewer than 30 days remain or when they were signed by another CA (RP_HOME/ca was
// made anew).
//
// Which certificate a handshake gets (the app of an SNI name) is the listener's to decide; this
// makes and keeps them.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "proxy/tls/certificates.hpp"

namespace rp::tls {

class LocalCa {
 public:
  // A leaf with fewer days than this left is made anew.
  static constexpr auto kRenewBefore = std::chrono::hours(24 * 30);

  // Loads the CA from `dir`, or makes it there (for `tlds`) when there is none. nullopt and
  // `error` when its files are damaged or cannot be read or written. A damaged CA is never
  // replaced on its own: browsers may trust it, and the user decides.
  // bundle.pem is written anew whenever it is not `system_bundle`'s certificates followed by
  // rp's (the system's CAs were updated, or the CA was made anew).
  static std::optional<LocalCa> open(
      const std::filesystem::path& dir, const std::vector<std::string>& tlds, std::string& error,
      const std::filesystem::path& system_bundle = system_bundle_file());

  // The CA in `dir` as it is, for a check (rp doctor): loaded and checked (warnings()), nothing
  // written, nothing made. nullopt and `error` when it is missing or damaged.
  static std::optional<LocalCa> inspect(const std::filesystem::path& dir,
                                        const std::vector<std::string>& tlds, std::string& error);

  // OpenSSL's own default CA file (/usr/lib/ssl/cert.pem, the system's bundle on Debian), not the
  // one SSL_CERT_FILE names: in a process rp started, that is bundle.pem itself.
  static std::filesystem::path system_bundle_file();

  const std::filesystem::path& certificate_file() const { return certificate_file_; }
  // RP_HOME/ca/bundle.pem; empty when it could not be written (warnings() says why).
  const std::filesystem::path& bundle_file() const { return bundle_file_; }
  // What is wrong but does not stop HTTPS: a key others may read or another user owns, TLDs
  // configured since the CA was made (names there cannot be vouched for).
  struct Warning {
    std::string what;
    std::string fix;
  };
  const std::vector<Warning>& warnings() const { return warnings_; }
  const KeyPair& authority() const { return authority_; }

  // The certificate for an app's name ("shop.test"): it covers the name and every name one
  // label below it (*.shop.test: its processes and wildcard subdomains).
  std::optional<KeyPair> for_app(const std::string& name, std::string& error);
  // The certificate for a handshake that names nothing: localhost, 127.0.0.1 and ::1.
  std::optional<KeyPair> for_loopback(std::string& error);

 private:
  LocalCa(std::filesystem::path dir, KeyPair authority);
  static std::optional<LocalCa> load_or_make(const std::filesystem::path& dir,
                                             const std::vector<std::string>& tlds,
                                             std::string& error);
  // Fills warnings_ for a CA loaded from disk.
  void check(const std::filesystem::path& key_path, const std::vector<std::string>& tlds);
  // Makes bundle.pem what it should be, and bundle_file_ its path, or a warning.
  void write_bundle(const std::filesystem::path& system_bundle);
  std::optional<KeyPair> leaf(const std::string& file, const LeafRequest& request,
                              std::string& error);
  bool current(const KeyPair& leaf) const;

  std::filesystem::path dir_;
  std::filesystem::path certificate_file_;
  std::filesystem::path bundle_file_;
  KeyPair authority_;
  std::map<std::string, KeyPair> leaves_;  // by file name
  std::vector<Warning> warnings_;
};

}  // namespace rp::tls
