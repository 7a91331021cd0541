#include "proxy/h2/engine.hpp"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_map>

namespace rp::h2 {
namespace {

using Clock = std::chrono::steady_clock;

// Blocks of response body, lent by the engine to its streams' queues and taken back when sent.
constexpr std::size_t kBlockSize = 16 * 1024;
using Block = std::unique_ptr<char[]>;
using SpareBlocks = std::vector<Block>;
constexpr std::size_t kMaxSpareBlocks = 64;  // 1 MiB kept for the connection's next responses

// A stream's response body on its way out: the bytes the app sent and the client was not sent
// yet, in blocks, so that neither growing nor sending moves what waits (a string would be copied
// whole each time it grew, and again each time its sent front was cut off).
class Outbound {
 public:
  bool ended = false;     // end() was called: END_STREAM follows the last byte
  bool deferred = false;  // nghttp2 waits for write() or end() to resume it

  std::size_t size() const { return size_; }

  void append(std::string_view data, SpareBlocks& spares) {
    size_ += data.size();
    while (!data.empty()) {
      if (blocks_.empty() || blocks_.back().end == kBlockSize) blocks_.push_back({lend(spares)});
      Piece& tail = blocks_.back();
      const std::size_t n = std::min(data.size(), kBlockSize - tail.end);
      std::memcpy(tail.bytes.get() + tail.end, data.data(), n);
      tail.end += n;
      data.remove_prefix(n);
    }
  }

  // Moves the first `n` bytes (n <= size()) to the end of `out`.
  void take(std::size_t n, std::string& out, SpareBlocks& spares) {
    size_ -= n;
    while (n > 0) {
      Piece& head = blocks_[head_];
      const std::size_t m = std::min(n, head.end - head.begin);
      out.append(head.bytes.get() + head.begin, m);
      head.begin += m;
      n -= m;
      if (head.begin == head.end) {
        give_back(std::move(head.bytes), spares);
        ++head_;
      }
    }
    if (head_ == blocks_.size()) {
      blocks_.clear();
      head_ = 0;
    } else if (head_ >= 16) {
      // A long body that never drains: the sent pieces go, so that the list stays short.
      blocks_.erase(blocks_.begin(), blocks_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

  // The blocks go back to `spares` (the stream is over), and it is as new for the next stream.
  void release(SpareBlocks& spares) {
    for (std::size_t i = head_; i < blocks_.size(); ++i)
      give_back(std::move(blocks_[i].bytes), spares);
    blocks_.clear();
    head_ = 0;
    size_ = 0;
    ended = deferred = false;
  }

 private:
  struct Piece {
    Block bytes;
    std::size_t begin = 0, end = 0;  // [begin, end) wait to be sent
  };
  static Block lend(SpareBlocks& spares) {
    if (spares.empty()) return Block(new char[kBlockSize]);
    Block b = std::move(spares.back());
    spares.pop_back();
    return b;
  }
  static void give_back(Block b, SpareBlocks& spares) {
    if (spares.size() < kMaxSpareBlocks) spares.push_back(std::move(b));
  }

  std::vector<Piece> blocks_;
  std::size_t head_ = 0;  // blocks_[0, head_) are sent
  std::size_t size_ = 0;
};

}  // namespace

struct Engine::Impl {
  Impl(Handler& handler, const Limits& limits) : handler(handler), limits(limits) {}

  // A stream handed to the handler, and its response body once respond() gave one.
  struct Taken {
    bool responding = false;  // respond() submitted a head with a body to come
    Outbound body;
  };
  using TakenMap = std::unordered_map<std::int32_t, Taken>;

  Handler& handler;
  const Limits limits;
  nghttp2_session* session = nullptr;
  // The request whose header block is arriving: one at a time, as HTTP/2 sends a header block
  // with nothing in between (a stream id of 0: none). The handler swaps it for its spare one.
  std::int32_t incoming_id = 0;
  Request incoming;
  TakenMap taken;
  // Entries of streams that ended, kept for the next ones (their body's block list keeps its
  // room): a busy connection adds and removes streams without allocating.
  std::vector<TakenMap::node_type> spare_taken;
  SpareBlocks spare_blocks;
  std::vector<nghttp2_nv> response_nv;  // name_values' list, kept for the connection
  std::size_t queued_total = 0;
  Clock::time_point last_data_sent = Clock::now();

  // send(): where frames go, and how much is enough for one write.
  std::string* out = nullptr;
  std::size_t out_max = 0;

  // Control frames received in the current second.
  Clock::time_point window_start = Clock::now();
  int control_frames = 0;
  // The engine ended the connection (a flood, a protocol error, terminate()): it reads no more,
  // though nghttp2 goes on reading until its GOAWAY is out.
  bool ending = false;

  static Impl& of(void* user_data) { return *static_cast<Impl*>(user_data); }

  // One more SETTINGS, PING, PRIORITY or empty DATA: past the limit in a second, the connection
  // ends (a peer that sends them in a loop costs rp a core otherwise).
  void count_control_frame() {
    const auto now = Clock::now();
    if (now - window_start > std::chrono::seconds(1)) {
      window_start = now;
      control_frames = 0;
    }
    if (++control_frames > limits.control_frames_per_second) {
      nghttp2_session_terminate_session(session, NGHTTP2_ENHANCE_YOUR_CALM);
      ending = true;
    }
  }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      Impl& self = of(user_data);
      self.incoming_id = frame->hd.stream_id;
      self.incoming.clear();
    }
    return 0;
  }

  // The stream goes to the handler's side.
  void take(std::int32_t id) {
    if (spare_taken.empty()) {
      taken.try_emplace(id);
      return;
    }
    TakenMap::node_type node = std::move(spare_taken.back());
    spare_taken.pop_back();
    node.key() = id;
    taken.insert(std::move(node));
  }

  Outbound* body_of(std::int32_t id) {
    auto it = taken.find(id);
    return it == taken.end() || !it->second.responding ? nullptr : &it->second.body;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t name_size, const std::uint8_t* value, std::size_t value_size,
                       std::uint8_t, void* user_data) {
    Impl& self = of(user_data);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
      return 0;  // trailers: not forwarded (HTTP/1.1 apps rarely read them)
    }
    if (frame->hd.stream_id != self.incoming_id) return 0;
    add_field(self.incoming, {reinterpret_cast<const char*>(name), name_size},
              {reinterpret_cast<const char*>(value), value_size}, self.limits.max_header_list);
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    Impl& self = of(user_data);
    const std::int32_t id = frame->hd.stream_id;
    const bool end_stream = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS:
        if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
          if (id != self.incoming_id) break;
          self.incoming_id = 0;
          self.take(id);
          self.handler.on_request(id, self.incoming, end_stream);
        } else if (end_stream && self.taken.contains(id)) {
          self.handler.on_body_end(id);  // after trailers
        }
        break;
      case NGHTTP2_DATA:
        if (frame->hd.length == 0 && !end_stream) self.count_control_frame();
        if (end_stream && self.taken.contains(id)) self.handler.on_body_end(id);
        break;
      case NGHTTP2_SETTINGS:
      case NGHTTP2_PING:
        if (!(frame->hd.flags & NGHTTP2_FLAG_ACK)) self.count_control_frame();
        break;
      case NGHTTP2_PRIORITY:
      case NGHTTP2_RST_STREAM:  // a burst of resets: rapid reset (CVE-2023-44487)
        self.count_control_frame();
        break;
      default:
        break;
    }
    return 0;
  }

  static int on_data_chunk(nghttp2_session* session, std::uint8_t, std::int32_t id,
                           const std::uint8_t* data, std::size_t size, void* user_data) {
    Impl& self = of(user_data);
    const bool kept = self.taken.contains(id) &&
                      self.handler.on_body(id, {reinterpret_cast<const char*>(data), size});
    if (!kept) nghttp2_session_consume(session, id, size);
    return 0;
  }

  static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t, void* user_data) {
    Impl& self = of(user_data);
    if (id == self.incoming_id) self.incoming_id = 0;
    auto it = self.taken.find(id);
    if (it == self.taken.end()) return 0;
    Taken& stream = it->second;
    self.queued_total -= stream.body.size();
    stream.body.release(self.spare_blocks);
    stream.responding = false;
    TakenMap::node_type node = self.taken.extract(it);
    if (self.spare_taken.size() < self.limits.max_streams) {
      self.spare_taken.push_back(std::move(node));
    }
    self.handler.on_close(id);
    return 0;
  }

  static ssize_t on_send(nghttp2_session*, const std::uint8_t* data, std::size_t size, int,
                         void* user_data) {
    Impl& self = of(user_data);
    if (self.out->size() >= self.out_max) return NGHTTP2_ERR_WOULDBLOCK;
    self.out->append(reinterpret_cast<const char*>(data), size);
    return static_cast<ssize_t>(size);
  }

  static int on_send_data(nghttp2_session*, nghttp2_frame* frame, const std::uint8_t* header,
                          std::size_t length, nghttp2_data_source* source, void* user_data) {
    Impl& self = of(user_data);
    if (self.out->size() >= self.out_max) return NGHTTP2_ERR_WOULDBLOCK;
    auto& body = *static_cast<Outbound*>(source->ptr);
    const std::size_t before = body.size();
    self.out->append(reinterpret_cast<const char*>(header), 9);
    body.take(length, *self.out, self.spare_blocks);
    self.queued_total -= length;
    self.last_data_sent = Clock::now();
    if (before > kHighWater && body.size() <= kHighWater) {
      self.handler.on_drained(frame->hd.stream_id);
    }
    return 0;
  }

  static ssize_t on_read_body(nghttp2_session*, std::int32_t, std::uint8_t*, std::size_t length,
                              std::uint32_t* flags, nghttp2_data_source* source, void*) {
    auto& body = *static_cast<Outbound*>(source->ptr);
    const std::size_t available = body.size();
    if (available == 0 && !body.ended) {
      body.deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    const std::size_t n = std::min(available, length);
    *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    if (body.ended && n == available) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  void resume(std::int32_t id, Outbound& body) {
    if (body.deferred) {
      body.deferred = false;
      nghttp2_session_resume_data(session, id);
    }
  }

  // `fields` as nghttp2 takes them, after ":status", in a list the connection keeps (nghttp2
  // copies them when a response is submitted).
  const std::vector<nghttp2_nv>& name_values(const std::string& status,
                                             const std::vector<http::Header>& fields) {
    std::vector<nghttp2_nv>& nv = response_nv;
    nv.clear();
    auto add = [&nv](std::string_view name, std::string_view value) {
      nv.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE});
    };
    add(":status", status);
    for (const auto& f : fields) add(f.name, f.value);
    return nv;
  }
};

Engine::Engine(Handler& handler, const Limits& limits)
    : impl_(std::make_unique<Impl>(handler, limits)) {
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &Impl::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &Impl::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &Impl::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &Impl::on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &Impl::on_stream_close);
  nghttp2_session_callbacks_set_send_callback(callbacks, &Impl::on_send);
  nghttp2_session_callbacks_set_send_data_callback(callbacks, &Impl::on_send_data);

  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  // Request bodies are credited back as the app takes them (consume()), not as they arrive.
  nghttp2_option_set_no_auto_window_update(option, 1);
  // Rapid reset (CVE-2023-44487), beyond the count of control frames (which ends a burst with
  // ENHANCE_YOUR_CALM): nghttp2 ends a connection that keeps resetting more than 33 streams a
  // second, after a burst of 1000, with a GOAWAY of its own (INTERNAL_ERROR).
  nghttp2_option_set_stream_reset_rate_limit(option, 1000, 33);
  // CONTINUATION flood (CVE-2024-28182): a header block in at most 8 frames after its HEADERS.
  nghttp2_option_set_max_continuations(option, 8);
  // Acknowledgements (of PING and SETTINGS) a client that does not read may leave queued.
  nghttp2_option_set_max_outbound_ack(option, 1000);
  nghttp2_option_set_max_settings(option, 32);

  nghttp2_session_server_new2(&impl_->session, callbacks, impl_.get(), option);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);

  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits.max_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(limits.stream_window)},
      {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1},
  };
  nghttp2_submit_settings(impl_->session, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(impl_->session, NGHTTP2_FLAG_NONE, 0,
                                        limits.connection_window);
}

Engine::~Engine() {
  nghttp2_session_del(impl_->session);
}

bool Engine::receive(std::string_view bytes) {
  const auto n = nghttp2_session_mem_recv(
      impl_->session, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  if (n < 0) {
    // Not HTTP/2 (a bad preface), a fatal protocol error, or a flood nghttp2 caught itself (PING
    // and SETTINGS acknowledgements the client leaves unread, too many CONTINUATION frames): a
    // GOAWAY if one can still go.
    const bool flood = n == NGHTTP2_ERR_FLOODED || n == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS;
    terminate(flood ? ErrorCode::enhance_your_calm : ErrorCode::protocol_error);
    return false;
  }
  return !impl_->ending && nghttp2_session_want_read(impl_->session) != 0;
}

void Engine::send(std::string& out, std::size_t max) {
  impl_->out = &out;
  impl_->out_max = max;
  nghttp2_session_send(impl_->session);
  impl_->out = nullptr;
}

bool Engine::wants_read() const {
  return nghttp2_session_want_read(impl_->session) != 0;
}

bool Engine::wants_write() const {
  return nghttp2_session_want_write(impl_->session) != 0;
}

void Engine::respond(std::int32_t stream, int status, const std::vector<http::Header>& fields,
                     bool end_stream) {
  if (!nghttp2_session_find_stream(impl_->session, stream)) return;  // reset meanwhile
  const std::string code = std::to_string(status);
  const auto& nv = impl_->name_values(code, fields);
  auto it = impl_->taken.find(stream);
  if (end_stream || it == impl_->taken.end()) {
    nghttp2_submit_response(impl_->session, stream, nv.data(), nv.size(), nullptr);
    return;
  }
  Impl::Taken& taken = it->second;
  nghttp2_data_provider provider{};
  provider.source.ptr = &taken.body;
  provider.read_callback = &Impl::on_read_body;
  taken.responding =
      nghttp2_submit_response(impl_->session, stream, nv.data(), nv.size(), &provider) == 0;
}

void Engine::inform(std::int32_t stream, int status, const std::vector<http::Header>& fields) {
  if (!nghttp2_session_find_stream(impl_->session, stream)) return;
  const std::string code = std::to_string(status);
  const auto& nv = impl_->name_values(code, fields);
  nghttp2_submit_headers(impl_->session, NGHTTP2_FLAG_NONE, stream, nullptr, nv.data(), nv.size(),
                         nullptr);
}

void Engine::write(std::int32_t stream, std::string_view data) {
  Outbound* found = impl_->body_of(stream);
  if (!found || data.empty()) return;
  Outbound& body = *found;
  body.append(data, impl_->spare_blocks);
  // The clock of a response held back by the client's window starts when something waits.
  if (impl_->queued_total == 0) impl_->last_data_sent = Clock::now();
  impl_->queued_total += data.size();
  impl_->resume(stream, body);
}

void Engine::end(std::int32_t stream) {
  Outbound* body = impl_->body_of(stream);
  if (!body) return;
  body->ended = true;
  impl_->resume(stream, *body);
}

std::size_t Engine::queued(std::int32_t stream) const {
  const Outbound* body = impl_->body_of(stream);
  return body ? body->size() : 0;
}

bool Engine::anything_queued() const {
  return impl_->queued_total > 0;
}

std::chrono::steady_clock::time_point Engine::last_data_sent() const {
  return impl_->last_data_sent;
}

void Engine::reset(std::int32_t stream, ErrorCode error) {
  nghttp2_submit_rst_stream(impl_->session, NGHTTP2_FLAG_NONE, stream,
                            static_cast<std::uint32_t>(error));
}

void Engine::consume(std::int32_t stream, std::size_t bytes) {
  if (bytes > 0) nghttp2_session_consume(impl_->session, stream, bytes);
}

void Engine::shut_down() {
  nghttp2_submit_goaway(impl_->session, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(impl_->session), NGHTTP2_NO_ERROR,
                        nullptr, 0);
}

void Engine::terminate(ErrorCode error) {
  nghttp2_session_terminate_session(impl_->session, static_cast<std::uint32_t>(error));
  impl_->ending = true;
}

std::size_t Engine::open_streams() const {
  return impl_->taken.size();
}

void Engine::trim() {
  impl_->spare_blocks.clear();
  impl_->spare_taken.clear();
  if (impl_->incoming_id == 0) impl_->incoming = Request{};
}

}  // namespace rp::h2
