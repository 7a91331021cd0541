// The certificates of rp's local HTTPS, made with OpenSSL's own API (no `openssl` command): a
// certificate authority that can only vouch for rp's names, and the leaf certificates it signs.
//
// The CA is ECDSA P-256, valid 10 years, `CA:TRUE, pathlen:0`, with a critical nameConstraints
// that permits only rp's TLDs, `localhost` and the loopback addresses: a leaked key cannot mint a
// certificate that a browser would accept for a real site. Leaves are ECDSA P-256 too, valid 397
// days at most (what browsers accept), for the names and addresses they are given.
//
// Pure values in, PEM text out: nothing here reads or writes files, so it is tested without a
// home directory, and errors are values (OpenSSL's reason, in a sentence).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct x509_st;      // OpenSSL's X509
struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace rp::tls {

// A certificate and its private key, both PEM.
struct KeyPair {
  std::string certificate;
  std::string key;
};

// A new CA for `tlds` ("test", "localhost"...): its certificate permits those names and every
// name below them, `localhost`, 127.0.0.0/8 and ::1. nullopt and `error` when OpenSSL fails.
std::optional<KeyPair> make_authority(const std::vector<std::string>& tlds, std::string& error);

struct LeafRequest {
  std::vector<std::string> dns_names;  // "shop.test", "*.shop.test"
  std::vector<std::string> addresses;  // "127.0.0.1", "::1"
  int days = 397;                      // at most 397
};

// A leaf for `request`, signed by `authority`. nullopt and `error` when the authority's PEM does
// not load, a name or address is malformed, or OpenSSL fails.
std::optional<KeyPair> make_leaf(const KeyPair& authority, const LeafRequest& request,
                                 std::string& error);

// Whether both halves of `pair` load and the key is the certificate's own.
bool is_whole(const KeyPair& pair);

// Whether `certificate` (PEM) carries a valid signature of `authority`'s key.
bool signed_by(const std::string& certificate, const KeyPair& authority);

// The SHA-256 fingerprint of a PEM certificate (of its DER bytes), in lower-case hex: what names
// a CA in the trust stores (`rp trust`). nullopt when it does not parse.
std::optional<std::string> fingerprint(const std::string& certificate);

// A pair as OpenSSL uses it (a TLS context's leaves): parsed once, freed with its last copy.
struct LoadedPair {
  std::shared_ptr<x509_st> certificate;
  std::shared_ptr<evp_pkey_st> key;
  std::chrono::system_clock::time_point not_after;
};

// `pair` parsed; nullopt when either half does not parse.
std::optional<LoadedPair> load_pair(const KeyPair& pair);

// When a PEM certificate stops being valid; nullopt when it does not parse.
std::optional<std::chrono::system_clock::time_point> not_after(const std::string& certificate);

// The DNS names a CA's nameConstraints permits ("test", "localhost"); empty when it has none.
std::vector<std::string> permitted_names(const std::string& certificate);

}  // namespace rp::tls
