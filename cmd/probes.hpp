// Small blocking network probes for `rp doctor`, each bounded by a timeout so that a check never
// hangs: one DNS exchange over UDP, a name through the system resolver (getaddrinfo, exactly as
// any program would resolve it), and one HTTP request. The daemon asks the system resolver too,
// once when it starts, to choose the URLs it shows (cmd/daemon/url_rule.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace rp::cmd {

using namespace std::chrono_literals;

// Sends `query` to address:port over UDP and waits for the reply with the same id; nullopt (and
// `error`) when none came, after one retry.
std::optional<std::vector<std::uint8_t>> dns_exchange(const std::string& address, int port,
                                                      std::span<const std::uint8_t> query,
                                                      std::chrono::milliseconds timeout,
                                                      std::string& error);

struct Resolution {
  std::vector<std::string> addresses;  // numeric, without duplicates
  std::string error;                   // gai_strerror, or a timeout
};

// getaddrinfo(name); gives up waiting after `timeout` (the lookup itself may go on).
Resolution resolve_with_system(const std::string& name, std::chrono::milliseconds timeout);

// The name both rp doctor and the daemon ask the system resolver for: any name under the TLD
// would do, and this one says who asked when it shows up in a resolver's log.
std::string probe_name(const std::string& tld);

// What the system resolver does with a name of rp's: rp's when it gives loopback addresses only.
struct NameCheck {
  Resolution resolution;
  std::vector<std::string> elsewhere;  // the addresses that are not loopback
  bool here() const { return resolution.error.empty() && elsewhere.empty(); }
};

NameCheck resolve_to_here(const std::string& name, std::chrono::milliseconds timeout);

struct HttpAnswer {
  bool connected = false;
  std::string status_line;  // "HTTP/1.1 404 Not Found"; empty when no HTTP came back
  std::string server;       // the Server header, if any
  std::string error;
};

// Connects to address:port, sends GET / with `host`, and reads the response head.
HttpAnswer http_probe(const std::string& address, int port, const std::string& host,
                      std::chrono::milliseconds timeout);

struct TlsAnswer {
  bool connected = false;
  bool handshake = false;  // a TLS handshake completed
  bool verified = false;   // and its certificate verified for the name, against the trust given
  std::string error;       // why not: the connection's, the handshake's or the verification's
};

// Connects to address:port, makes a TLS handshake naming `server_name` (SNI), and verifies the
// certificate for that name against `ca_file`, or the system's trust store when it is empty.
TlsAnswer tls_probe(const std::string& address, int port, const std::string& server_name,
                    const std::string& ca_file, std::chrono::milliseconds timeout);

}  // namespace rp::cmd
