// The HTTP/2 engine (proxy/h2/engine) against a real client: an nghttp2 client session in the
// test, the two exchanging bytes in memory. What a client sends reaches the Handler as requests
// and bodies; what the handler answers reaches the client; both directions respect flow control;
// the server's SETTINGS and its defences (floods, oversized header lists, a bad preface) are what
// engine.hpp promises.
#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/h2/engine.hpp"

using rp::h2::Engine;
using rp::h2::Limits;
using rp::h2::Request;
using rp::http::Header;

namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

const Fields kGet{{":method", "GET"},     {":scheme", "https"},      {":authority", "shop.test"},
                  {":path", "/cart?x=1"}, {"user-agent", "rp-test"}, {"accept", "*/*"}};

const Fields kPost{
    {":method", "POST"}, {":scheme", "https"}, {":authority", "shop.test"}, {":path", "/orders"}};

// What the engine hands over, stream by stream.
class Recorder final : public Engine::Handler {
 public:
  struct Seen {
    Request request;
    bool end_stream = false;
    std::string body;
    bool body_ended = false;
    bool closed = false;
    int drained = 0;
  };

  std::map<std::int32_t, Seen> streams;
  bool keep_body = false;            // on_body's answer: true, the test calls consume() itself
  std::optional<Request> give_back;  // what on_request leaves the engine (else an empty one)
  // Called at the end of on_request, as the engine's caller would answer.
  std::function<void(std::int32_t)> answer;

  void on_request(std::int32_t stream, Request& request, bool end_stream) override {
    Seen& seen = streams[stream];
    if (give_back) seen.request = *give_back;
    std::swap(seen.request, request);  // as the session does: the engine reuses what it gets back
    seen.end_stream = end_stream;
    if (answer) answer(stream);
  }
  bool on_body(std::int32_t stream, std::string_view data) override {
    streams[stream].body.append(data);
    return keep_body;
  }
  void on_body_end(std::int32_t stream) override { streams[stream].body_ended = true; }
  void on_close(std::int32_t stream) override { streams[stream].closed = true; }
  void on_drained(std::int32_t stream) override { ++streams[stream].drained; }
};

struct ClientOptions {
  std::vector<nghttp2_settings_entry> settings;
  bool manual_window = false;  // the test decides when the server may send more
};

// An HTTP/2 client on nghttp2, with no socket: submit requests, then output() and receive().
class Client {
 public:
  struct Response {
    std::vector<int> statuses;  // interim ones first
    std::vector<Header> fields;
    std::string body;
    std::size_t unconsumed = 0;  // body bytes not yet credited back (manual_window)
    bool ended = false;
    std::optional<std::uint32_t> closed;  // the error code it closed with
  };

  explicit Client(const ClientOptions& options = {}) {
    nghttp2_session_callbacks* callbacks = nullptr;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, &on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &on_frame);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &on_close);
    nghttp2_option* option = nullptr;
    nghttp2_option_new(&option);
    nghttp2_option_set_no_auto_window_update(option, options.manual_window ? 1 : 0);
    nghttp2_option_set_max_send_header_block_length(option, 1 << 20);
    nghttp2_session_client_new2(&session_, callbacks, this, option);
    nghttp2_option_del(option);
    nghttp2_session_callbacks_del(callbacks);
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, options.settings.data(),
                            options.settings.size());
  }
  ~Client() { nghttp2_session_del(session_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  std::int32_t request(const Fields& fields, std::optional<std::string> body = std::nullopt) {
    std::vector<nghttp2_nv> nv;
    for (const auto& [name, value] : fields) {
      nv.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE});
    }
    nghttp2_data_provider provider{};
    if (body) {
      uploads_.push_back({std::move(*body), 0});
      provider.source.ptr = &uploads_.back();
      provider.read_callback = &read_upload;
    }
    const std::int32_t id = nghttp2_submit_request(session_, nullptr, nv.data(), nv.size(),
                                                   body ? &provider : nullptr, nullptr);
    REQUIRE(id > 0);
    return id;
  }

  void ping() { REQUIRE(nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr) == 0); }

  // Credits back what the client has read of each response (manual_window).
  void consume() {
    for (auto& [id, response] : responses) {
      if (response.unconsumed == 0) continue;
      nghttp2_session_consume(session_, id, response.unconsumed);
      response.unconsumed = 0;
    }
  }

  // Everything the client has to send.
  std::string output() {
    std::string out;
    for (;;) {
      const std::uint8_t* data = nullptr;
      const auto n = nghttp2_session_mem_send(session_, &data);
      REQUIRE(n >= 0);
      if (n == 0) return out;
      out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
  }

  void receive(std::string_view bytes) {
    const auto n = nghttp2_session_mem_recv(
        session_, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    REQUIRE(n == static_cast<ssize_t>(bytes.size()));
  }

  std::map<std::int32_t, Response> responses;
  std::vector<nghttp2_settings_entry> server_settings;
  std::optional<std::uint32_t> goaway;  // the error code of the server's GOAWAY
  int ping_acks = 0;

 private:
  struct Upload {
    std::string data;
    std::size_t offset = 0;
  };

  static Client& of(void* user_data) { return *static_cast<Client*>(user_data); }

  static ssize_t read_upload(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                             std::uint32_t* flags, nghttp2_data_source* source, void*) {
    auto& upload = *static_cast<Upload*>(source->ptr);
    const std::size_t n = std::min(length, upload.data.size() - upload.offset);
    std::copy_n(upload.data.data() + upload.offset, n, buf);
    upload.offset += n;
    if (upload.offset == upload.data.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t name_size, const std::uint8_t* value, std::size_t value_size,
                       std::uint8_t, void* user_data) {
    Response& response = of(user_data).responses[frame->hd.stream_id];
    const std::string n(reinterpret_cast<const char*>(name), name_size);
    const std::string v(reinterpret_cast<const char*>(value), value_size);
    if (n == ":status") {
      response.statuses.push_back(std::stoi(v));
    } else {
      response.fields.push_back({n, v});
    }
    return 0;
  }

  static int on_data(nghttp2_session*, std::uint8_t, std::int32_t id, const std::uint8_t* data,
                     std::size_t size, void* user_data) {
    Response& response = of(user_data).responses[id];
    response.body.append(reinterpret_cast<const char*>(data), size);
    response.unconsumed += size;
    return 0;
  }

  static int on_frame(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    Client& self = of(user_data);
    const bool ack = frame->hd.flags & NGHTTP2_FLAG_ACK;
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS:
      case NGHTTP2_DATA:
        if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
          self.responses[frame->hd.stream_id].ended = true;
        }
        break;
      case NGHTTP2_SETTINGS:
        if (!ack) {
          self.server_settings.assign(frame->settings.iv, frame->settings.iv + frame->settings.niv);
        }
        break;
      case NGHTTP2_PING:
        if (ack) ++self.ping_acks;
        break;
      case NGHTTP2_GOAWAY:
        self.goaway = frame->goaway.error_code;
        break;
      default:
        break;
    }
    return 0;
  }

  static int on_close(nghttp2_session*, std::int32_t id, std::uint32_t error, void* user_data) {
    of(user_data).responses[id].closed = error;
    return 0;
  }

  nghttp2_session* session_ = nullptr;
  std::list<Upload> uploads_;  // a provider points into it: no element moves
};

// Moves bytes both ways until neither side has more to send. Returns what the engine's last
// receive() said.
bool exchange(Client& client, Engine& engine) {
  bool reading = true;
  for (int round = 0; round < 1000; ++round) {
    const std::string up = client.output();
    if (!up.empty()) reading = engine.receive(up);
    std::string down;
    engine.send(down, 1 << 20);
    if (!down.empty()) client.receive(down);
    if (up.empty() && down.empty()) return reading;
  }
  FAIL("the exchange never settles");
  return false;
}

// The value of a setting the server sent, or nothing.
std::optional<std::uint32_t> setting(const Client& client, std::int32_t id) {
  for (const auto& entry : client.server_settings) {
    if (entry.settings_id == id) return entry.value;
  }
  return std::nullopt;
}

// A field's value in `fields`, or nothing.
std::optional<std::string> field(const std::vector<Header>& fields, std::string_view name) {
  for (const auto& f : fields) {
    if (f.name == name) return f.value;
  }
  return std::nullopt;
}

const std::string kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// A frame as a client would write it by hand.
std::string frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream,
                  std::string_view payload) {
  const auto length = static_cast<std::uint32_t>(payload.size());
  std::string out{static_cast<char>(length >> 16), static_cast<char>(length >> 8),
                  static_cast<char>(length),       static_cast<char>(type),
                  static_cast<char>(flags),        static_cast<char>(stream >> 24),
                  static_cast<char>(stream >> 16), static_cast<char>(stream >> 8),
                  static_cast<char>(stream)};
  out.append(payload);
  return out;
}

// The error code of the first GOAWAY in `frames` (the server's bytes), or nothing.
std::optional<std::uint32_t> goaway_in(std::string_view frames) {
  auto byte = [&](std::size_t i) { return static_cast<std::uint32_t>(std::uint8_t(frames[i])); };
  while (frames.size() >= 9) {
    const std::size_t length = byte(0) << 16 | byte(1) << 8 | byte(2);
    if (frames.size() < 9 + length) break;
    if (byte(3) == 0x7 && length >= 8)
      return byte(13) << 24 | byte(14) << 16 | byte(15) << 8 | byte(16);
    frames.remove_prefix(9 + length);
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("h2 engine: a GET reaches the handler with its pseudo-headers", "[h2]") {
  Recorder handler;
  Engine engine(handler, Limits{});
  Client client;
  const std::int32_t id = client.request(kGet);
  CHECK(exchange(client, engine));

  REQUIRE(handler.streams.count(id) == 1);
  const auto& seen = handler.streams[id];
  CHECK(seen.request.method == "GET");
  CHECK(seen.request.scheme == "https");
  CHECK(seen.request.authority == "shop.test");
  CHECK(seen.request.path == "/cart?x=1");
  CHECK(seen.request.protocol.empty());
  REQUIRE(seen.request.fields.size() == 2);
  CHECK(seen.request.fields[0].name == "user-agent");
  CHECK(seen.request.fields[0].value == "rp-test");
  CHECK(seen.request.fields[1].name == "accept");
  CHECK_FALSE(seen.request.too_large);
  CHECK(seen.end_stream);
  CHECK(seen.body.empty());
  CHECK_FALSE(seen.closed);
  CHECK(engine.open_streams() == 1);
}

TEST_CASE("h2 engine: streams one after another reuse the engine's memory, not its content",
          "[h2]") {
  // The handler gives the engine a used request for each one it takes, as the session does with
  // the Streams that ended: the next request is written over it.
  Recorder handler;
  handler.give_back = Request{};
  handler.give_back->method = "DELETE";
  handler.give_back->path = "/old";
  handler.give_back->fields = {{"x-left-over", "1"}, {"cookie", "old=1"}};
  handler.give_back->too_large = true;
  Engine engine(handler, Limits{});
  Client client;
  handler.answer = [&](std::int32_t id) {
    engine.respond(id, 200, {{"content-length", "2"}}, false);
    engine.write(id, "ok");
    engine.end(id);
  };
  const std::int32_t first = client.request(kGet);
  CHECK(exchange(client, engine));
  const std::int32_t second = client.request(
      {{":method", "GET"}, {":scheme", "https"}, {":authority", "b.test"}, {":path", "/b"}});
  CHECK(exchange(client, engine));
  const std::int32_t third = client.request(kPost, std::string("x"));
  CHECK(exchange(client, engine));

  CHECK(handler.streams[first].request.fields.size() == 2);
  const Request& b = handler.streams[second].request;
  CHECK(b.method == "GET");
  CHECK(b.path == "/b");
  CHECK(b.authority == "b.test");
  CHECK(b.fields.empty());
  CHECK_FALSE(b.too_large);
  CHECK(handler.streams[third].request.method == "POST");
  CHECK(handler.streams[third].body == "x");
  for (auto id : {first, second, third}) {
    CHECK(client.responses[id].body == "ok");
    CHECK(client.responses[id].ended);
    CHECK(handler.streams[id].closed);
  }
  CHECK(engine.open_streams() == 0);
}

TEST_CASE("h2 engine: a POST's body arrives through on_body, then on_body_end", "[h2]") {
  Recorder handler;
  Engine engine(handler, Limits{});
  Client client;
  std::string body = "name=rp&notes=";
  body.append(40000, 'x');
  const std::int32_t id = client.request(kPost, body);
  CHECK(exchange(client, engine));

  const auto& seen = handler.streams[id];
  CHECK(seen.request.method == "POST");
  CHECK_FALSE(seen.end_stream);
  CHECK(seen.body == body);
  CHECK(seen.body_ended);
}

TEST_CASE("h2 engine: respond, write and end reach the client as a response", "[h2]") {
  Recorder handler;
  Engine engine(handler, Limits{});
  Client client;

  SECTION("with a body") {
    handler.answer = [&](std::int32_t id) {
      engine.respond(id, 200, {{"content-type", "text/plain"}, {"content-length", "11"}}, false);
      engine.write(id, "hello ");
      engine.write(id, "world");
      engine.end(id);
    };
    const std::int32_t id = client.request(kGet);
    CHECK(exchange(client, engine));
    const auto& response = client.responses[id];
    CHECK(response.statuses == std::vector<int>{200});
    CHECK(field(response.fields, "content-type") == "text/plain");
    CHECK(response.body == "hello world");
    CHECK(response.ended);
    CHECK(response.closed == NGHTTP2_NO_ERROR);
    CHECK(handler.streams[id].closed);
    CHECK(engine.open_streams() == 0);
    CHECK(engine.queued(id) == 0);
  }
  SECTION("without a body, after an interim response") {
    handler.answer = [&](std::int32_t id) {
      engine.inform(id, 103, {{"link", "</app.css>; rel=preload"}});
      engine.respond(id, 204, {{"server", "app"}}, true);
    };
    const std::int32_t id = client.request(kGet);
    CHECK(exchange(client, engine));
    const auto& response = client.responses[id];
    CHECK(response.statuses == std::vector<int>{103, 204});
    CHECK(field(response.fields, "link") == "</app.css>; rel=preload");
    CHECK(field(response.fields, "server") == "app");
    CHECK(response.body.empty());
    CHECK(response.ended);
    CHECK(handler.streams[id].closed);
  }
  SECTION("later, after the request's exchange settled") {
    const std::int32_t id = client.request(kPost, std::string("ping"));
    CHECK(exchange(client, engine));
    engine.respond(id, 201, {}, false);
    CHECK(exchange(client, engine));
    CHECK(client.responses[id].statuses == std::vector<int>{201});
    CHECK_FALSE(client.responses[id].ended);  // the body is waited for
    engine.write(id, "pong");
    engine.end(id);
    CHECK(exchange(client, engine));
    CHECK(client.responses[id].body == "pong");
    CHECK(client.responses[id].ended);
  }
}

TEST_CASE("h2 engine: a response body goes out as the client's window opens", "[h2]") {
  Recorder handler;
  Engine engine(handler, Limits{});
  Client client({{{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 16384}}, true});
  // Bytes that differ along the body, written in pieces that do not line up with the engine's
  // blocks or the frames: a piece sent twice, lost or out of order shows.
  std::string body(200 * 1024, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i * 7 % 26);
  handler.answer = [&](std::int32_t id) {
    engine.respond(id, 200, {}, false);
    for (std::size_t at = 0; at < body.size(); at += 7001) {
      engine.write(id, std::string_view(body).substr(at, 7001));
    }
    engine.end(id);
  };
  const std::int32_t id = client.request(kGet);
  CHECK(exchange(client, engine));

  // The client took one window's worth; the rest waits in the engine.
  auto& response = client.responses[id];
  CHECK(response.body.size() == 16384);
  CHECK(engine.queued(id) == body.size() - 16384);
  CHECK(engine.anything_queued());
  CHECK(handler.streams[id].drained == 0);

  int rounds = 0;
  while (!response.ended && rounds++ < 100) {
    const std::size_t had = response.body.size();
    const std::size_t queued = engine.queued(id);
    client.consume();
    CHECK(exchange(client, engine));
    CHECK(response.body.size() > had);           // consuming let more through...
    CHECK(response.body.size() - had <= 65535);  // ...but no more than the windows allow
    CHECK(engine.queued(id) == (response.ended ? 0 : queued - (response.body.size() - had)));
    // on_drained: once, when the queue went below the high-water mark.
    if (queued > Engine::kHighWater && engine.queued(id) <= Engine::kHighWater) {
      CHECK(handler.streams[id].drained == 1);
    }
  }
  CHECK(response.body == body);
  CHECK(response.ended);
  CHECK(handler.streams[id].drained == 1);
  CHECK(handler.streams[id].closed);
  CHECK_FALSE(engine.anything_queued());
}

TEST_CASE("h2 engine: a request body is credited back only as the handler consumes it", "[h2]") {
  Recorder handler;
  handler.keep_body = true;
  Engine engine(handler, Limits{});
  Client client;
  const std::string body(512 * 1024, 'u');
  const std::int32_t id = client.request(kPost, body);
  CHECK(exchange(client, engine));

  auto& seen = handler.streams[id];
  CHECK(seen.body.size() == static_cast<std::size_t>(Limits{}.stream_window));
  CHECK_FALSE(seen.body_ended);

  engine.consume(id, seen.body.size());
  CHECK(exchange(client, engine));
  CHECK(seen.body.size() == body.size());
  CHECK(seen.body_ended);
}

TEST_CASE("h2 engine: the server's SETTINGS", "[h2]") {
  Recorder handler;
  Engine engine(handler, Limits{});
  Client client;
  CHECK(exchange(client, engine));
  CHECK(setting(client, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS) == 128u);
  CHECK(setting(client, NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL) == 1u);
  CHECK(setting(client, NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE) == 256u * 1024);
}

TEST_CASE("h2 engine: a PING flood ends the connection with ENHANCE_YOUR_CALM", "[h2]") {
  Recorder handler;
  Engine engine(handler, Limits{});
  Client client;

  SECTION("answered as they come: the engine's count of control frames") {
    CHECK(exchange(client, engine));
    int sent = 0;
    bool reading = true;
    while (reading && sent < 2000) {
      for (int i = 0; i < 100; ++i) client.ping();
      sent += 100;
      reading = engine.receive(client.output());
      std::string down;
      engine.send(down, 1 << 20);
      client.receive(down);
    }
    CHECK(sent == 1000);  // receive() said so with the thousandth
    CHECK(client.ping_acks >= 900);
  }
  SECTION("with the preface, in one read: nghttp2's count of unsent acknowledgements") {
    for (int i = 0; i < 1100; ++i) client.ping();
    CHECK_FALSE(engine.receive(client.output()));
    std::string down;
    engine.send(down, 1 << 24);
    client.receive(down);
  }
  CHECK(client.goaway == static_cast<std::uint32_t>(rp::h2::ErrorCode::enhance_your_calm));
  CHECK_FALSE(engine.wants_read());
}

TEST_CASE("h2 engine: a header block in too many CONTINUATION frames ends the connection", "[h2]") {
  Recorder handler;
  Engine engine(handler, Limits{});
  std::string in = kPreface;
  in += frame(0x4, 0, 0, "");                // SETTINGS
  in += frame(0x1, 0x1, 1, "\x82\x87\x84");  // HEADERS (END_STREAM, no END_HEADERS): GET https /
  for (int i = 0; i < 9; ++i) in += frame(0x9, 0, 1, "");  // CONTINUATION, empty
  CHECK_FALSE(engine.receive(in));
  std::string down;
  engine.send(down, 1 << 20);
  CHECK(goaway_in(down) == static_cast<std::uint32_t>(rp::h2::ErrorCode::enhance_your_calm));
  CHECK(handler.streams.empty());
}

TEST_CASE("h2 engine: a header list past 64 KiB comes out marked too large", "[h2]") {
  Recorder handler;
  Engine engine(handler, Limits{});
  Client client;
  handler.answer = [&](std::int32_t id) {
    if (handler.streams[id].request.too_large) engine.respond(id, 431, {}, true);
  };
  Fields fields = kGet;
  for (int i = 0; i < 100; ++i) {
    fields.emplace_back("x-filler-" + std::to_string(i), std::string(1000, 'a' + i % 26));
  }
  const std::int32_t id = client.request(fields);
  CHECK(exchange(client, engine));

  const auto& request = handler.streams[id].request;
  CHECK(request.too_large);
  CHECK(request.size > 64 * 1024);
  CHECK(request.method == "GET");      // pseudo-headers come first: they are kept
  CHECK(request.fields.size() < 100);  // the rest was dropped
  CHECK(client.responses[id].statuses == std::vector<int>{431});
  CHECK(engine.wants_read());  // the connection goes on
}

TEST_CASE("h2 engine: a client that does not speak HTTP/2 is turned away", "[h2]") {
  Recorder handler;
  Engine engine(handler, Limits{});
  CHECK_FALSE(engine.receive("GET / HTTP/1.1\r\nHost: shop.test\r\n\r\n"));
  std::string down;
  engine.send(down, 1 << 20);
  // Its SETTINGS and a GOAWAY, for what it is worth.
  CHECK(goaway_in(down) == static_cast<std::uint32_t>(rp::h2::ErrorCode::protocol_error));
  CHECK_FALSE(engine.wants_read());
  CHECK(handler.streams.empty());
}
