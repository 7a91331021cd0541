#include "cmd/probes.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include "proxy/http/message.hpp"

namespace rp::cmd {
namespace {

using Clock = std::chrono::steady_clock;

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// A socket of `type` connected (for UDP: aimed) at address:port; -1 and `error` on failure.
// TCP connects without blocking past `deadline`.
int connect_to(const std::string& address, int port, int type, Clock::time_point deadline,
               std::string& error) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (::inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    length = sizeof *v4;
  } else if (::inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
    length = sizeof *v6;
  } else {
    error = "not an IP address: " + address;
    return -1;
  }
  int fd = ::socket(storage.ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    error = std::strerror(errno);
    return -1;
  }
  if (::connect(fd, reinterpret_cast<sockaddr*>(&storage), length) == 0) return fd;
  if (errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (::poll(&p, 1, static_cast<int>(std::max<long>(0, left.count()))) == 1) {
      int so_error = 0;
      socklen_t len = sizeof so_error;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
      if (so_error == 0) return fd;
      errno = so_error;
    } else {
      errno = ETIMEDOUT;
    }
  }
  error = std::strerror(errno);
  ::close(fd);
  return -1;
}

// Waits until `fd` is readable or `deadline` passes.
bool readable(int fd, Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(left.count())) == 1;
}

}  // namespace

std::optional<std::vector<std::uint8_t>> dns_exchange(const std::string& address, int port,
                                                      std::span<const std::uint8_t> query,
                                                      std::chrono::milliseconds timeout,
                                                      std::string& error) {
  Fd s{connect_to(address, port, SOCK_DGRAM, Clock::now() + timeout, error)};
  if (s.fd < 0) return std::nullopt;
  std::vector<std::uint8_t> buf(65536);
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (::send(s.fd, query.data(), query.size(), 0) < 0) {
      error = std::strerror(errno);
      return std::nullopt;
    }
    auto deadline = Clock::now() + timeout;
    while (readable(s.fd, deadline)) {
      ssize_t n = ::recv(s.fd, buf.data(), buf.size(), 0);
      if (n < 0) {
        // A UDP socket aimed at a port nobody holds hears the ICMP error as ECONNREFUSED.
        error = errno == ECONNREFUSED ? "nothing listens there" : std::strerror(errno);
        return std::nullopt;
      }
      if (n >= 2 && query.size() >= 2 && buf[0] == query[0] && buf[1] == query[1]) {
        buf.resize(static_cast<std::size_t>(n));
        return buf;
      }
    }
  }
  error = "no answer";
  return std::nullopt;
}

Resolution resolve_with_system(const std::string& name, std::chrono::milliseconds timeout) {
  // getaddrinfo cannot be cancelled: it runs on its own thread, which may outlive the wait.
  struct State {
    std::mutex mutex;
    std::condition_variable done_cv;
    bool done = false;
    Resolution result;
  };
  auto state = std::make_shared<State>();
  std::thread([state, name] {
    Resolution r;
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &found);
    if (rc != 0) {
      r.error = ::gai_strerror(rc);
    } else {
      for (auto* a = found; a; a = a->ai_next) {
        char text[INET6_ADDRSTRLEN] = {0};
        const void* where =
            a->ai_family == AF_INET
                ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
                : &reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr;
        if (::inet_ntop(a->ai_family, where, text, sizeof text) &&
            std::find(r.addresses.begin(), r.addresses.end(), text) == r.addresses.end()) {
          r.addresses.emplace_back(text);
        }
      }
      ::freeaddrinfo(found);
    }
    std::lock_guard lock(state->mutex);
    state->result = std::move(r);
    state->done = true;
    state->done_cv.notify_all();
  }).detach();
  std::unique_lock lock(state->mutex);
  if (!state->done_cv.wait_for(lock, timeout, [&] { return state->done; })) {
    return {{}, "no answer within " + std::to_string(timeout.count() / 1000) + " s"};
  }
  return state->result;
}

std::string probe_name(const std::string& tld) {
  return "rp-doctor." + tld;
}

NameCheck resolve_to_here(const std::string& name, std::chrono::milliseconds timeout) {
  NameCheck check{resolve_with_system(name, timeout), {}};
  for (const auto& a : check.resolution.addresses) {
    if (a != "127.0.0.1" && a != "::1") check.elsewhere.push_back(a);
  }
  return check;
}

HttpAnswer http_probe(const std::string& address, int port, const std::string& host,
                      std::chrono::milliseconds timeout) {
  HttpAnswer answer;
  const auto deadline = Clock::now() + timeout;
  Fd s{connect_to(address, port, SOCK_STREAM, deadline, answer.error)};
  if (s.fd < 0) return answer;
  answer.connected = true;
  std::string request = http::request_head(
      "GET", "/", {{"Host", host}, {"User-Agent", "rp-doctor"}, {"Connection", "close"}});
  if (::send(s.fd, request.data(), request.size(), MSG_NOSIGNAL) < 0) {
    answer.error = std::strerror(errno);
    return answer;
  }
  // Only the head matters; a head that does not end within 16 KiB is not worth waiting for.
  http::ResponseReader reader;
  std::size_t received = 0;
  char buf[4096];
  while (!reader.has_head() && !reader.failed() && received < 16384) {
    if (!readable(s.fd, deadline)) {
      answer.error = received == 0 ? "no answer" : "an incomplete answer";
      return answer;
    }
    ssize_t n = ::recv(s.fd, buf, sizeof buf, 0);
    if (n <= 0) {
      if (received == 0) {
        answer.error = n == 0 ? "closed without answering" : std::strerror(errno);
        return answer;
      }
      reader.finish();
      break;
    }
    received += static_cast<std::size_t>(n);
    reader.feed(std::string_view(buf, static_cast<std::size_t>(n)));
  }
  if (!reader.has_head()) {
    answer.error = "an answer that is not HTTP";
    return answer;
  }
  const http::Head& head = reader.head();
  answer.status_line =
      fmt::format("HTTP/{}.{} {}", head.version_major, head.version_minor, head.status);
  if (!head.reason.empty()) answer.status_line += " " + head.reason;
  if (const std::string* server = head.find("server")) answer.server = *server;
  answer.error.clear();
  return answer;
}

TlsAnswer tls_probe(const std::string& address, int port, const std::string& server_name,
                    const std::string& ca_file, std::chrono::milliseconds timeout) {
  TlsAnswer answer;
  const auto deadline = Clock::now() + timeout;
  Fd s{connect_to(address, port, SOCK_STREAM, deadline, answer.error)};
  if (s.fd < 0) return answer;
  answer.connected = true;
  // OpenSSL reads and writes the socket itself: blocking, each call bounded by the time left.
  ::fcntl(s.fd, F_SETFL, ::fcntl(s.fd, F_GETFL) & ~O_NONBLOCK);
  const auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
  timeval tv{static_cast<time_t>(std::max<long>(left.count(), 1000) / 1'000'000),
             static_cast<suseconds_t>(std::max<long>(left.count(), 1000) % 1'000'000)};
  ::setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(s.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        &SSL_CTX_free);
  const bool trust_loaded =
      ctx && (ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx.get())
                              : SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr));
  if (!trust_loaded) {
    answer.error =
        ca_file.empty() ? "cannot load the system's trust store" : "cannot load " + ca_file;
    return answer;
  }
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), &SSL_free);
  SSL_set_fd(ssl.get(), s.fd);
  SSL_set_tlsext_host_name(ssl.get(), server_name.c_str());
  SSL_set1_host(ssl.get(), server_name.c_str());
  // The handshake goes through whatever the certificate; the verification is read after it.
  SSL_set_verify(ssl.get(), SSL_VERIFY_NONE, nullptr);
  if (SSL_connect(ssl.get()) != 1) {
    // OpenSSL's reason when it has one (an alert, a protocol error); none when the peer closed
    // or said nothing in time.
    const char* reason = ERR_reason_error_string(ERR_get_error());
    answer.error = reason ? reason : "no TLS handshake (timed out or closed)";
    return answer;
  }
  answer.handshake = true;
  const long result = SSL_get_verify_result(ssl.get());
  answer.verified = result == X509_V_OK;
  if (!answer.verified) answer.error = X509_verify_cert_error_string(result);
  SSL_shutdown(ssl.get());
  return answer;
}

}  // namespace rp::cmd
