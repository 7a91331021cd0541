#include "proxy/tls/certificates.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <memory>

namespace rp::tls {
namespace {

constexpr int kAuthorityDays = 3650;
constexpr int kMaxLeafDays = 397;

// OpenSSL's objects, freed by their own functions.
template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO_free>>;
using Bignum = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using Extension = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;

// What OpenSSL says went wrong last, after `what`.
std::string openssl_error(const std::string& what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return what;
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return what + ": " + text;
}

Key new_p256_key() {
  return Key(EVP_EC_gen("P-256"));
}

// A random positive 159-bit serial number, as CAs give.
bool set_random_serial(X509* cert) {
  Bignum bn(BN_new());
  if (!bn || !BN_rand(bn.get(), 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY)) return false;
  return BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) != nullptr;
}

bool set_common_name(X509_NAME* name, const std::string& cn) {
  return X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                    reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                    0) == 1;
}

// One extension in OpenSSL's configuration syntax ("critical,CA:TRUE,pathlen:0").
bool add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  Extension ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

// A certificate with its validity, subject and public key set, issued by `issuer` (itself when
// null).
Cert new_certificate(const std::string& cn, EVP_PKEY* key, X509* issuer, int days) {
  Cert cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1 || !set_random_serial(cert.get())) return {};
  // A little in the past, so that a clock a few minutes behind still accepts it.
  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) ||
      !X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, nullptr)) {
    return {};
  }
  if (!set_common_name(X509_get_subject_name(cert.get()), cn)) return {};
  X509_NAME* issuer_name =
      issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(cert.get());
  if (X509_set_issuer_name(cert.get(), issuer_name) != 1) return {};
  if (X509_set_pubkey(cert.get(), key) != 1) return {};
  return cert;
}

std::optional<KeyPair> to_pem(X509* cert, EVP_PKEY* key) {
  Bio cert_bio(BIO_new(BIO_s_mem()));
  Bio key_bio(BIO_new(BIO_s_mem()));
  if (!cert_bio || !key_bio || PEM_write_bio_X509(cert_bio.get(), cert) != 1 ||
      PEM_write_bio_PrivateKey(key_bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return std::nullopt;
  }
  auto text = [](BIO* bio) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(n));
  };
  return KeyPair{text(cert_bio.get()), text(key_bio.get())};
}

// Signs `cert` with `signer`, then writes it and its own `key` as PEM; `what` names it in errors.
std::optional<KeyPair> sign_and_export(X509* cert, EVP_PKEY* key, EVP_PKEY* signer,
                                       const std::string& what, std::string& error) {
  if (X509_sign(cert, signer, EVP_sha256()) == 0) {
    error = openssl_error("cannot sign " + what);
    return std::nullopt;
  }
  auto pem = to_pem(cert, key);
  if (!pem) error = openssl_error("cannot write " + what + " as PEM");
  return pem;
}

Cert load_certificate(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return Cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

Key load_key(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return Key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

// Not empty, and nothing that would break the extension's syntax (a comma starts the next
// entry) or hide in it (spaces, control characters).
bool plain(const std::string& s) {
  return !s.empty() && std::none_of(s.begin(), s.end(), [](char c) {
    return c == ',' || static_cast<unsigned char>(c) <= ' ';
  });
}

}  // namespace

std::optional<KeyPair> make_authority(const std::vector<std::string>& tlds, std::string& error) {
  Key key = new_p256_key();
  if (!key) {
    error = openssl_error("cannot make an ECDSA P-256 key");
    return std::nullopt;
  }
  Cert cert = new_certificate("rp local CA", key.get(), nullptr, kAuthorityDays);
  if (!cert) {
    error = openssl_error("cannot make the CA certificate");
    return std::nullopt;
  }
  std::vector<std::string> names = tlds;
  names.push_back("localhost");
  std::string permitted;
  for (std::size_t k = 0; k < names.size(); ++k) {
    const std::string& name = names[k];
    if (!plain(name)) {
      error = "\"" + name + "\" is not a TLD rp can put in a certificate";
      return std::nullopt;
    }
    if (std::find(names.begin(), names.begin() + static_cast<long>(k), name) !=
        names.begin() + static_cast<long>(k)) {
      continue;  // said already
    }
    permitted += ",permitted;DNS:" + name;
  }
  permitted +=
      ",permitted;IP:127.0.0.0/255.0.0.0"
      ",permitted;IP:::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
  if (!add_extension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
      !add_extension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign") ||
      !add_extension(cert.get(), cert.get(), NID_subject_key_identifier, "hash") ||
      !add_extension(cert.get(), cert.get(), NID_name_constraints, "critical" + permitted)) {
    error = openssl_error("cannot set the CA's extensions");
    return std::nullopt;
  }
  return sign_and_export(cert.get(), key.get(), key.get(), "the CA certificate", error);
}

std::optional<KeyPair> make_leaf(const KeyPair& authority, const LeafRequest& request,
                                 std::string& error) {
  Cert ca = load_certificate(authority.certificate);
  Key ca_key = load_key(authority.key);
  if (!ca || !ca_key) {
    error = openssl_error("cannot read the CA's certificate or key");
    return std::nullopt;
  }
  std::string names;
  for (const auto& n : request.dns_names) {
    if (!plain(n)) {
      error = "\"" + n + "\" is not a name rp can put in a certificate";
      return std::nullopt;
    }
    names += (names.empty() ? "DNS:" : ",DNS:") + n;
  }
  for (const auto& a : request.addresses) {
    if (!plain(a)) {
      error = "\"" + a + "\" is not an address rp can put in a certificate";
      return std::nullopt;
    }
    names += (names.empty() ? "IP:" : ",IP:") + a;
  }
  if (names.empty()) {
    error = "a certificate needs at least one name or address";
    return std::nullopt;
  }
  Key key = new_p256_key();
  if (!key) {
    error = openssl_error("cannot make an ECDSA P-256 key");
    return std::nullopt;
  }
  const std::string cn =
      request.dns_names.empty() ? request.addresses.front() : request.dns_names.front();
  Cert cert = new_certificate(cn, key.get(), ca.get(), std::min(request.days, kMaxLeafDays));
  if (!cert) {
    error = openssl_error("cannot make the certificate");
    return std::nullopt;
  }
  if (!add_extension(cert.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !add_extension(cert.get(), ca.get(), NID_key_usage, "critical,digitalSignature") ||
      !add_extension(cert.get(), ca.get(), NID_ext_key_usage, "serverAuth") ||
      !add_extension(cert.get(), ca.get(), NID_authority_key_identifier, "keyid:always") ||
      !add_extension(cert.get(), ca.get(), NID_subject_alt_name, names)) {
    error = openssl_error("cannot set the certificate's names");
    return std::nullopt;
  }
  return sign_and_export(cert.get(), key.get(), ca_key.get(), "the certificate", error);
}

bool is_whole(const KeyPair& pair) {
  Cert cert = load_certificate(pair.certificate);
  Key key = load_key(pair.key);
  const bool ok = cert && key && X509_check_private_key(cert.get(), key.get()) == 1;
  ERR_clear_error();
  return ok;
}

bool signed_by(const std::string& certificate, const KeyPair& authority) {
  Cert cert = load_certificate(certificate);
  Cert ca = load_certificate(authority.certificate);
  if (!cert || !ca) return false;
  EVP_PKEY* ca_key = X509_get0_pubkey(ca.get());
  const bool ok = ca_key && X509_verify(cert.get(), ca_key) == 1;
  ERR_clear_error();
  return ok;
}

std::optional<std::string> fingerprint(const std::string& certificate) {
  Cert cert = load_certificate(certificate);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (!cert || X509_digest(cert.get(), EVP_sha256(), digest, &size) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

namespace {

std::optional<std::chrono::system_clock::time_point> end_of(const X509* cert) {
  struct tm when {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &when) != 1) return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&when));
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> not_after(const std::string& certificate) {
  Cert cert = load_certificate(certificate);
  if (!cert) return std::nullopt;
  return end_of(cert.get());
}

std::optional<LoadedPair> load_pair(const KeyPair& pair) {
  Cert cert = load_certificate(pair.certificate);
  Key key = load_key(pair.key);
  const auto until = cert ? end_of(cert.get()) : std::nullopt;
  if (!key || !until) {
    ERR_clear_error();
    return std::nullopt;
  }
  return LoadedPair{std::shared_ptr<X509>(cert.release(), X509_free),
                    std::shared_ptr<EVP_PKEY>(key.release(), EVP_PKEY_free), *until};
}

std::vector<std::string> permitted_names(const std::string& certificate) {
  std::vector<std::string> names;
  Cert cert = load_certificate(certificate);
  if (!cert) return names;
  auto* constraints = static_cast<NAME_CONSTRAINTS*>(
      X509_get_ext_d2i(cert.get(), NID_name_constraints, nullptr, nullptr));
  if (!constraints) return names;
  for (int i = 0; i < sk_GENERAL_SUBTREE_num(constraints->permittedSubtrees); ++i) {
    const GENERAL_SUBTREE* subtree = sk_GENERAL_SUBTREE_value(constraints->permittedSubtrees, i);
    if (subtree->base->type != GEN_DNS) continue;
    const ASN1_IA5STRING* name = subtree->base->d.dNSName;
    names.emplace_back(reinterpret_cast<const char*>(name->data), name->length);
  }
  NAME_CONSTRAINTS_free(constraints);
  return names;
}

}  // namespace rp::tls
