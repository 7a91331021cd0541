#include "proxy/session.hpp"

#include <fmt/format.h>
#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <optional>

#include "proxy/async_result.hpp"
#include "proxy/balancer.hpp"
#include "proxy/client_stream.hpp"
#include "proxy/dispatch.hpp"
#include "proxy/error_pages.hpp"
#include "proxy/exchange.hpp"
#include "proxy/h2_session.hpp"
#include "proxy/http/message.hpp"
#include "proxy/in_flight.hpp"
#include "proxy/nothrow.hpp"
#include "proxy/output.hpp"
#include "proxy/response_relay.hpp"
#include "proxy/stall_watch.hpp"
#include "proxy/tls/client_hello.hpp"
#include "proxy/tls/tls_context.hpp"
#include "proxy/tunnel.hpp"
#include "proxy/workspace.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;

namespace rp::proxy {
namespace {

constexpr std::size_t kMaxHead = 64 * 1024;
// How long an exchange goes before its client is watched (begin_watch, pump_then_watch).
constexpr std::chrono::milliseconds kWatchAfter{50};

// Errors answered before a request head is parsed: no HEAD to honour, no Accept to read.
const Exchange kNoRequest{};

// A session over `Stream`: a TCP socket, or a TlsStream whose handshake is the session's first
// step (proxy/client_stream.hpp).
template <typename Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  template <typename... StreamArgs>
  Session(ProxyThread& thread, http::ClientInfo client_info, StreamArgs&&... stream)
      : thread_(thread),
        shared_(thread.shared),
        client_(std::forward<StreamArgs>(stream)...),
        timer_(client_.get_executor()),
        watch_timer_(client_.get_executor()),
        client_info_(std::move(client_info)) {
    if constexpr (is_tls<Stream>) {
      client_info_.proto = "https";
      thread_.tls_streams.insert(&client_);
    }
  }

  ~Session() {
    if constexpr (is_tls<Stream>) thread_.tls_streams.erase(&client_);
    if (ws_) thread_.workspaces.give_back(std::move(ws_));
    shared_.connections.fetch_sub(1, std::memory_order_relaxed);
    thread_.descriptors.closed();
  }

  asio::awaitable<void> run() {
    auto self = this->shared_from_this();
    boost::system::error_code ec;
    socket().set_option(tcp::no_delay(true), ec);
    if constexpr (!is_tls<Stream>) socket().non_blocking(true, ec);  // for await_request()
    watch();
    bool serving = true;
    if constexpr (is_tls<Stream>) {
      // A TLS connection keeps its workspace: its reads go through OpenSSL, which buffers.
      ws_ = thread_.workspaces.take();
      serving = co_await handshake();
      if (serving && negotiated_h2(client_)) {
        // HTTP/2 from here on: the connection is proxy/h2_session.hpp's until it ends, with
        // buffers of its own (a stream's are lent per request there).
        thread_.workspaces.give_back(std::move(ws_));
        co_await serve_h2(thread_, client_, client_info_, self);
        h2_ = true;
      }
    }
    // One statement per co_await: GCC 12 runs a co_await inside `&&` twice.
    while (serving && !h2_) {
      const bool head = co_await read_head();
      if (!head) break;
      const bool keep_alive = co_await handle_request();
      if (!keep_alive) break;
    }
    if (linger_) co_await linger();
    if (serving && !linger_ && !timed_out_) {
      set_deadline_after(std::chrono::seconds(2));
      co_await close_connection(client_);
    }
    closed_ = true;
    timer_.cancel();
    socket().close(ec);
  }

 private:
  tcp::socket& socket() { return socket_of(client_); }

  // --- TLS: the handshake, under the header timeout (a client that stalls in it, or sends
  // something else, is let go). The ClientHello is peeked at first, so that a certificate that
  // must be made is made on the TLS context's own thread, not this one. False: close.
  asio::awaitable<bool> handshake() {
    tls::TlsContext& tls = *shared_.tls;
    set_deadline_after(shared_.settings.header_timeout);
    std::size_t seen = 0;
    auto pause_for = std::chrono::milliseconds(2);
    for (;;) {
      // Peeked at once: the ClientHello has usually come with the connection, and then no wait
      // for readability (a trip through the event loop) is needed.
      const ssize_t n = ::recv(socket().native_handle(), ws_->buffer.get(), Workspace::kBufferSize,
                               MSG_PEEK | MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        // Nothing yet, so the next bytes to come make the socket readable anew.
        auto [wait_ec] = co_await socket().async_wait(tcp::socket::wait_read, nothrow);
        if (wait_ec || timed_out_) co_return false;
        continue;
      }
      if (n <= 0) co_return false;
      const std::string_view peeked(ws_->buffer.get(), static_cast<std::size_t>(n));
      const auto hello = tls::read_client_hello(peeked);
      if (hello.status == tls::ClientHello::Status::not_tls) {
        if (tls::looks_like_http(peeked)) co_await refuse_plain_http();
        co_return false;
      }
      if (hello.status == tls::ClientHello::Status::need_more) {
        if (peeked.size() == seen) {
          // The rest of the record has not come: wait a little rather than spin on the peek,
          // longer each time (a client that stalls here costs next to nothing until its timeout,
          // which only this loop sees: the socket is readable, so nothing waits to be cancelled).
          asio::steady_timer pause(client_.get_executor(), pause_for);
          co_await pause.async_wait(nothrow);
          if (timed_out_) co_return false;
          pause_for = std::min(pause_for * 2, std::chrono::milliseconds(250));
        }
        seen = peeked.size();
        continue;
      }
      if (hello.status == tls::ClientHello::Status::hello && !tls.ready(hello.server_name)) {
        co_await async_result_of<bool>([&](auto done) {
          tls.prepare(hello.server_name, client_.get_executor(), [done] { done(true); });
        });
      }
      break;
    }
    auto [ec] = co_await client_.async_handshake(TlsStream::Role::server, nothrow);
    if (ec) co_return false;
    clear_deadline();
    co_return true;
  }

  // Plain HTTP sent to the HTTPS port: a 400 that says so, in plain HTTP. The request's bytes,
  // only peeked so far, are read and dropped first, and what comes after as linger() does.
  asio::awaitable<void> refuse_plain_http() {
    const std::string text =
        http::simple_response(400, http::reason_phrase(400), "text/plain; charset=utf-8",
                              "rp: this is the HTTPS port; use an https:// URL.\n", false);
    boost::system::error_code ec;
    socket().non_blocking(true, ec);
    while (socket().receive(asio::buffer(ws_->buffer.get(), Workspace::kBufferSize), 0, ec) > 0) {
    }
    set_deadline_after(std::chrono::seconds(2));
    co_await asio::async_write(socket(), asio::buffer(text), nothrow);
    co_await drop_what_comes();
  }

  // --- timeouts: one deadline per phase, enforced by a watchdog that cancels the client's I/O.
  void set_deadline(Clock::time_point when) {
    deadline_ = when;
    if (when < timer_.expiry()) timer_.expires_at(when);
  }
  void set_deadline_after(std::chrono::milliseconds d) { set_deadline(Clock::now() + d); }
  void clear_deadline() { deadline_ = Clock::time_point::max(); }

  // The watchdog is a plain timer callback rather than a coroutine: an idle connection then
  // holds one small handler, not a coroutine's frames. Moving the deadline earlier cancels the
  // wait, which re-arms it.
  void watch() {
    timer_.expires_at(deadline_);
    timer_.async_wait(
        [self = this->shared_from_this()](boost::system::error_code) { self->on_watch(); });
  }

  void on_watch() {
    if (closed_) return;
    if (Clock::now() >= deadline_) {
      if (upstream_ && (stalls_.waiting == 0 || stalls_.moves != stall_moves_seen_)) {
        // During an exchange only a stall ends it: a marked wait that has not moved since the
        // last look (proxy/stall_watch.hpp). Otherwise look again after as long.
        stall_moves_seen_ = stalls_.moves;
        deadline_ = Clock::now() + shared_.settings.header_timeout;
      } else {
        timed_out_ = true;
        clear_deadline();
        boost::system::error_code ec;
        socket().cancel(ec);
        if (upstream_) upstream_->cancel(ec);
      }
    }
    watch();
  }

  // --- the client's bytes: [begin_, end_) of the workspace's buffer are read, not yet parsed.
  std::string_view buffered() const { return {ws_->buffer.get() + begin_, end_ - begin_}; }

  // Room at the end of the buffer, moving unparsed bytes to the front when that makes room.
  asio::mutable_buffer free_space() {
    if (begin_ == end_) begin_ = end_ = 0;
    if (end_ == Workspace::kBufferSize && begin_ > 0) {
      std::memmove(ws_->buffer.get(), ws_->buffer.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    return asio::buffer(ws_->buffer.get() + end_, Workspace::kBufferSize - end_);
  }

  // Between requests a TCP connection gives its workspace back while it waits: a non-blocking
  // read takes what is already there, and only when nothing is does the session wait for the
  // socket to become readable, holding no buffer. (The same system calls as one asynchronous
  // read: Asio's tries the read first too.) False: the client closed, or the wait timed out.
  asio::awaitable<bool> await_request() {
    for (;;) {
      if (!ws_) ws_ = thread_.workspaces.take();
      begin_ = end_ = 0;
      boost::system::error_code ec;
      const std::size_t n =
          socket().read_some(asio::buffer(ws_->buffer.get(), Workspace::kBufferSize), ec);
      if (!ec) {
        end_ = n;
        co_return true;
      }
      if (ec != asio::error::would_block) co_return false;
      thread_.workspaces.give_back(std::move(ws_));
      auto [wait_ec] = co_await socket().async_wait(tcp::socket::wait_read, nothrow);
      if (wait_ec) co_return false;
    }
  }

  // Reads and parses until a request head is complete. False: close the connection.
  asio::awaitable<bool> read_head() {
    std::size_t head_bytes = 0;
    bool header_deadline = false;
    set_deadline_after(shared_.settings.keepalive_timeout);
    if (begin_ == end_) {
      // Nothing is buffered: the thread's other ready work runs first. A response just written
      // gets here at once (Output::try_flush), and under load the next request has often come
      // by then, which saves a read that finds nothing and a wait.
      co_await asio::post(client_.get_executor(), nothrow);
      if constexpr (!is_tls<Stream>) {
        const bool arrived = co_await await_request();
        if (!arrived) co_return false;
      }
    }
    for (;;) {
      if (begin_ < end_) {
        auto step = ws_->parser.feed(buffered());
        begin_ += step.consumed;
        if (step.status == http::Parser::Status::head_done) {
          clear_deadline();
          co_return true;
        }
        if (step.status != http::Parser::Status::need_more) {
          co_await respond_error(kNoRequest, 400,
                                 "the request is not valid HTTP: " + ws_->parser.error(), false);
          co_return false;
        }
        head_bytes += step.consumed;
        if (head_bytes > kMaxHead) {
          co_await respond_error(kNoRequest, 431,
                                 "the request's header block is larger than 64 KiB", false);
          co_return false;
        }
      }
      // A head that did not come whole in one read has header_timeout to complete. (Set only
      // then: re-arming the timer for every request would cost a system call each.)
      if (!header_deadline && ws_->parser.message_started()) {
        set_deadline_after(shared_.settings.header_timeout);
        header_deadline = true;
      }
      auto space = free_space();
      if (space.size() == 0) {
        co_await respond_error(kNoRequest, 431, "the request's header block is larger than 64 KiB",
                               false);
        co_return false;
      }
      auto [ec, n] = co_await client_.async_read_some(space, nothrow);
      if (ec) {
        if (timed_out_ && ws_->parser.message_started()) {
          timed_out_ = false;
          co_await respond_error(kNoRequest, 408, "the request's headers did not arrive in time",
                                 false);
        }
        co_return false;
      }
      end_ += n;
    }
  }

  // rp's own answer to the request of `x` (an error, the list of apps).
  asio::awaitable<void> respond(const Exchange& x, int status, const Page& page, bool keep_alive) {
    if (!keep_alive) linger_ = true;
    std::string extra;
    for (const auto& h : page.headers) extra += h.name + ": " + h.value + "\r\n";
    auto text = http::simple_response(status, http::reason_phrase(status), page.content_type,
                                      page.body, keep_alive, x.head_request, extra);
    co_await asio::async_write(client_, asio::buffer(text), nothrow);
  }

  // `https: redirect`: the same name, path and query on the HTTPS port (308 keeps the method).
  asio::awaitable<void> redirect_to_https(const Exchange& x, std::string_view name,
                                          std::string_view target, bool keep_alive) {
    if (!keep_alive) linger_ = true;
    const int port = shared_.settings.https_display_port;
    const std::string_view path = target.starts_with('/') ? target : "/";
    const std::string location = port == 443 ? fmt::format("https://{}{}", name, path)
                                             : fmt::format("https://{}:{}{}", name, port, path);
    const auto text = http::simple_response(
        308, http::reason_phrase(308), "text/plain; charset=utf-8", "Moved to " + location + "\n",
        keep_alive, x.head_request, "Location: " + location + "\r\n");
    co_await asio::async_write(client_, asio::buffer(text), nothrow);
  }

  asio::awaitable<void> respond_error(const Exchange& x, int status, std::string_view what,
                                      bool keep_alive) {
    co_await respond(x, status, plain_error_page(status, what, x.html), keep_alive);
  }

  // After an error answer the client may still be sending (a body, the rest of a huge head).
  // Closing with unread bytes would reset the connection and could destroy the answer before
  // the client reads it; so rp stops sending, and reads and drops for a moment first.
  // (Over TLS the connection's bytes are dropped undecrypted, after rp's close_notify.)
  asio::awaitable<void> linger() {
    set_deadline_after(std::chrono::seconds(2));
    if constexpr (is_tls<Stream>) co_await close_connection(client_);
    co_await drop_what_comes();
  }

  // Stops sending, then reads and drops what the client still sends (up to 4 MiB), until it
  // closes or the deadline passes. Over TLS, the bytes are dropped undecrypted.
  asio::awaitable<void> drop_what_comes() {
    if (!ws_) ws_ = thread_.workspaces.take();
    boost::system::error_code ec;
    socket().shutdown(tcp::socket::shutdown_send, ec);
    std::size_t drained = 0;
    while (drained < (4u << 20)) {
      auto [read_ec, n] = co_await socket().async_read_some(
          asio::buffer(ws_->buffer.get(), Workspace::kBufferSize), nothrow);
      if (read_ec) break;
      drained += n;
    }
  }

  // One request, from its parsed head to the end of its response. False: close the connection.
  asio::awaitable<bool> handle_request() {
    const http::Head& request = ws_->parser.head();
    const auto started = Clock::now();
    Exchange x;
    x.head_request = request.method == "HEAD";
    const std::string* accept = request.find("accept");
    x.html = accept && wants_html(*accept);

    // The body bytes already here are parsed now, so that a body with broken framing is refused
    // before anything reaches the app.
    x.body_done = request.upgrade;
    if (!x.body_done) {
      auto step = ws_->parser.feed(buffered());
      begin_ += step.consumed;
      if (step.status == http::Parser::Status::error) {
        co_await respond_error(x, 400, "the request body is not valid: " + ws_->parser.error(),
                               false);
        co_return false;
      }
      x.body.assign(step.body.begin(), step.body.end());  // the views outlive the step
      x.body_done = step.status == http::Parser::Status::message_done;
    }

    if (request.version_major != 1) {
      co_await respond_error(x, 400, "only HTTP/1.0 and HTTP/1.1 are spoken here", false);
      co_return false;
    }
    const std::string* host = request.find("host");
    if (!host || host->empty()) {
      co_await respond_error(x, 400, "the request has no Host header", false);
      co_return false;
    }
    if (request.count("host") > 1) {
      co_await respond_error(x, 400, "the request has more than one Host header", false);
      co_return false;
    }
    if (!http::valid_host(*host)) {
      co_await respond_error(x, 400, "the request's Host is not a host name (and port)", false);
      co_return false;
    }
    const bool keep_after_local = request.keep_alive && x.body_done;
    Destination d = find_destination(shared_, request, *host, is_tls<Stream>, x.html);
    if (d.kind == Destination::Kind::boot) {
      co_await wait_for_app(shared_, thread_.pool, request, d, x.html);
    }
    if (d.kind == Destination::Kind::redirect) {
      co_await redirect_to_https(x, normalise_host(*host), request.target, keep_after_local);
      co_return keep_after_local;
    }
    if (d.kind == Destination::Kind::answer) {
      // A request that came round in a loop is not answered on a connection that keeps going.
      const bool keep = keep_after_local && d.status != 508;
      co_await respond(x, d.status, d.page, keep);
      co_return keep;
    }
    co_return co_await forward(request, d.route, x, started);
  }

  // Forwards the request to an instance of the routed process and relays its answer, or says
  // why it could not. False: close the connection.
  asio::awaitable<bool> forward(const http::Head& request, const Route& route, Exchange& x,
                                Clock::time_point started) {
    const bool keep_after_local = request.keep_alive && x.body_done;
    auto instance = pick_instance(*route.app, route.process, thread_.round_robin);
    if (!instance) {
      co_await respond(
          x, 502,
          upstream_error_page(502, *route.app, route.process,
                              "No instance of this process runs (formation 0?).", x.html),
          keep_after_local);
      co_return keep_after_local;
    }
    InFlight in_flight(instance, route.app->activity);

    const bool has_body = request.chunked || request.content_length.value_or(0) > 0;
    for (int attempt = 0;; ++attempt) {
      // A kept-alive connection if there is one (not for the retry), else a new one.
      std::optional<Upstream> taken;
      if (attempt == 0) taken = thread_.pool.take_idle(instance);
      if (!taken) taken = co_await thread_.pool.dial(instance);
      Upstream& upstream = *taken;
      if (upstream.result != Upstream::Result::connected) {
        const auto failure = connect_failure(upstream, *instance);
        co_await respond(
            x, failure.status,
            upstream_error_page(failure.status, *route.app, route.process, failure.what, x.html),
            keep_after_local);
        co_return keep_after_local;
      }
      const ExchangeEnd end = co_await exchange(request, x, upstream.socket);
      if (end == ExchangeEnd::stale && upstream.reused && attempt == 0 && !has_body &&
          idempotent(request.method)) {
        // The app had closed the kept-alive connection: once more on a new one. Nothing came
        // back, so the exchange holds nothing of the first attempt but its relay_error.
        continue;
      }
      if (end == ExchangeEnd::stale || end == ExchangeEnd::failed_before_response) {
        const std::string what = fmt::format("{} closed the connection without an answer{}.",
                                             instance->label, x.relay_error);
        co_await respond(x, 502, upstream_error_page(502, *route.app, route.process, what, x.html),
                         false);
        co_return false;
      }
      if (end == ExchangeEnd::upgraded) {
        co_await tunnel(client_, upstream.socket, buffered(), x.tunnel_leftover);
        co_return false;
      }
      if (end != ExchangeEnd::complete) {
        // Cut short (the client went away, or the app's connection broke): still a request the
        // app saw, logged as such.
        log_access(request, route.app->name, *instance, x, started, "cut short");
        co_return false;
      }

      log_access(request, route.app->name, *instance, x, started);
      if (x.upstream_reusable) thread_.pool.release(instance, std::move(upstream.socket));
      // An app may answer before the body is all here (413, say): the connection then closes,
      // after draining, so that the client still reads the answer.
      if (!x.body_done) linger_ = true;
      co_return request.keep_alive&& x.body_done && !request.upgrade && x.client_keep_alive;
    }
  }

  // Sends the request and relays the response; meanwhile the rest of the body streams up, and
  // then the client is watched so that its going away cancels the app's request.
  asio::awaitable<ExchangeEnd> exchange(const http::Head& request, Exchange& x,
                                        tcp::socket& upstream) {
    WatchStalls watch(*this, upstream);
    Output& out = ws_->to_upstream;
    out.clear();  // whatever an aborted exchange left unsent
    out.add_own([&](std::string& text) {
      http::append_upstream_request(text, request, client_info_, shared_.pseudonym);
    });
    for (auto part : x.body) out.body(part, request.chunked);
    if (x.body_done && request.chunked) out.last_chunk();
    boost::system::error_code ec;
    {
      StallWatch::Wait wait(stalls_);
      if (!out.try_flush(upstream, ec)) ec = co_await out.flush(upstream);
    }
    if (ec) {
      x.relay_error = " (" + ec.message() + ")";
      co_return ExchangeEnd::stale;
    }
    x.body.clear();
    if (x.body_done) {
      // Nothing more to send up: the relay alone, the client watched by callbacks rather than a
      // second coroutine beside it (no group, no frames, no cancellation slots per request).
      begin_watch();
      const ExchangeEnd end = co_await ws_->relay.relay(request, x, upstream, client_, stalls_);
      end_watch();
      if constexpr (is_tls<Stream>) {
        if (watch_reading_) co_await watch_read_ended();
      }
      if (!client_gone_) co_return end;
      // As below: whole is whole; otherwise the app's request went with its connection.
      co_return x.response_done ? ExchangeEnd::complete : ExchangeEnd::aborted;
    }
    auto result = co_await (pump_then_watch(request, x, upstream) ||
                            ws_->relay.relay(request, x, upstream, client_, stalls_));
    if (result.index() == 0) {
      // A client that closes as soon as it has the whole response may be seen going before the
      // relay has said it is done: that exchange is complete (and logged).
      if (x.response_done) co_return ExchangeEnd::complete;
      // The client went away or sent a broken body: the app's request is dropped with the
      // upstream connection.
      if (x.body_invalid && !x.response_started) {
        co_await respond_error(x, 400, "the request body is not valid: " + ws_->parser.error(),
                               false);
      }
      co_return ExchangeEnd::aborted;
    }
    co_return std::get<1>(result);
  }

  // --- the client during an exchange whose request is all up. After kWatchAfter (most answers
  // come sooner, and a cancelled timer costs no system call, where a wait on the socket costs an
  // epoll_ctl and a TLS read one that finds nothing), the client is read: bytes that come are
  // kept for the next request (pipelining); an end or an error means the client went away, and
  // the app's connection and the relay are cancelled. (Over TCP a wait for readability comes
  // first, and Asio's wait re-arms the descriptor, so an end that came before it began is seen
  // too.) Callbacks from an earlier exchange find another generation and stop.
  void begin_watch() {
    client_gone_ = false;
    watch_timer_.expires_after(kWatchAfter);
    watch_timer_.async_wait([self = this->shared_from_this(),
                             generation = ++watch_generation_](boost::system::error_code ec) {
      if (!ec && generation == self->watch_generation_) self->watch_client(generation);
    });
  }

  void watch_client(std::uint64_t generation) {
    auto space = free_space();
    if (space.size() == 0) return;  // the buffer is full of what came: watched no more
    if constexpr (is_tls<Stream>) {
      watch_reading_ = true;
      client_.async_read_some(space, [self = this->shared_from_this(), generation](
                                         boost::system::error_code ec, std::size_t n) {
        self->watch_read(generation, ec, n);
      });
    } else {
      socket().async_wait(tcp::socket::wait_read, [self = this->shared_from_this(),
                                                   generation](boost::system::error_code ec) {
        if (generation != self->watch_generation_ || ec == asio::error::operation_aborted) return;
        std::size_t n = 0;
        if (!ec) n = self->socket().read_some(self->free_space(), ec);
        if (ec == asio::error::would_block) {
          self->watch_client(generation);
        } else {
          self->watch_read(generation, ec, n);
        }
      });
    }
  }

  void watch_read(std::uint64_t generation, boost::system::error_code ec, std::size_t n) {
    // Bytes read are the connection's whatever the generation: over TLS, end_watch waits for a
    // read under way, and the buffer with it.
    if (!ec) end_ += n;
    if constexpr (is_tls<Stream>) {
      watch_reading_ = false;
      if (generation != watch_generation_) {
        watch_timer_.cancel();  // ends watch_read_ended's wait
        return;
      }
    }
    if (ec == asio::error::operation_aborted) return;  // the watchdog's cancel
    if (ec) {
      client_gone_ = true;
      boost::system::error_code ignored;
      if (upstream_) upstream_->cancel(ignored);
      socket().cancel(ignored);
      return;
    }
    watch_client(generation);
  }

  // The exchange is over: the watch stops. (Over TLS a read under way still ends first:
  // watch_read_ended.)
  void end_watch() {
    ++watch_generation_;
    watch_timer_.cancel();
    boost::system::error_code ignored;
    socket().cancel(ignored);  // a wait or a read that is still pending
  }

  // Over TLS: waits until the watch's read, cancelled by end_watch, has ended, and with it its use
  // of the buffer (watch_read ends this wait).
  asio::awaitable<void> watch_read_ended() {
    watch_timer_.expires_at(Clock::time_point::max());
    co_await watch_timer_.async_wait(nothrow);
  }

  // Streams the rest of the request body up as it arrives, then watches the client until the
  // response is done. Returns when the client goes away or its body breaks. (An exchange whose
  // body is all up is watched by begin_watch instead.)
  asio::awaitable<void> pump_then_watch(const http::Head& request, Exchange& x,
                                        tcp::socket& upstream) {
    bool upstream_gone = false;
    // One wait, on the client for the body and on the app to take it, moving a KiB at a time.
    std::optional<StallWatch::Wait> body_wait;
    if (!x.body_done) body_wait.emplace(stalls_);
    while (!x.body_done) {
      auto space = free_space();
      auto [ec, n] = co_await client_.async_read_some(space, nothrow);
      if (ec) co_return;
      end_ += n;
      stalls_.arrived(n);
      auto step = ws_->parser.feed(buffered());
      begin_ += step.consumed;
      if (step.status == http::Parser::Status::error) {
        x.body_invalid = true;
        co_return;
      }
      x.body_done = step.status == http::Parser::Status::message_done;
      if (upstream_gone) continue;  // the app stopped reading; its answer may still come
      Output& out = ws_->to_upstream;
      for (auto part : step.body) out.body(part, request.chunked);
      if (x.body_done && request.chunked) out.last_chunk();
      boost::system::error_code ec_up;
      if (!out.try_flush(upstream, ec_up)) ec_up = co_await out.flush(upstream);
      if (ec_up) upstream_gone = true;
    }
    body_wait.reset();
    // Watch: pipelined requests are kept for later; an end of the connection is a cancel. Most
    // answers come within milliseconds, and the watch begins only after kWatchAfter: a wait on
    // the client costs a system call (an epoll_ctl over TCP, a read that finds nothing over TLS),
    // a timer that a quick answer cancels costs none. A client gone before is seen then.
    {
      asio::steady_timer not_yet(client_.get_executor(), kWatchAfter);
      auto [ec] = co_await not_yet.async_wait(nothrow);
      if (ec) co_return;  // the answer came first
    }
    for (;;) {
      auto space = free_space();
      if (space.size() == 0) {
        asio::steady_timer forever(client_.get_executor(), Clock::time_point::max());
        co_await forever.async_wait(nothrow);
        co_return;
      }
      if constexpr (is_tls<Stream>) {
        auto [ec, n] = co_await client_.async_read_some(space, nothrow);
        if (ec) co_return;
        end_ += n;
      } else {
        // Over TCP the watch waits for the socket to become readable, and reads only then: an
        // asynchronous read would try at once, and find nothing nearly always. (Asio's wait
        // re-arms the descriptor, so bytes or an end that came before it began wake it too.)
        auto [wait_ec] = co_await socket().async_wait(tcp::socket::wait_read, nothrow);
        if (wait_ec) co_return;
        boost::system::error_code ec;
        const std::size_t n = socket().read_some(space, ec);
        if (ec == asio::error::would_block) continue;
        if (ec) co_return;
        end_ += n;
      }
    }
  }

  void log_access(const http::Head& request, const std::string& app, const InstanceStatus& instance,
                  const Exchange& x, Clock::time_point started, std::string_view note = {}) {
    const auto took = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
    std::string via = is_tls<Stream> ? "https" : "";
    if (!note.empty()) {
      if (!via.empty()) via += ' ';
      via += note;
    }
    thread_.access_log.add(app, access_text(request.method, request.target, x.response_status,
                                            x.response_bytes, took, instance.label, via));
  }

  ProxyThread& thread_;
  ProxyShared& shared_;
  Stream client_;
  asio::steady_timer timer_;
  // When the client begins to be watched (begin_watch); over TLS also the wait for the watch's
  // read to end (watch_read_ended).
  asio::steady_timer watch_timer_;
  std::uint64_t watch_generation_ = 0;
  bool client_gone_ = false;    // the watch saw the client go during this exchange
  bool watch_reading_ = false;  // over TLS: the watch's read is under way
  Clock::time_point deadline_ = Clock::time_point::max();
  bool timed_out_ = false;
  bool closed_ = false;
  bool linger_ = false;
  bool h2_ = false;  // the connection spoke HTTP/2
  // During an exchange: the app's connection, which a stall cuts too, and the waits that may stall.
  tcp::socket* upstream_ = nullptr;
  StallWatch stalls_;
  std::uint64_t stall_moves_seen_ = 0;

  // While it lives, the watchdog looks for stalls of the exchange on `upstream`, every
  // header_timeout.
  class WatchStalls {
   public:
    WatchStalls(Session& session, tcp::socket& upstream) : session_(session) {
      session_.upstream_ = &upstream;
      session_.stall_moves_seen_ = session_.stalls_.moves;
      session_.set_deadline_after(session_.shared_.settings.header_timeout);
    }
    ~WatchStalls() {
      session_.upstream_ = nullptr;
      session_.clear_deadline();
    }
    WatchStalls(const WatchStalls&) = delete;
    WatchStalls& operator=(const WatchStalls&) = delete;

   private:
    Session& session_;
  };

  // What serves a request, lent by the thread while one is in flight (proxy/workspace.hpp).
  // Its Output to the app is used by exchange() and then the body pump, never both at once.
  std::unique_ptr<Workspace> ws_;
  std::size_t begin_ = 0, end_ = 0;  // [begin_, end_) of ws_->buffer: read, not yet parsed
  http::ClientInfo client_info_;
};

asio::awaitable<void> refuse(tcp::socket socket, std::string response) {
  co_await asio::async_write(socket, asio::buffer(response), nothrow);
  boost::system::error_code ec;
  socket.shutdown(tcp::socket::shutdown_both, ec);
}

// A connection begins: counted against the limit, and in the thread's descriptor reserve.
void count_connection(ProxyThread& thread) {
  const int open = thread.shared.connections.fetch_add(1, std::memory_order_relaxed) + 1;
  thread.descriptors.opened(open);
}

}  // namespace

void start_session(ProxyThread& thread, tcp::socket socket, http::ClientInfo client) {
  count_connection(thread);
  auto executor = socket.get_executor();
  auto session =
      std::make_shared<Session<tcp::socket>>(thread, std::move(client), std::move(socket));
  asio::co_spawn(executor, session->run(), asio::detached);
}

void start_tls_session(ProxyThread& thread, tcp::socket socket, http::ClientInfo client) {
  count_connection(thread);
  auto executor = socket.get_executor();
  auto session = std::make_shared<Session<TlsStream>>(thread, std::move(client), std::move(socket),
                                                      thread.shared.tls->context());
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
