// rp's DNS listeners: a UDP socket and a TCP acceptor on each bind address at dns_port, handing
// every query to the Responder and sending back what it says. They run on the io_context of
// whoever owns them (`rp up` today, the daemon later).
//
// UDP is read in batches of up to 32 datagrams with one recvmmsg, and their answers leave with
// one sendmmsg, until the socket would block: a burst costs one wake-up and few system calls. TCP
// carries length-prefixed messages, several per connection; a connection idle for 10 s, or slower
// than that to send a message, is closed, and at most 64 are open at once. What a client sends can
// end its own connection, never a listener.
#pragma once

#include <boost/system/error_code.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace rp::dns {

// Why the responder could not start, as `rp up` tells it.
struct ListenFailure {
  std::string address;  // "127.0.0.1", "::1"
  int port = 0;
  int error = 0;  // errno

  // "cannot listen on 127.0.0.1:5300 (address in use) — another rp or resolver has it; ..."
  std::string message() const;
};

// What the TCP listeners tell their owner about accept(): a failure (they pause and try again
// either way, never spin) and a success. The daemon makes one line in its log of a shortage of
// descriptors out of these, as it does for its other listeners.
struct AcceptWatch {
  std::function<void(const boost::system::error_code&)> failed;
  std::function<void()> accepted;
};

class DnsServer {
 public:
  DnsServer(boost::asio::io_context& io, const std::vector<std::string>& tlds,
            AcceptWatch watch = {});
  ~DnsServer();
  DnsServer(const DnsServer&) = delete;
  DnsServer& operator=(const DnsServer&) = delete;

  // Listens on UDP and TCP `port` (not 0) of every address and starts answering. An IPv6 address
  // this machine does not have is skipped; any other failure closes what was opened and is
  // returned, so rp serves on all of its addresses or on none.
  std::optional<ListenFailure> listen(const std::vector<std::string>& addresses, int port);

  // Where it listens: "127.0.0.1:5300", "[::1]:5300".
  std::vector<std::string> endpoints() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rp::dns
