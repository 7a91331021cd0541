#include "proxy/h2_session.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <optional>
#include <unordered_map>
#include <vector>

#include "proxy/access_log.hpp"
#include "proxy/balancer.hpp"
#include "proxy/dispatch.hpp"
#include "proxy/h2/engine.hpp"
#include "proxy/in_flight.hpp"
#include "proxy/nothrow.hpp"
#include "proxy/output.hpp"
#include "proxy/session.hpp"
#include "proxy/stall_watch.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;

namespace rp::proxy {
namespace {

constexpr std::size_t kReadSize = 16 * 1024;   // a TLS record
constexpr std::size_t kWriteSize = 64 * 1024;  // frames gathered into one write
constexpr std::size_t kUpstreamRead = 32 * 1024;

// A wake-up between coroutines of one thread: wait() returns at the next notify(). Whoever waits
// checks its condition first, so a notify() with nobody waiting is not lost, only not needed.
class Signal {
 public:
  explicit Signal(const asio::any_io_executor& executor)
      : timer_(executor, Clock::time_point::max()) {}
  // The timer's own wait, with no coroutine of its own around it (one allocation fewer a wait).
  auto wait() { return timer_.async_wait(nothrow); }
  void notify() { timer_.cancel(); }

 private:
  asio::steady_timer timer_;
};

// A Sec-WebSocket-Key for the app: 16 random bytes in base64.
std::string websocket_key() {
  unsigned char raw[16];
  RAND_bytes(raw, sizeof raw);
  unsigned char text[25];
  EVP_EncodeBlock(text, raw, sizeof raw);
  return std::string(reinterpret_cast<char*>(text), 24);
}

// One stream: the request, and what the client sends for it while it is served. A connection
// reuses the Streams of those that ended (see Connection::on_request).
struct Stream {
  explicit Stream(const asio::any_io_executor& executor) : wake(executor) {}

  // Made ready for a new stream: `request` is taken from the engine in exchange for this one's
  // last, whose memory the engine reuses.
  void begin(std::int32_t stream_id, h2::Request& from_engine, bool end_stream) {
    id = stream_id;
    std::swap(request, from_engine);
    upload.clear();
    if (upload.capacity() > kReadSize) upload.shrink_to_fit();  // a large upload's room goes
    body_done = end_stream;
    closed = finished = stalled = false;
    upstream = nullptr;
    stalls = StallWatch{};
    stall_moves_seen = 0;
  }

  std::int32_t id = 0;
  h2::Request request;
  std::string upload;               // request body received and not yet sent to the app
  bool body_done = false;           // the client has sent all of it
  bool closed = false;              // reset by either side, or the connection ended
  bool finished = false;            // its answer is complete: more body is dropped
  tcp::socket* upstream = nullptr;  // the app's connection while forwarding, closed on a reset
  Signal wake;                      // upload came, the response queue drained, or closed
  // While forwarding: the waits on the client for the body and on the app to take it, and how
  // far they had moved at the watchdog's last look (proxy/stall_watch.hpp).
  StallWatch stalls;
  std::uint64_t stall_moves_seen = 0;
  bool stalled = false;  // the watchdog closed its app connection for it
};

enum class End { complete, stale, failed_before_response, aborted };

// What serving one stream needs: lent to a stream and taken back after it, so that a busy
// connection allocates them once and not per request.
struct Scratch {
  http::Head request;                                       // the HTTP/1.1 request for the app
  std::unique_ptr<char[]> buffer{new char[kUpstreamRead]};  // the app's bytes
  http::Parser parser{http::Parser::Kind::response};
  Output request_out;  // the head and the body that came with it
  Output body_out;     // the body that comes later
  std::string pending, taking;
};

// What serving a stream learns on the way, for its error page and access line.
struct Served {
  bool head_request = false;
  bool html = false;
  bool websocket = false;
  bool response_started = false;
  int status = 0;
  std::uint64_t bytes = 0;
  bool upstream_reusable = false;
  std::string relay_error;
};

class Connection : public std::enable_shared_from_this<Connection>, h2::Engine::Handler, Drainable {
 public:
  Connection(ProxyThread& thread, TlsStream& client, http::ClientInfo info,
             std::shared_ptr<void> owner)
      : thread_(thread),
        shared_(thread.shared),
        owner_(std::move(owner)),
        client_(client),
        info_(std::move(info)),
        executor_(client.get_executor()),
        engine_(*this, limits()),
        write_wake_(executor_),
        read_buffer_(new char[kReadSize]) {}

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    thread_.drainable.insert(this);
    co_await (reader() || writer() || watchdog());
    thread_.drainable.erase(this);
    ended_ = true;
    // Whatever still runs stops: the app's connections of open streams close with this one, and
    // the servers end once their stream has.
    for (auto& [id, stream] : streams_) close_stream(*stream);
    streams_.clear();
    let_idle_servers_go();
  }

 private:
  static h2::Limits limits() { return h2::Limits{}; }

  // The proxy stops: GOAWAY; the open streams finish, then the writer ends the connection.
  void drain() override {
    engine_.shut_down();
    write_wake_.notify();
  }

  // --- h2::Engine::Handler: what the client sends, as the engine reads it.
  // A Stream, and its place in streams_, come from a stream that ended when its serve() has let
  // go of it (a busy connection then serves its requests without allocating either).
  void on_request(std::int32_t id, h2::Request& request, bool end_stream) override {
    std::shared_ptr<Stream> stream;
    if (take_spare_stream()) {
      StreamMap::node_type node = std::move(spare_streams_.back());
      spare_streams_.pop_back();
      node.key() = id;
      stream = node.mapped();
      streams_.insert(std::move(node));
    } else {
      stream = std::make_shared<Stream>(executor_);
      streams_.emplace(id, stream);
    }
    stream->begin(id, request, end_stream);
    starting_.push_back(std::move(stream));
  }

  // Whether a spare Stream is free (its serve() has ended), moved to the back of spare_streams_.
  // A few from the back are looked at: those are the streams that ended last.
  bool take_spare_stream() {
    const std::size_t n = spare_streams_.size();
    for (std::size_t i = n; i > 0 && i + 4 > n; --i) {
      if (spare_streams_[i - 1].mapped().use_count() != 1) continue;
      std::swap(spare_streams_[i - 1], spare_streams_.back());
      return true;
    }
    return false;
  }

  bool on_body(std::int32_t id, std::string_view data) override {
    Stream* s = find(id);
    if (!s || s->finished) return false;
    s->upload.append(data);
    s->wake.notify();
    return true;
  }

  void on_body_end(std::int32_t id) override {
    if (Stream* s = find(id)) {
      s->body_done = true;
      s->wake.notify();
    }
  }

  void on_close(std::int32_t id) override {
    auto it = streams_.find(id);
    if (it == streams_.end()) return;
    close_stream(*it->second);
    StreamMap::node_type node = streams_.extract(it);
    if (spare_streams_.size() < limits().max_streams) spare_streams_.push_back(std::move(node));
  }

  void on_drained(std::int32_t id) override {
    if (Stream* s = find(id)) s->wake.notify();
  }

  // Scratch for a stream: a spare one if there is one. Kept are as many as streams ran at once
  // (128 at most); the watchdog lets them go when the connection is idle.
  std::unique_ptr<Scratch> lend_scratch() {
    if (spare_.empty()) return std::make_unique<Scratch>();
    auto scratch = std::move(spare_.back());
    spare_.pop_back();
    return scratch;
  }
  void take_back(std::unique_ptr<Scratch> scratch) {
    if (spare_.size() < limits().max_streams) spare_.push_back(std::move(scratch));
  }

  Stream* find(std::int32_t id) {
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second.get();
  }

  void close_stream(Stream& s) {
    s.closed = true;
    // Body bytes that will never reach the app still count against the connection's window.
    engine_.consume(s.id, s.upload.size());
    s.upload.clear();
    if (s.upstream) {
      boost::system::error_code ec;
      s.upstream->close(ec);
    }
    s.wake.notify();
  }

  // --- the connection's bytes.
  asio::awaitable<void> reader() {
    for (;;) {
      auto [ec, n] =
          co_await client_.async_read_some(asio::buffer(read_buffer_.get(), kReadSize), nothrow);
      if (ec) co_return;  // the client is gone: so is the connection
      received_anything_ = true;
      last_read_ = Clock::now();
      const bool go_on = engine_.receive({read_buffer_.get(), n});
      for (auto& stream : starting_) start(std::move(stream));
      starting_.clear();
      write_wake_.notify();
      if (!go_on) break;
    }
    // The engine reads no more (a protocol error, a flood): the writer sends its GOAWAY and ends.
    Signal never(executor_);
    co_await never.wait();
  }

  asio::awaitable<void> writer() {
    std::string out;
    for (;;) {
      out.clear();
      engine_.send(out, kWriteSize);
      if (out.empty()) {
        if (!engine_.wants_read() && !engine_.wants_write()) co_return;
        co_await write_wake_.wait();
        continue;
      }
      writing_since_ = Clock::now();
      auto [ec, n] = co_await asio::async_write(client_, asio::buffer(out), nothrow);
      writing_since_ = Clock::time_point::max();
      if (ec) co_return;
    }
  }

  // Ends connections that are idle, that never spoke, whose client keeps a window shut on a
  // waiting response or stops reading, and those whose GOAWAY the client does not act on.
  asio::awaitable<void> watchdog() {
    const auto& settings = shared_.settings;
    const auto tick = std::clamp<Clock::duration>(
        settings.header_timeout / 4, std::chrono::milliseconds(10), std::chrono::seconds(1));
    asio::steady_timer timer(executor_);
    auto ending_since = Clock::time_point::max();
    auto next_look = Clock::now() + settings.header_timeout;
    for (;;) {
      timer.expires_after(tick);
      co_await timer.async_wait(nothrow);
      const auto now = Clock::now();
      if (ending_since != Clock::time_point::max()) {
        if (now - ending_since > std::chrono::seconds(2)) co_return;
        continue;
      }
      if (now >= next_look) {
        next_look = now + settings.header_timeout;
        cut_stalled_streams();
      }
      // An idle connection keeps no stream's scratch nor spare body blocks: the next request
      // makes them again, which costs little beside its round trip.
      if (engine_.open_streams() == 0) {
        spare_.clear();
        spare_streams_.clear();
        let_idle_servers_go();
        engine_.trim();
      }
      const auto idle_limit =
          received_anything_ ? settings.keepalive_timeout : settings.header_timeout;
      if (engine_.open_streams() == 0 && now - last_read_ > idle_limit) {
        engine_.terminate(h2::ErrorCode::no_error);
      } else if (engine_.anything_queued() &&
                 now - engine_.last_data_sent() > settings.header_timeout) {
        engine_.terminate(h2::ErrorCode::enhance_your_calm);
      } else if (writing_since_ != Clock::time_point::max() &&
                 now - writing_since_ > settings.header_timeout) {
        co_return;  // the client reads nothing: not even a GOAWAY would reach it
      } else {
        continue;
      }
      ending_since = now;
      write_wake_.notify();
    }
  }

  // A stream whose upload has not moved since the last look, held still by the client or by the
  // app (proxy/stall_watch.hpp): its app connection closes, and forward() ends it cut short.
  void cut_stalled_streams() {
    for (auto& [id, s] : streams_) {
      if (!s->upstream) continue;
      const bool stalled = s->stalls.waiting > 0 && s->stalls.moves == s->stall_moves_seen;
      s->stall_moves_seen = s->stalls.moves;
      if (!stalled) continue;
      s->stalled = true;
      boost::system::error_code ec;
      s->upstream->close(ec);
    }
  }

  // --- the coroutines that serve the streams.
  // A connection keeps as many as it had streams at once, and hands a new stream to one that is
  // idle: a busy connection then starts no coroutine per request. The watchdog lets the idle ones
  // go when the connection is idle, as it does with the streams' scratch.
  struct IdleServer {
    explicit IdleServer(const asio::any_io_executor& executor) : wake(executor) {}
    Signal wake;
    std::shared_ptr<Stream> next;  // the stream it is handed; none: it ends
  };

  void start(std::shared_ptr<Stream> stream) {
    if (idle_servers_.empty()) {
      asio::co_spawn(executor_, server(std::move(stream)), asio::detached);
      return;
    }
    IdleServer& idle = *idle_servers_.back();
    idle_servers_.pop_back();
    idle.next = std::move(stream);
    idle.wake.notify();
  }

  asio::awaitable<void> server(std::shared_ptr<Stream> stream) {
    auto self = shared_from_this();
    IdleServer idle(executor_);
    while (stream) {
      co_await serve(std::move(stream));
      if (ended_) co_return;
      idle_servers_.push_back(&idle);
      co_await idle.wake.wait();
      stream = std::move(idle.next);
    }
  }

  void let_idle_servers_go() {
    for (IdleServer* idle : idle_servers_) idle->wake.notify();
    idle_servers_.clear();
  }

  // --- one stream, from its request to the end of its answer.
  asio::awaitable<void> serve(std::shared_ptr<Stream> s) {
    auto self = shared_from_this();
    if (s->closed) co_return;  // reset before it began
    const auto started = Clock::now();
    Served x;
    x.websocket = h2::is_websocket(s->request);
    x.head_request = s->request.method == "HEAD";
    for (const auto& f : s->request.fields) {
      if (f.name == "accept") x.html = wants_html(f.value);
    }
    struct Lent {
      Connection& connection;
      std::unique_ptr<Scratch> scratch;
      ~Lent() { connection.take_back(std::move(scratch)); }
    } lent{*this, lend_scratch()};
    http::Head& request = lent.scratch->request;
    h2::Refusal refusal;
    if (s->request.too_large) {
      refusal = {431, "the request's header list is larger than 64 KiB"};
    } else {
      refusal = h2::to_http1(s->request, s->body_done && s->upload.empty(),
                             x.websocket ? websocket_key() : std::string(), request);
    }
    if (refusal.status) {
      answer(*s, x, refusal.status, plain_error_page(refusal.status, refusal.what, x.html));
      co_return;
    }
    const std::string& host = request.headers.front().value;  // to_http1 puts Host first
    Destination d = find_destination(shared_, request, host, true, x.html);
    if (d.kind == Destination::Kind::boot) {
      co_await wait_for_app(shared_, thread_.pool, request, d, x.html);
      if (s->closed) co_return;
    }
    if (d.kind != Destination::Kind::app) {
      answer(*s, x, d.status, d.page);
      co_return;
    }
    co_await forward(s, request, d.route, x, started, *lent.scratch);
    s->finished = true;
    engine_.consume(s->id, s->upload.size());
    s->upload.clear();
  }

  // rp's own answer on the stream.
  void answer(Stream& s, const Served& x, int status, const Page& page) {
    s.finished = true;
    if (s.closed) return;
    const bool no_body = x.head_request || page.body.empty();
    std::vector<http::Header> fields{{"content-type", page.content_type},
                                     {"content-length", std::to_string(page.body.size())},
                                     {"cache-control", "no-store"},
                                     {"server", "rp"}};
    for (const auto& h : page.headers) fields.push_back({h2::lower_case(h.name), h.value});
    engine_.respond(s.id, status, fields, no_body);
    if (!no_body) {
      engine_.write(s.id, page.body);
      engine_.end(s.id);
    }
    write_wake_.notify();
  }

  asio::awaitable<void> forward(const std::shared_ptr<Stream>& s, const http::Head& request,
                                const Route& route, Served& x, Clock::time_point started,
                                Scratch& scratch) {
    auto instance = pick_instance(*route.app, route.process, thread_.round_robin);
    if (!instance) {
      answer(*s, x, 502,
             upstream_error_page(502, *route.app, route.process,
                                 "No instance of this process runs (formation 0?).", x.html));
      co_return;
    }
    InFlight in_flight(instance, route.app->activity);
    const bool has_body = !s->body_done || !s->upload.empty();
    for (int attempt = 0;; ++attempt) {
      // A kept-alive connection if there is one (not for the retry), else a new one.
      std::optional<Upstream> taken;
      if (attempt == 0) taken = thread_.pool.take_idle(instance);
      if (!taken) {
        taken = co_await thread_.pool.dial(instance);
        if (s->closed) co_return;
      }
      Upstream& upstream = *taken;
      if (upstream.result != Upstream::Result::connected) {
        const auto failure = connect_failure(upstream, *instance);
        answer(
            *s, x, failure.status,
            upstream_error_page(failure.status, *route.app, route.process, failure.what, x.html));
        co_return;
      }
      s->upstream = &upstream.socket;
      End end = co_await exchange(s, request, x, upstream.socket, scratch);
      s->upstream = nullptr;
      if (s->stalled) end = End::aborted;  // cut by the watchdog: a reset, not a 502
      if (end == End::stale && upstream.reused && attempt == 0 && !has_body &&
          idempotent(request.method) && !s->closed) {
        continue;  // the app had closed the kept-alive connection: once more on a new one
      }
      if (end == End::stale || end == End::failed_before_response) {
        const std::string what = fmt::format("{} closed the connection without an answer{}.",
                                             instance->label, x.relay_error);
        answer(*s, x, 502, upstream_error_page(502, *route.app, route.process, what, x.html));
        co_return;
      }
      const auto took =
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
      thread_.access_log.add(
          route.app->name,
          access_text(s->request.method, request.target, x.status, x.bytes, took, instance->label,
                      end == End::aborted ? "h2 cut short" : "h2"));
      if (end == End::aborted) {
        if (!s->closed) {
          engine_.reset(s->id, h2::ErrorCode::internal_error);
          write_wake_.notify();
        }
        co_return;
      }
      // The app's connection goes back to the pool before the client learns that the answer is
      // complete (END_STREAM): its next request, sent at once, finds it there.
      if (x.upstream_reusable && upstream.socket.is_open()) {
        thread_.pool.release(instance, std::move(upstream.socket));
      }
      engine_.end(s->id);
      write_wake_.notify();
      co_return;
    }
  }

  // Sends the request to the app and relays its answer, the body streaming up meanwhile.
  asio::awaitable<End> exchange(const std::shared_ptr<Stream>& s, const http::Head& request,
                                Served& x, tcp::socket& upstream, Scratch& scratch) {
    Output& out = scratch.request_out;
    out.clear();
    out.add_own([&](std::string& text) {
      http::append_upstream_request(text, request, info_, shared_.pseudonym);
    });
    // The body that came while the request waited (it is at most a window's worth).
    std::string& body = scratch.pending;
    body.clear();
    std::swap(body, s->upload);
    out.body(body, request.chunked);
    if (s->body_done && request.chunked) out.last_chunk();
    boost::system::error_code ec;
    {
      StallWatch::Wait wait(s->stalls);
      if (!out.try_flush(upstream, ec)) ec = co_await out.flush(upstream);
    }
    engine_.consume(s->id, body.size());
    body.clear();
    write_wake_.notify();
    if (ec) {
      x.relay_error = " (" + ec.message() + ")";
      co_return End::stale;
    }
    if (s->body_done && s->upload.empty() && !request.upgrade) {
      // Nothing more to send: the answer is all there is to wait for (a reset of the stream
      // closes the app's connection under the relay).
      co_return co_await relay(s, x, upstream, scratch);
    }
    auto result = co_await (pump(s, request, upstream, s->body_done, scratch) ||
                            relay(s, x, upstream, scratch));
    if (result.index() == 0) co_return End::aborted;
    co_return std::get<1>(result);
  }

  // The request body (or a WebSocket's bytes), up to the app as it comes, credited back to the
  // client as it is sent. Then waits: returns only when the stream is closed under it.
  asio::awaitable<void> pump(std::shared_ptr<Stream> s, const http::Head& request,
                             tcp::socket& upstream, bool sent_all, Scratch& scratch) {
    Output& out = scratch.body_out;
    out.clear();
    std::string& taking = scratch.taking;
    bool upstream_gone = false;
    // One wait, on the client for the body and on the app to take it, moving a KiB at a time.
    // (A WebSocket's bytes are not timed: it may stay quiet as long as it likes.)
    std::optional<StallWatch::Wait> body_wait;
    if (!sent_all && !request.upgrade) body_wait.emplace(s->stalls);
    for (;;) {
      while (!s->closed && s->upload.empty() && (sent_all || !s->body_done)) {
        co_await s->wake.wait();
      }
      if (s->closed) co_return;
      taking.clear();
      std::swap(taking, s->upload);
      s->stalls.arrived(taking.size());
      const bool last = s->body_done;  // what is taken now is all there is
      if (!upstream_gone) {
        if (request.upgrade) {
          out.add_view(taking);
        } else {
          out.body(taking, request.chunked);
          if (last && request.chunked) out.last_chunk();
        }
        boost::system::error_code ec;
        if (!out.try_flush(upstream, ec)) ec = co_await out.flush(upstream);
        if (ec) upstream_gone = true;  // the app stopped reading; its answer may still come
      }
      engine_.consume(s->id, taking.size());
      write_wake_.notify();
      if (last) {
        sent_all = true;
        body_wait.reset();
        if (request.upgrade && !upstream_gone) {
          boost::system::error_code ignored;
          upstream.shutdown(tcp::socket::shutdown_send, ignored);
        }
      }
    }
  }

  // The app's answer, back on the stream as it comes; after a WebSocket's 101, its bytes. The
  // end of the stream is forward()'s to send, once the app's connection is back in the pool.
  asio::awaitable<End> relay(std::shared_ptr<Stream> s, Served& x, tcp::socket& upstream,
                             Scratch& scratch) {
    char* const buffer = scratch.buffer.get();
    http::Parser& parser = scratch.parser;
    parser.reset();
    parser.expect_no_body(x.head_request);
    bool received = false;
    bool tunnel = false;
    for (;;) {
      while (!s->closed && engine_.queued(s->id) > h2::Engine::kHighWater) {
        co_await s->wake.wait();
      }
      if (s->closed) co_return End::aborted;
      auto [ec, n] =
          co_await upstream.async_read_some(asio::buffer(buffer, kUpstreamRead), nothrow);
      if (s->closed) co_return End::aborted;
      if (ec) {
        if (tunnel || (ec == asio::error::eof && parser.body_until_close())) {
          co_return End::complete;
        }
        x.relay_error = " (" + ec.message() + ")";
        if (!received) co_return End::stale;
        co_return x.response_started ? End::aborted : End::failed_before_response;
      }
      received = true;
      std::string_view data(buffer, n);
      if (tunnel) {
        x.bytes += n;
        engine_.write(s->id, data);
        write_wake_.notify();
        continue;
      }
      while (!data.empty()) {
        auto step = parser.feed(data);
        data.remove_prefix(step.consumed);
        if (step.status == http::Parser::Status::error) {
          x.relay_error = " (its response is not valid HTTP: " + parser.error() + ")";
          co_return x.response_started ? End::aborted : End::failed_before_response;
        }
        const bool message_done = step.ended();
        const http::Head& head = parser.head();
        if (!x.response_started && (message_done || parser.head_complete())) {
          if (head.status >= 100 && head.status < 200 && head.status != 101) {
            // Interim: 103 Early Hints goes on ahead; 100 Continue is HTTP/1.1's own business.
            if (head.status == 103) {
              h2::response_fields(head, fields_);
              engine_.inform(s->id, 103, fields_);
            }
            continue;
          }
          if (head.status == 101 && !x.websocket) {
            x.relay_error = " (it switched protocols unasked)";
            co_return End::failed_before_response;
          }
          x.status = h2::response_status(head.status, x.websocket);
          h2::response_fields(head, fields_);
          const bool empty = message_done && step.body.empty() && head.status != 101;
          engine_.respond(s->id, x.status, fields_, empty);
          x.response_started = true;
        }
        for (auto part : step.body) {
          x.bytes += part.size();
          engine_.write(s->id, part);
        }
        if (message_done) {
          if (head.status == 101) {
            tunnel = true;
            x.bytes += data.size();
            engine_.write(s->id, data);
            break;
          }
          x.upstream_reusable = head.keep_alive && data.empty() && s->body_done;
          co_return End::complete;
        }
      }
      write_wake_.notify();
    }
  }

  ProxyThread& thread_;
  ProxyShared& shared_;
  const std::shared_ptr<void> owner_;  // the session, which holds client_
  TlsStream& client_;
  const http::ClientInfo info_;
  asio::any_io_executor executor_;
  h2::Engine engine_;
  Signal write_wake_;
  std::unique_ptr<char[]> read_buffer_;
  using StreamMap = std::unordered_map<std::int32_t, std::shared_ptr<Stream>>;
  StreamMap streams_;
  std::vector<StreamMap::node_type> spare_streams_;  // of streams that ended, for the next ones
  std::vector<std::shared_ptr<Stream>> starting_;    // requests read, not yet handed to a server
  std::vector<IdleServer*> idle_servers_;            // servers waiting for a stream
  bool ended_ = false;                               // run() is over: servers end with their stream
  std::vector<http::Header> fields_;                 // a response head's, reused
  std::vector<std::unique_ptr<Scratch>> spare_;
  bool received_anything_ = false;
  Clock::time_point last_read_ = Clock::now();
  Clock::time_point writing_since_ = Clock::time_point::max();
};

}  // namespace

asio::awaitable<void> serve_h2(ProxyThread& thread, TlsStream& client, const http::ClientInfo& info,
                               std::shared_ptr<void> owner) {
  auto connection = std::make_shared<Connection>(thread, client, info, std::move(owner));
  co_await connection->run();
}

}  // namespace rp::proxy
