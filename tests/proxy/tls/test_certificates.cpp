// The local CA and its leaves, checked the way a TLS client checks them: OpenSSL's own chain
// verification, with the CA as the only trust anchor.
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "proxy/tls/certificates.hpp"

using namespace rp::tls;
using namespace std::chrono_literals;

namespace {

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
using Cert = std::unique_ptr<X509, X509Deleter>;

Cert parse(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  Cert cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return cert;
}

// The X509_V_ code a client gets for `leaf` when it trusts `ca` alone (0: it verifies).
int verify(const KeyPair& ca, const KeyPair& leaf) {
  Cert root = parse(ca.certificate);
  Cert cert = parse(leaf.certificate);
  REQUIRE(root);
  REQUIRE(cert);
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, root.get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, cert.get(), nullptr);
  const int ok = X509_verify_cert(ctx);
  const int code = ok == 1 ? 0 : X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return code;
}

KeyPair authority() {
  std::string error;
  auto ca = make_authority({"test", "localhost"}, error);
  INFO(error);
  REQUIRE(ca);
  return *ca;
}

KeyPair leaf(const KeyPair& ca, LeafRequest request) {
  std::string error;
  auto cert = make_leaf(ca, request, error);
  INFO(error);
  REQUIRE(cert);
  return *cert;
}

}  // namespace

TEST_CASE("the CA is a P-256 CA with pathlen 0 and critical name constraints") {
  const KeyPair ca = authority();
  Cert cert = parse(ca.certificate);
  REQUIRE(cert);
  CHECK(X509_check_ca(cert.get()) == 1);
  BASIC_CONSTRAINTS* bc = static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(cert.get(), NID_basic_constraints, nullptr, nullptr));
  REQUIRE(bc);
  CHECK(bc->ca);
  CHECK(ASN1_INTEGER_get(bc->pathlen) == 0);
  BASIC_CONSTRAINTS_free(bc);
  const int index = X509_get_ext_by_NID(cert.get(), NID_name_constraints, -1);
  REQUIRE(index >= 0);
  CHECK(X509_EXTENSION_get_critical(X509_get_ext(cert.get(), index)) == 1);
  EVP_PKEY* key = X509_get0_pubkey(cert.get());
  REQUIRE(key);
  CHECK(EVP_PKEY_is_a(key, "EC"));
  char group[64] = {};
  size_t len = 0;
  EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof group, &len);
  CHECK(std::string(group) == "prime256v1");
  CHECK(ca.key.find("PRIVATE KEY") != std::string::npos);
  // About ten years.
  auto until = not_after(ca.certificate);
  REQUIRE(until);
  const auto years =
      std::chrono::duration_cast<std::chrono::hours>(*until - std::chrono::system_clock::now())
          .count() /
      24 / 365;
  CHECK(years >= 9);
  CHECK(years <= 10);
}

TEST_CASE("a leaf for an app's names verifies against the CA and matches its host names") {
  const KeyPair ca = authority();
  const KeyPair shop = leaf(ca, {{"shop.test", "*.shop.test"}, {}, 397});
  CHECK(verify(ca, shop) == 0);
  Cert cert = parse(shop.certificate);
  CHECK(X509_check_host(cert.get(), "shop.test", 0, 0, nullptr) == 1);
  CHECK(X509_check_host(cert.get(), "web.shop.test", 0, 0, nullptr) == 1);
  CHECK(X509_check_host(cert.get(), "shop.localhost", 0, 0, nullptr) == 0);
  CHECK(X509_check_ca(cert.get()) == 0);
}

TEST_CASE("the loopback leaf covers localhost and both loopback addresses") {
  const KeyPair ca = authority();
  const KeyPair local = leaf(ca, {{"localhost"}, {"127.0.0.1", "::1"}, 397});
  CHECK(verify(ca, local) == 0);
  Cert cert = parse(local.certificate);
  CHECK(X509_check_ip_asc(cert.get(), "127.0.0.1", 0) == 1);
  CHECK(X509_check_ip_asc(cert.get(), "::1", 0) == 1);
  CHECK(X509_check_host(cert.get(), "localhost", 0, 0, nullptr) == 1);
}

TEST_CASE("the CA cannot vouch for a name outside rp's TLDs, nor for another address") {
  const KeyPair ca = authority();
  CHECK(verify(ca, leaf(ca, {{"example.com"}, {}, 30})) == X509_V_ERR_PERMITTED_VIOLATION);
  CHECK(verify(ca, leaf(ca, {{"shop.test", "bank.com"}, {}, 30})) ==
        X509_V_ERR_PERMITTED_VIOLATION);
  CHECK(verify(ca, leaf(ca, {{}, {"10.0.0.1"}, 30})) == X509_V_ERR_PERMITTED_VIOLATION);
  // "test" permits names below it, not names that merely end in the same letters.
  CHECK(verify(ca, leaf(ca, {{"contest"}, {}, 30})) == X509_V_ERR_PERMITTED_VIOLATION);
}

TEST_CASE("a configured TLD is permitted like the defaults") {
  std::string error;
  auto ca = make_authority({"dev.internal"}, error);
  REQUIRE(ca);
  CHECK(verify(*ca, leaf(*ca, {{"shop.dev.internal"}, {}, 30})) == 0);
  CHECK(verify(*ca, leaf(*ca, {{"shop.test"}, {}, 30})) == X509_V_ERR_PERMITTED_VIOLATION);
}

TEST_CASE("a leaf lives 397 days at most") {
  const KeyPair ca = authority();
  auto until = not_after(leaf(ca, {{"shop.test"}, {}, 5000}).certificate);
  REQUIRE(until);
  const auto days =
      std::chrono::duration_cast<std::chrono::hours>(*until - std::chrono::system_clock::now())
          .count() /
      24;
  CHECK(days >= 396);
  CHECK(days <= 397);
  auto short_lived = not_after(leaf(ca, {{"shop.test"}, {}, 30}).certificate);
  REQUIRE(short_lived);
  CHECK(*short_lived < *until);
}

TEST_CASE("bad input is an error, not a certificate") {
  const KeyPair ca = authority();
  std::string error;
  CHECK_FALSE(make_leaf(ca, {{}, {}, 30}, error));
  CHECK(error == "a certificate needs at least one name or address");
  CHECK_FALSE(make_leaf(ca, {{"shop.test,DNS:evil.com"}, {}, 30}, error));
  CHECK(error.find("not a name") != std::string::npos);
  CHECK_FALSE(make_leaf(ca, {{}, {"not-an-address"}, 30}, error));
  CHECK_FALSE(error.empty());
  CHECK_FALSE(make_leaf({"garbage", "garbage"}, {{"shop.test"}, {}, 30}, error));
  CHECK(error.find("cannot read the CA") != std::string::npos);
  CHECK_FALSE(make_authority({"te st"}, error));
  CHECK_FALSE(not_after("not a certificate"));
}

TEST_CASE("a key pair is whole only when the key is the certificate's own") {
  const KeyPair ca = authority();
  const KeyPair other = authority();
  CHECK(is_whole(ca));
  CHECK_FALSE(is_whole({ca.certificate, other.key}));
  CHECK_FALSE(is_whole({ca.certificate, "garbage"}));
  CHECK_FALSE(is_whole({"", ca.key}));
}

TEST_CASE("a certificate's fingerprint is the SHA-256 of its DER, as openssl x509 -fingerprint") {
  const KeyPair ca = authority();
  Cert cert = parse(ca.certificate);
  REQUIRE(cert);
  unsigned char* der = nullptr;
  const int size = i2d_X509(cert.get(), &der);
  REQUIRE(size > 0);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  REQUIRE(EVP_Digest(der, static_cast<std::size_t>(size), digest, &digest_size, EVP_sha256(),
                     nullptr) == 1);
  OPENSSL_free(der);
  std::string hex;
  for (unsigned int i = 0; i < digest_size; ++i) {
    char two[3];
    std::snprintf(two, sizeof two, "%02x", digest[i]);
    hex += two;
  }
  CHECK(fingerprint(ca.certificate) == hex);
  CHECK(fingerprint(ca.certificate)->size() == 64);
  CHECK(fingerprint(authority().certificate) != hex);
  CHECK_FALSE(fingerprint("not a certificate"));
}

TEST_CASE("a pair loads for OpenSSL's use, with its end, and a broken half does not load") {
  const KeyPair ca = authority();
  const KeyPair shop = leaf(ca, {{"shop.test", "*.shop.test"}, {}, 397});
  auto loaded = load_pair(shop);
  REQUIRE(loaded);
  CHECK(X509_check_host(loaded->certificate.get(), "web.shop.test", 0, 0, nullptr) == 1);
  CHECK(X509_check_private_key(loaded->certificate.get(), loaded->key.get()) == 1);
  CHECK(loaded->not_after == not_after(shop.certificate));
  CHECK_FALSE(load_pair({shop.certificate, "not a key"}));
  CHECK_FALSE(load_pair({"not a certificate", shop.key}));
}
