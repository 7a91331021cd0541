// The HTTPS listener's TLS set-up, shared by every proxy thread: one OpenSSL context (TLS 1.2 and
// 1.3 only, no renegotiation, session resumption by tickets and a session cache, ALPN) whose
// server-name callback hands each handshake its certificate (proxy/tls/sni.hpp says which).
//
// Certificates come from the LocalCa, parsed once and kept here. Making one costs a few
// milliseconds, too long to spend inside a handshake on a proxy thread that serves other
// connections meanwhile: so a session first calls prepare() with the name it peeked from the
// ClientHello, which makes a missing certificate on this context's own minting thread and
// resumes the session when it is there. The callback then finds it. (A ClientHello rp could not
// peek into still works: the callback makes the certificate itself, on the spot.)
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/tls/local_ca.hpp"

namespace boost::asio::ssl {
class context;
}

namespace rp::tls {

class TlsContext {
 public:
  // `report` takes a sentence for the daemon's log (a certificate that could not be made); it is
  // called from any thread.
  TlsContext(LocalCa ca, std::vector<std::string> tlds,
             std::function<void(const std::string&)> report);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  boost::asio::ssl::context& context();

  // Whether the certificate for `server_name` is at hand (or none is due: a refused name).
  bool ready(std::string_view server_name);
  // Has it made on the minting thread, then runs `done` on `executor`.
  void prepare(std::string_view server_name, boost::asio::any_io_executor executor,
               std::function<void()> done);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rp::tls
