#include "proxy/session.hpp"

#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

#include "proxy/balancer.hpp"
#include "proxy/boot_wait.hpp"
#include "proxy/error_pages.hpp"
#include "proxy/in_flight.hpp"
#include "proxy/nothrow.hpp"
#include "proxy/output.hpp"
#include "proxy/tunnel.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;

namespace rp::proxy {
namespace {

constexpr std::size_t kBufferSize = 80 * 1024;
constexpr std::size_t kMaxHead = 64 * 1024;

bool idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE" ||
         method == "PUT" || method == "DELETE";
}

std::string human_bytes(std::uint64_t n) {
  if (n < 1024) return fmt::format("{} B", n);
  if (n < 1024 * 1024) return fmt::format("{:.1f} KiB", static_cast<double>(n) / 1024);
  return fmt::format("{:.1f} MiB", static_cast<double>(n) / (1024 * 1024));
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(ProxyThread& thread, tcp::socket socket)
      : thread_(thread),
        shared_(thread.shared),
        client_(std::move(socket)),
        timer_(client_.get_executor()),
        buffer_(new char[kBufferSize]),
        upstream_buffer_(new char[kBufferSize]) {}

  ~Session() { shared_.connections.fetch_sub(1, std::memory_order_relaxed); }

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    boost::system::error_code ec;
    auto remote = client_.remote_endpoint(ec);
    auto local = client_.local_endpoint(ec);
    client_info_.address = remote.address().to_string();
    client_info_.local_port = local.port();
    client_.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(client_.get_executor(), watchdog(), asio::detached);
    // One statement per co_await: GCC 12 runs a co_await inside `&&` twice.
    for (;;) {
      const bool head = co_await read_head();
      if (!head) break;
      const bool keep_alive = co_await handle_request();
      if (!keep_alive) break;
    }
    if (linger_) co_await linger();
    closed_ = true;
    timer_.cancel();
    client_.close(ec);
  }

 private:
  // --- timeouts: one deadline per phase, enforced by a watchdog that cancels the client's I/O.
  void set_deadline(Clock::time_point when) {
    deadline_ = when;
    if (when < timer_.expiry()) timer_.expires_at(when);
  }
  void set_deadline_after(std::chrono::milliseconds d) { set_deadline(Clock::now() + d); }
  void clear_deadline() { deadline_ = Clock::time_point::max(); }

  asio::awaitable<void> watchdog() {
    auto self = shared_from_this();
    while (!closed_) {
      timer_.expires_at(deadline_);
      co_await timer_.async_wait(nothrow);
      if (closed_) co_return;
      if (Clock::now() >= deadline_) {
        timed_out_ = true;
        clear_deadline();
        boost::system::error_code ec;
        client_.cancel(ec);
      }
    }
  }

  // --- the client's bytes: [begin_, end_) of buffer_ are read but not yet parsed.
  std::string_view buffered() const { return {buffer_.get() + begin_, end_ - begin_}; }

  // Room at the end of the buffer, moving unparsed bytes to the front when that makes room.
  asio::mutable_buffer free_space() {
    if (begin_ == end_) begin_ = end_ = 0;
    if (end_ == kBufferSize && begin_ > 0) {
      std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    return asio::buffer(buffer_.get() + end_, kBufferSize - end_);
  }

  // Reads and parses until a request head is complete. False: close the connection.
  asio::awaitable<bool> read_head() {
    std::size_t head_bytes = 0;
    bool header_deadline = false;
    set_deadline_after(shared_.settings.keepalive_timeout);
    for (;;) {
      if (begin_ < end_) {
        auto step = parser_.feed(buffered());
        begin_ += step.consumed;
        if (step.status == http::Parser::Status::head_done) {
          clear_deadline();
          co_return true;
        }
        if (step.status != http::Parser::Status::need_more) {
          co_await respond_error(400, "the request is not valid HTTP: " + parser_.error(), false);
          co_return false;
        }
        head_bytes += step.consumed;
        if (head_bytes > kMaxHead) {
          co_await respond_error(431, "the request's header block is larger than 64 KiB", false);
          co_return false;
        }
      }
      // A head that did not come whole in one read has header_timeout to complete. (Set only
      // then: re-arming the timer for every request would cost a system call each.)
      if (!header_deadline && parser_.message_started()) {
        set_deadline_after(shared_.settings.header_timeout);
        header_deadline = true;
      }
      auto space = free_space();
      if (space.size() == 0) {
        co_await respond_error(431, "the request's header block is larger than 64 KiB", false);
        co_return false;
      }
      auto [ec, n] = co_await client_.async_read_some(space, nothrow);
      if (ec) {
        if (timed_out_ && parser_.message_started()) {
          timed_out_ = false;
          co_await respond_error(408, "the request's headers did not arrive in time", false);
        }
        co_return false;
      }
      end_ += n;
    }
  }

  asio::awaitable<void> respond(int status, const Page& page, bool keep_alive) {
    if (!keep_alive) linger_ = true;
    auto text = http::simple_response(status, http::reason_phrase(status), page.content_type,
                                      page.body, keep_alive, head_request_);
    co_await asio::async_write(client_, asio::buffer(text), nothrow);
  }

  asio::awaitable<void> respond_error(int status, std::string_view what, bool keep_alive) {
    co_await respond(status, plain_error_page(status, what, html_), keep_alive);
  }

  // After an error answer the client may still be sending (a body, the rest of a huge head).
  // Closing with unread bytes would reset the connection and could destroy the answer before
  // the client reads it; so rp stops sending, and reads and drops for a moment first.
  asio::awaitable<void> linger() {
    boost::system::error_code ec;
    client_.shutdown(tcp::socket::shutdown_send, ec);
    set_deadline_after(std::chrono::seconds(2));
    std::size_t drained = 0;
    while (drained < (4u << 20)) {
      auto [read_ec, n] =
          co_await client_.async_read_some(asio::buffer(buffer_.get(), kBufferSize), nothrow);
      if (read_ec) break;
      drained += n;
    }
  }

  // One request, from its parsed head to the end of its response. False: close the connection.
  asio::awaitable<bool> handle_request() {
    const http::Head& request = parser_.head();
    const auto started = Clock::now();
    head_request_ = request.method == "HEAD";
    const std::string* accept = request.find("accept");
    html_ = accept && wants_html(*accept);

    // The body bytes already here are parsed now, so that a body with broken framing is refused
    // before anything reaches the app.
    body_ = {};
    body_done_ = request.upgrade;
    if (!body_done_) {
      auto step = parser_.feed(buffered());
      begin_ += step.consumed;
      if (step.status == http::Parser::Status::error) {
        co_await respond_error(400, "the request body is not valid: " + parser_.error(), false);
        co_return false;
      }
      body_ = std::move(step.body);
      body_done_ = step.status == http::Parser::Status::message_done;
    }
    const bool has_body = request.chunked || request.content_length.value_or(0) > 0;

    if (request.version_major != 1) {
      co_await respond_error(400, "only HTTP/1.0 and HTTP/1.1 are spoken here", false);
      co_return false;
    }
    const std::string* host = request.find("host");
    if (!host || host->empty()) {
      co_await respond_error(400, "the request has no Host header", false);
      co_return false;
    }
    if (request.count("host") > 1) {
      co_await respond_error(400, "the request has more than one Host header", false);
      co_return false;
    }
    if (http::is_loop(request, shared_.pseudonym)) {
      co_await respond_error(508, "this request came back to rp: a route points at rp itself",
                             false);
      co_return false;
    }
    const auto routes = shared_.routes.load();
    const std::string name = normalise_host(*host);
    Route route = routes->resolve(name);
    const bool keep_after_local = request.keep_alive && body_done_;
    if (route.kind != Route::Kind::app) {
      const bool dashboard = route.kind == Route::Kind::dashboard;
      co_await respond(dashboard ? 200 : 404,
                       not_found_page(*routes, name, shared_.settings.display_port, html_),
                       keep_after_local);
      co_return keep_after_local;
    }

    if (const auto& activity = route.app->activity;
        activity && activity->phase.load(std::memory_order_acquire) != AppPhase::ready) {
      // A stopped app starts now; the request waits for its web process, as do the others that
      // arrive meanwhile (one boot for all).
      const BootResult boot = co_await wait_for_boot(*activity);
      if (!boot.ok()) {
        const int status = status_of(boot.outcome);
        co_await respond(
            status,
            upstream_error_page(status, *route.app, route.process, boot.what, html_, boot.log),
            keep_after_local);
        co_return keep_after_local;
      }
      // Booting may have moved a port (one was taken meanwhile): route on the fresh snapshot.
      const auto fresh = shared_.routes.load();
      route = fresh->resolve(name);
      if (route.kind != Route::Kind::app) {
        co_await respond(404, not_found_page(*fresh, name, shared_.settings.display_port, html_),
                         keep_after_local);
        co_return keep_after_local;
      }
    }

    auto instance = pick_instance(*route.app, route.process, thread_.round_robin);
    if (!instance) {
      co_await respond(
          502,
          upstream_error_page(502, *route.app, route.process,
                              "No instance of this process runs (formation 0?).", html_),
          keep_after_local);
      co_return keep_after_local;
    }
    InFlight in_flight(instance, route.app->activity);

    for (int attempt = 0;; ++attempt) {
      auto upstream = co_await thread_.pool.acquire(instance, attempt > 0);
      if (upstream.result != Upstream::Result::connected) {
        const int status = upstream.result == Upstream::Result::timed_out ? 504 : 502;
        std::string what = status == 504
                               ? fmt::format("{} did not accept a connection on port {} in time.",
                                             instance->label, instance->port)
                               : fmt::format("{} is not listening on port {} ({}).",
                                             instance->label, instance->port, upstream.error);
        co_await respond(status,
                         upstream_error_page(status, *route.app, route.process, what, html_),
                         keep_after_local);
        co_return keep_after_local;
      }
      auto outcome = co_await exchange(request, upstream.socket);
      if (outcome == Outcome::stale && upstream.reused && attempt == 0 && !has_body &&
          idempotent(request.method)) {
        continue;  // the app had closed the kept-alive connection: once more on a new one
      }
      if (outcome == Outcome::stale || outcome == Outcome::failed_before_response) {
        co_await respond(502,
                         upstream_error_page(502, *route.app, route.process,
                                             fmt::format("{} closed the connection without an "
                                                         "answer{}.",
                                                         instance->label, relay_error_),
                                             html_),
                         false);
        co_return false;
      }
      if (outcome == Outcome::upgraded) {
        co_await tunnel(client_, upstream.socket, buffered(), tunnel_leftover_);
        co_return false;
      }
      if (outcome != Outcome::complete) co_return false;

      log_access(request, route.app->name, *instance, started);
      if (upstream_reusable_) thread_.pool.release(instance, std::move(upstream.socket));
      // An app may answer before the body is all here (413, say): the connection then closes,
      // after draining, so that the client still reads the answer.
      if (!body_done_) linger_ = true;
      co_return request.keep_alive&& body_done_ && !request.upgrade && client_keep_alive_;
    }
  }

  enum class Outcome { complete, upgraded, stale, failed_before_response, aborted };

  // Sends the request and relays the response; meanwhile the rest of the body streams up, and
  // then the client is watched so that its going away cancels the app's request.
  asio::awaitable<Outcome> exchange(const http::Head& request, tcp::socket& upstream) {
    Output& out = to_upstream_;
    out.clear();  // whatever an aborted exchange left unsent
    out.add_own([&](std::string& text) {
      http::append_upstream_request(text, request, client_info_, shared_.pseudonym);
    });
    for (auto part : body_) out.body(part, request.chunked);
    if (body_done_ && request.chunked) out.last_chunk();
    const auto ec = co_await out.flush(upstream);
    if (ec) {
      relay_error_ = " (" + ec.message() + ")";
      co_return Outcome::stale;
    }
    body_.clear();
    client_gone_ = request_invalid_ = false;
    upstream_reusable_ = false;
    auto result = co_await (pump_then_watch(request, upstream) || relay(request, upstream));
    if (result.index() == 0) {
      // The client went away or sent a broken body: the app's request is dropped with the
      // upstream connection.
      if (request_invalid_ && !response_started_) {
        co_await respond_error(400, "the request body is not valid: " + parser_.error(), false);
      }
      co_return Outcome::aborted;
    }
    co_return std::get<1>(result);
  }

  asio::awaitable<void> pump_then_watch(const http::Head& request, tcp::socket& upstream) {
    bool upstream_gone = false;
    while (!body_done_) {
      auto space = free_space();
      auto [ec, n] = co_await client_.async_read_some(space, nothrow);
      if (ec) {
        client_gone_ = true;
        co_return;
      }
      end_ += n;
      auto step = parser_.feed(buffered());
      begin_ += step.consumed;
      if (step.status == http::Parser::Status::error) {
        request_invalid_ = true;
        co_return;
      }
      body_done_ = step.status == http::Parser::Status::message_done;
      if (upstream_gone) continue;  // the app stopped reading; its answer may still come
      Output& out = to_upstream_;
      for (auto part : step.body) out.body(part, request.chunked);
      if (body_done_ && request.chunked) out.last_chunk();
      const auto ec_up = co_await out.flush(upstream);
      if (ec_up) upstream_gone = true;
    }
    // Watch: pipelined requests are kept for later; an end of the connection is a cancel.
    for (;;) {
      auto space = free_space();
      if (space.size() == 0) {
        asio::steady_timer forever(client_.get_executor(), Clock::time_point::max());
        co_await forever.async_wait(nothrow);
        co_return;
      }
      auto [ec, n] = co_await client_.async_read_some(space, nothrow);
      if (ec) {
        client_gone_ = true;
        co_return;
      }
      end_ += n;
    }
  }

  asio::awaitable<Outcome> relay(const http::Head& request, tcp::socket& upstream) {
    http::Parser& parser = response_parser_;
    parser.reset();
    to_client_.clear();
    parser.expect_no_body(head_request_);
    const bool client_http11 = request.version_major == 1 && request.version_minor >= 1;
    bool received = false;
    bool chunked = false;
    response_started_ = false;
    response_status_ = 0;
    response_bytes_ = 0;
    relay_error_.clear();
    for (;;) {
      auto [ec, n] = co_await upstream.async_read_some(
          asio::buffer(upstream_buffer_.get(), kBufferSize), nothrow);
      Output& out = to_client_;
      bool done = false;
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return Outcome::aborted;
        if (ec == asio::error::eof && parser.body_until_close()) {
          parser.finish();
          if (chunked) out.last_chunk();
          co_await out.flush(client_);
          co_return Outcome::complete;
        }
        relay_error_ = " (" + ec.message() + ")";
        if (!received) co_return Outcome::stale;
        co_return response_started_ ? Outcome::aborted : Outcome::failed_before_response;
      }
      received = true;
      std::string_view data(upstream_buffer_.get(), n);
      while (!data.empty() && !done) {
        auto step = parser.feed(data);
        data.remove_prefix(step.consumed);
        if (step.status == http::Parser::Status::error) {
          relay_error_ = " (its response is not valid HTTP: " + parser.error() + ")";
          if (!response_started_) co_return Outcome::failed_before_response;
          co_await out.flush(client_);
          co_return Outcome::aborted;
        }
        const bool message_done = step.status == http::Parser::Status::message_done ||
                                  step.status == http::Parser::Status::upgrade;
        const http::Head& head = parser.head();
        if (!response_started_ &&
            (message_done || (!parser.in_head() && parser.message_started()))) {
          if (head.status >= 100 && head.status < 200 && head.status != 101) {
            // Interim (100 Continue, 103 Early Hints): passed on; the real answer follows.
            out.add_own([&](std::string& text) {
              http::append_client_response(text, head, http::Framing::none, true);
            });
            continue;
          }
          auto framing = http::response_framing(head, head_request_, client_http11);
          chunked = framing == http::Framing::chunked;
          client_keep_alive_ = framing != http::Framing::until_close;
          response_status_ = head.status;
          const bool keep_alive = request.keep_alive && client_keep_alive_ && body_done_;
          out.add_own([&](std::string& text) {
            http::append_client_response(text, head, framing, keep_alive, !client_http11);
          });
          response_started_ = true;
        }
        for (auto part : step.body) {
          response_bytes_ += part.size();
          out.body(part, chunked);
        }
        if (message_done) {
          done = true;
          if (head.status == 101) {
            tunnel_leftover_.assign(data);
            const auto e = co_await out.flush(client_);
            co_return e ? Outcome::aborted : Outcome::upgraded;
          }
          if (chunked) out.last_chunk();
          upstream_reusable_ = head.keep_alive && data.empty() && body_done_;
        }
      }
      const auto e = co_await out.flush(client_);
      if (e) {
        client_gone_ = true;
        co_return Outcome::aborted;
      }
      if (done) co_return Outcome::complete;
    }
  }

  void log_access(const http::Head& request, const std::string& app, const InstanceStatus& instance,
                  Clock::time_point started) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
    thread_.access_log.add(app,
                           fmt::format("{} {} {} {} {:.1f} ms {}", request.method, request.target,
                                       response_status_, human_bytes(response_bytes_),
                                       static_cast<double>(us.count()) / 1000, instance.label));
  }

  ProxyThread& thread_;
  ProxyShared& shared_;
  tcp::socket client_;
  asio::steady_timer timer_;
  Clock::time_point deadline_ = Clock::time_point::max();
  bool timed_out_ = false;
  bool closed_ = false;
  bool linger_ = false;

  std::unique_ptr<char[]> buffer_;
  std::size_t begin_ = 0, end_ = 0;
  std::unique_ptr<char[]> upstream_buffer_;
  http::Parser parser_{http::Parser::Kind::request};
  http::Parser response_parser_{http::Parser::Kind::response};
  Output to_upstream_;  // used by exchange() and then the body pump, never both at once
  Output to_client_;    // used by relay()
  http::ClientInfo client_info_;

  // The request in progress.
  bool head_request_ = false;
  bool html_ = false;
  std::vector<std::string_view> body_;  // parsed body bytes not yet sent (views into buffer_)
  bool body_done_ = false;
  bool client_gone_ = false;
  bool request_invalid_ = false;
  bool response_started_ = false;
  bool upstream_reusable_ = false;
  bool client_keep_alive_ = true;
  int response_status_ = 0;
  std::uint64_t response_bytes_ = 0;
  std::string relay_error_;
  std::string tunnel_leftover_;
};

asio::awaitable<void> refuse(tcp::socket socket, std::string response) {
  co_await asio::async_write(socket, asio::buffer(response), nothrow);
  boost::system::error_code ec;
  socket.shutdown(tcp::socket::shutdown_both, ec);
}

}  // namespace

void start_session(ProxyThread& thread, tcp::socket socket) {
  thread.shared.connections.fetch_add(1, std::memory_order_relaxed);
  auto executor = socket.get_executor();
  auto session = std::make_shared<Session>(thread, std::move(socket));
  asio::co_spawn(executor, session->run(), asio::detached);
}

void refuse_connection(tcp::socket socket) {
  auto page = plain_error_page(503, "rp has too many open connections; try again shortly", false);
  auto executor = socket.get_executor();
  asio::co_spawn(
      executor,
      refuse(std::move(socket), http::simple_response(503, "Service Unavailable", page.content_type,
                                                      page.body, false)),
      asio::detached);
}

}  // namespace rp::proxy
