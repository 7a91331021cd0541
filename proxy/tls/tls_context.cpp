#include "proxy/tls/tls_context.hpp"

#include <openssl/ssl.h>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <set>

#include "proxy/tls/sni.hpp"

namespace asio = boost::asio;

namespace rp::tls {
namespace {

using SystemClock = std::chrono::system_clock;

// The protocols rp speaks over TLS, in ALPN's wire format, best first.
constexpr unsigned char kProtocols[] = "\x02h2\x08http/1.1";

// The protocols a handshake may choose by ALPN; set on every context a handshake may end on.
int on_alpn(SSL*, const unsigned char** out, unsigned char* out_size, const unsigned char* offered,
            unsigned int offered_size, void*) {
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, out_size, kProtocols, sizeof kProtocols - 1, offered,
                            offered_size) != OPENSSL_NPN_NEGOTIATED) {
    // Nothing in common: go on without ALPN, which means HTTP/1.1.
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

// Resumption is keyed by this, on the listener's context and every leaf's alike.
constexpr unsigned char kSessionContext[] = "rp";

// A leaf as a handshake takes it: an OpenSSL context of its own holding the certificate and key,
// which the server-name callback moves the connection to (SSL_set_SSL_CTX takes a reference;
// SSL_use_certificate and SSL_use_PrivateKey would check the pair again on every handshake, ten
// times the cost). Resumption and the rest of the settings stay the listener's: OpenSSL keeps
// the context a connection began on for its sessions and tickets, and copied the options, the
// versions and the ciphers when the connection was made. ALPN is read from the current context.
struct Leaf {
  std::shared_ptr<SSL_CTX> context;
  SystemClock::time_point not_after;
};

std::optional<Leaf> leaf_of(const LoadedPair& pair) {
  std::shared_ptr<SSL_CTX> context(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!context || SSL_CTX_use_certificate(context.get(), pair.certificate.get()) != 1 ||
      SSL_CTX_use_PrivateKey(context.get(), pair.key.get()) != 1) {
    return std::nullopt;
  }
  SSL_CTX_set_session_id_context(context.get(), kSessionContext, sizeof kSessionContext - 1);
  SSL_CTX_set_alpn_select_cb(context.get(), &on_alpn, nullptr);
  return Leaf{std::move(context), pair.not_after};
}

}  // namespace

struct TlsContext::Impl {
  Impl(LocalCa ca, std::vector<std::string> tlds, std::function<void(const std::string&)> report)
      : ca(std::move(ca)), tlds(std::move(tlds)), report(std::move(report)) {}

  asio::ssl::context context{asio::ssl::context::tls_server};
  std::mutex ca_mutex;  // making and loading leaves, one at a time
  LocalCa ca;
  const std::vector<std::string> tlds;
  const std::function<void(const std::string&)> report;

  std::mutex cache_mutex;
  std::map<std::string, Leaf> cache;  // by base name; "" is loopback
  std::set<std::string> reported;     // failures said once each

  asio::thread_pool minter{1};

  // The cached leaf for a choice, if it is current.
  std::optional<Leaf> cached(const std::string& key) {
    std::lock_guard lock(cache_mutex);
    auto it = cache.find(key);
    if (it == cache.end() || SystemClock::now() >= it->second.not_after - LocalCa::kRenewBefore) {
      return std::nullopt;
    }
    return it->second;
  }

  // The leaf for a choice: cached, else loaded from disk or made (and cached).
  std::optional<Leaf> leaf(const LeafChoice& choice) {
    const std::string& key = choice.name;
    if (auto hit = cached(key)) return hit;
    std::string error;
    std::optional<KeyPair> pair;
    {
      std::lock_guard lock(ca_mutex);
      if (auto hit = cached(key)) return hit;  // made meanwhile
      pair = choice.kind == LeafChoice::Kind::loopback ? ca.for_loopback(error)
                                                       : ca.for_app(key, error);
    }
    const auto parsed = pair ? load_pair(*pair) : std::nullopt;
    auto made = parsed ? leaf_of(*parsed) : std::nullopt;
    if (!made) {
      std::lock_guard lock(cache_mutex);
      if (reported.insert(key).second && report) {
        report("HTTPS: no certificate for " + (key.empty() ? std::string("localhost") : key) +
               ": " + (error.empty() ? "it does not load" : error));
      }
      return std::nullopt;
    }
    std::lock_guard lock(cache_mutex);
    cache[key] = *made;
    return made;
  }

  static int on_server_name(SSL* ssl, int* alert, void* arg) {
    auto* self = static_cast<Impl*>(arg);
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    const auto choice = choose_leaf(name ? name : "", self->tlds);
    if (choice.kind == LeafChoice::Kind::refused) {
      *alert = SSL_AD_UNRECOGNIZED_NAME;
      return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    auto leaf = self->leaf(choice);
    if (!leaf || !SSL_set_SSL_CTX(ssl, leaf->context.get())) {
      *alert = SSL_AD_INTERNAL_ERROR;
      return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    return SSL_TLSEXT_ERR_OK;
  }
};

TlsContext::TlsContext(LocalCa ca, std::vector<std::string> tlds,
                       std::function<void(const std::string&)> report)
    : impl_(std::make_unique<Impl>(std::move(ca), std::move(tlds), std::move(report))) {
  SSL_CTX* ctx = impl_->context.native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
  // OpenSSL's record buffers (about 34 KiB a connection) are freed while a connection has
  // nothing to read or write, as nginx has it: idle keep-alive connections cost far less. (A
  // busy connection keeps them for a while: TlsStream::tidy.)
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  // Resumption: TLS 1.3 tickets (OpenSSL's default) and TLS 1.2 sessions by id or ticket. The
  // context is shared by every proxy thread, so a client resumes whichever thread it reaches.
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  SSL_CTX_set_tlsext_servername_callback(ctx, &Impl::on_server_name);
  SSL_CTX_set_tlsext_servername_arg(ctx, impl_.get());
  SSL_CTX_set_alpn_select_cb(ctx, &on_alpn, nullptr);
  // Made now, so that the first handshake that names nothing does not wait for it.
  impl_->leaf({LeafChoice::Kind::loopback, {}});
}

TlsContext::~TlsContext() {
  impl_->minter.join();
}

asio::ssl::context& TlsContext::context() {
  return impl_->context;
}

bool TlsContext::ready(std::string_view server_name) {
  const auto choice = choose_leaf(server_name, impl_->tlds);
  return choice.kind == LeafChoice::Kind::refused || impl_->cached(choice.name).has_value();
}

void TlsContext::prepare(std::string_view server_name, asio::any_io_executor executor,
                         std::function<void()> done) {
  asio::post(impl_->minter, [impl = impl_.get(), choice = choose_leaf(server_name, impl_->tlds),
                             executor = std::move(executor), done = std::move(done)]() mutable {
    if (choice.kind != LeafChoice::Kind::refused) impl->leaf(choice);
    asio::post(executor, std::move(done));
  });
}

}  // namespace rp::tls
