// TLS over a client's TCP connection, the way rp uses it. OpenSSL writes its records into this
// stream's output buffer, which goes to the socket in one send however many records it holds
// (Asio's ssl::stream sends one record at a time, each copied once more through a BIO pair), and
// reads from an input buffer that Asio's read fills (tried at once, like any socket read; a wait
// for readability would cost an epoll_ctl each time).
//
// The operations are Asio's (async_read_some, async_write_some, async_handshake, async_shutdown),
// so that asio::async_write and the code shared with plain TCP (proxy/client_stream.hpp) work on
// it unchanged. Like Asio's sockets, an operation that can finish at once still completes through
// the executor, never inside the call. One read and one write may be under way at once, as on a
// socket; everything runs on the connection's thread.
#pragma once

#include <array>
#include <boost/asio/append.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

struct ssl_st;

namespace boost::asio::ssl {
class context;
}

namespace rp::tls {

class TlsStream {
 public:
  using executor_type = boost::asio::ip::tcp::socket::executor_type;
  using next_layer_type = boost::asio::ip::tcp::socket;
  enum class Role { server };

  TlsStream(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context& context);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  executor_type get_executor() { return socket_.get_executor(); }
  boost::asio::ip::tcp::socket& next_layer() { return socket_; }
  ssl_st* native_handle() { return ssl_; }

  // The server's handshake. (The argument is there to read like Asio's.)
  template <typename Token>
  auto async_handshake(Role, Token&& token) {
    return run<void(boost::system::error_code)>(
        [this](boost::system::error_code& ec, std::size_t&) { return handshake_step(ec); },
        [](auto& self, boost::system::error_code ec, std::size_t) { self.complete(ec); },
        std::forward<Token>(token));
  }

  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    boost::asio::mutable_buffer into;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      if (it->size() > 0) {
        into = *it;
        break;
      }
    }
    return run<void(boost::system::error_code, std::size_t)>(
        [this, into](boost::system::error_code& ec, std::size_t& got) {
          return read_step(into, got, ec);
        },
        [](auto& self, boost::system::error_code ec, std::size_t got) {
          self.complete(ec, ec ? 0 : got);
        },
        std::forward<Token>(token));
  }

  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    Pieces pieces;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      pieces.add(*it);
    }
    bool encrypted = false;
    return run<void(boost::system::error_code, std::size_t)>(
        [this, pieces = std::move(pieces), encrypted](boost::system::error_code& ec,
                                                      std::size_t& taken) mutable {
          if (!encrypted) {
            encrypted = true;
            taken = encrypt(pieces.all(), ec);
            if (ec) return Step::done;
          }
          return flush_step(ec);
        },
        [](auto& self, boost::system::error_code ec, std::size_t taken) {
          self.complete(ec, ec ? 0 : taken);
        },
        std::forward<Token>(token));
  }

  // Sends close_notify (and whatever waits to go before it).
  template <typename Token>
  auto async_shutdown(Token&& token) {
    bool started = false;
    return run<void(boost::system::error_code)>(
        [this, started](boost::system::error_code& ec, std::size_t&) mutable {
          if (!started) {
            started = true;
            shutdown_now();
          }
          return flush_step(ec);
        },
        [](auto& self, boost::system::error_code ec, std::size_t) { self.complete(ec); },
        std::forward<Token>(token));
  }

  // OpenSSL's record buffers (about 33 KiB) are let go after each read and write, as nginx has
  // them, so that a quiet connection costs little; but a busy one would then allocate and free
  // both for every request. A connection that reads or writes kBusy times between two calls of
  // tidy() keeps them; tidy() lets them go again once none happened since its last call. The
  // proxy thread calls it every few seconds (proxy/server.cpp).
  static constexpr std::uint64_t kBusy = 8;
  void tidy();
  bool keeps_buffers() const { return keeps_buffers_; }

  // For the BIOs that give OpenSSL what came and take what it writes (tls_stream.cpp).
  void append_output(const char* data, std::size_t size) { out_.append(data, size); }
  // Up to `size` bytes that came from the socket; 0 when there are none (yet, or any more: eof).
  std::size_t take_input(char* into, std::size_t size);
  bool input_ended() const { return in_ended_; }

 private:
  // The pieces of one write: most have a few (an answer's head, its body, a chunk's framing),
  // kept in place; a list is made only past kInline.
  class Pieces {
   public:
    void add(boost::asio::const_buffer piece) {
      if (count_ < kInline) {
        inline_[count_++] = piece;
        return;
      }
      if (more_.empty()) more_.assign(inline_.begin(), inline_.end());
      more_.push_back(piece);
    }
    std::span<const boost::asio::const_buffer> all() const {
      if (more_.empty()) return {inline_.data(), count_};
      return more_;
    }

   private:
    static constexpr std::size_t kInline = 8;
    std::array<boost::asio::const_buffer, kInline> inline_;
    std::size_t count_ = 0;
    std::vector<boost::asio::const_buffer> more_;
  };

  // What an operation waits for next: more bytes from the client, or room to send.
  enum class Step { done, want_read, want_write };

  Step handshake_step(boost::system::error_code& ec);
  Step read_step(boost::asio::mutable_buffer into, std::size_t& got, boost::system::error_code& ec);
  // The plaintext of `pieces` (up to a limit) made into records in out_; how much was taken.
  std::size_t encrypt(std::span<const boost::asio::const_buffer> pieces,
                      boost::system::error_code& ec);
  // Sends what out_ holds, without blocking: done when it is all out (or on an error).
  Step flush_step(boost::system::error_code& ec);
  void shutdown_now();
  // A read or write of application data happened (see kBusy).
  void count_operation();

  // Room in the input buffer for the next read from the socket (made when first needed).
  boost::asio::mutable_buffer input_space();
  // What a read from the socket brought: `n` bytes, or the end of the stream.
  void input_came(const boost::system::error_code& ec, std::size_t n);

  // An operation as repeated `step`s, each followed by a read from the socket or a wait for room
  // to send when it asks for one; `finish` completes it with the byte count the steps kept. A
  // result found in the first step goes through the executor first.
  template <typename Signature, typename StepFn, typename FinishFn, typename Token>
  auto run(StepFn step, FinishFn finish, Token&& token) {
    enum class State { starting, reading, waiting, posted };
    return boost::asio::async_compose<Token, Signature>(
        [this, step = std::move(step), finish = std::move(finish), state = State::starting,
         bytes = std::size_t{0}](auto& self, boost::system::error_code ec = {},
                                 std::size_t n = 0) mutable {
          if (state == State::posted) return finish(self, ec, bytes);
          if (state == State::reading) {
            // The end of the stream is OpenSSL's to see (a truncation, or after close_notify).
            if (!ec || ec == boost::asio::error::eof) input_came(ec, n);
            if (ec == boost::asio::error::eof) ec = {};
          }
          // A closed socket's descriptor may already be another connection's: nothing is read
          // or written after.
          if (!ec && !socket_.is_open()) ec = boost::asio::error::bad_descriptor;
          if (!ec) {
            const bool first = state == State::starting;
            const Step next = step(ec, bytes);
            if (!ec && next == Step::want_read) {
              state = State::reading;
              socket_.async_read_some(input_space(), std::move(self));
              return;
            }
            if (!ec && next == Step::want_write) {
              state = State::waiting;
              socket_.async_wait(boost::asio::ip::tcp::socket::wait_write, std::move(self));
              return;
            }
            if (!first) return finish(self, ec, bytes);
          } else if (state != State::starting) {
            return finish(self, ec, bytes);
          }
          state = State::posted;
          boost::asio::post(socket_.get_executor(), boost::asio::append(std::move(self), ec));
        },
        token, socket_);
  }

  boost::asio::ip::tcp::socket socket_;
  ssl_st* ssl_ = nullptr;
  std::unique_ptr<char[]> in_;  // bytes from the client, OpenSSL's from `in_begin_` to `in_end_`
  std::size_t in_begin_ = 0, in_end_ = 0;
  bool in_ended_ = false;  // the client's side of the connection ended
  std::string out_;        // records not yet sent, from `sent_` on
  std::size_t sent_ = 0;   // how much of out_ has gone
  std::uint64_t operations_ = 0, operations_at_tidy_ = 0;
  bool keeps_buffers_ = false;
};

}  // namespace rp::tls
