#include "proxy/tls/tls_stream.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <cerrno>
#include <cstring>

namespace asio = boost::asio;

namespace rp::tls {
namespace {

// One TLS record's worth of plaintext: small pieces are gathered to this size, not sent as a
// record each.
constexpr std::size_t kRecord = 16 * 1024;
// The most plaintext one write takes (asio::async_write asks again for the rest), so that the
// records waiting for the socket stay bounded.
constexpr std::size_t kMostPerWrite = 256 * 1024;
// Past this, the output buffer is given back once it is sent: an idle connection keeps at most
// this much.
constexpr std::size_t kKeptOutput = 16 * 1024;

// The input buffer: a record and then some.
constexpr std::size_t kInput = kRecord + 1024;

TlsStream& stream_of(BIO* bio) {
  return *static_cast<TlsStream*>(BIO_get_data(bio));
}

// The BIO OpenSSL writes its records into: they are appended to the stream's output buffer.
int write_records(BIO* bio, const char* data, std::size_t size, std::size_t* written) {
  stream_of(bio).append_output(data, size);
  *written = size;
  return 1;
}

// The BIO OpenSSL reads from: what the stream's reads from the socket brought. Empty, it asks
// to be tried again (OpenSSL then says SSL_ERROR_WANT_READ), unless the client's side ended.
int read_records(BIO* bio, char* into, std::size_t size, std::size_t* read) {
  BIO_clear_retry_flags(bio);
  TlsStream& stream = stream_of(bio);
  *read = stream.take_input(into, size);
  if (*read > 0) return 1;
  if (!stream.input_ended()) BIO_set_retry_read(bio);
  return 0;
}

long control(BIO*, int command, long, void*) {
  return command == BIO_CTRL_FLUSH ? 1 : 0;
}

int create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

const BIO_METHOD* stream_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "rp tls stream");
    BIO_meth_set_write_ex(m, &write_records);
    BIO_meth_set_read_ex(m, &read_records);
    BIO_meth_set_ctrl(m, &control);
    BIO_meth_set_create(m, &create);
    return m;
  }();
  return method;
}

// What an OpenSSL call that returned `result` failed with, as an error code; `saved_errno` is
// errno right after it. The end of the client's stream, with or without close_notify, is eof.
boost::system::error_code error_of(SSL* ssl, int result, int saved_errno) {
  const int kind = SSL_get_error(ssl, result);
  const unsigned long queued = ERR_peek_last_error();
  if (kind == SSL_ERROR_ZERO_RETURN) return asio::error::eof;
  if (kind == SSL_ERROR_SYSCALL && queued == 0) {
    if (saved_errno == 0) return asio::error::eof;
    return {saved_errno, boost::system::system_category()};
  }
  if (ERR_GET_REASON(queued) == SSL_R_UNEXPECTED_EOF_WHILE_READING) return asio::error::eof;
  return {static_cast<int>(queued != 0 ? queued : static_cast<unsigned long>(kind)),
          asio::error::get_ssl_category()};
}

}  // namespace

TlsStream::TlsStream(asio::ip::tcp::socket socket, asio::ssl::context& context)
    : socket_(std::move(socket)) {
  ssl_ = SSL_new(context.native_handle());
  if (!ssl_) return;  // every operation then fails
  BIO* bio = BIO_new(stream_method());
  if (bio) BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio);  // one BIO both ways: SSL_free frees it once
  SSL_set_accept_state(ssl_);
  // What one read of the socket brought, several records perhaps, OpenSSL takes at once.
  SSL_set_read_ahead(ssl_, 1);
}

std::size_t TlsStream::take_input(char* into, std::size_t size) {
  const std::size_t n = std::min(size, in_end_ - in_begin_);
  if (n > 0) std::memcpy(into, in_.get() + in_begin_, n);
  in_begin_ += n;
  return n;
}

asio::mutable_buffer TlsStream::input_space() {
  if (!in_) in_ = std::make_unique<char[]>(kInput);
  if (in_begin_ == in_end_) {
    in_begin_ = in_end_ = 0;
  } else if (in_end_ == kInput) {
    std::memmove(in_.get(), in_.get() + in_begin_, in_end_ - in_begin_);
    in_end_ -= in_begin_;
    in_begin_ = 0;
  }
  return asio::buffer(in_.get() + in_end_, kInput - in_end_);
}

void TlsStream::input_came(const boost::system::error_code& ec, std::size_t n) {
  in_end_ += n;
  if (ec) in_ended_ = true;
}

TlsStream::~TlsStream() {
  if (ssl_) SSL_free(ssl_);
}

TlsStream::Step TlsStream::handshake_step(boost::system::error_code& ec) {
  if (!ssl_) {
    ec = asio::error::no_memory;
    return Step::done;
  }
  ERR_clear_error();
  const int result = SSL_do_handshake(ssl_);
  const int saved_errno = errno;
  const int kind = result == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_, result);
  // What the handshake wrote (a ServerHello, an alert) goes before anything is awaited.
  if (flush_step(ec) == Step::want_write) return Step::want_write;
  if (ec || result == 1) return Step::done;
  if (kind == SSL_ERROR_WANT_READ) return Step::want_read;
  if (kind == SSL_ERROR_WANT_WRITE) return Step::want_write;
  ec = error_of(ssl_, result, saved_errno);
  return Step::done;
}

TlsStream::Step TlsStream::read_step(asio::mutable_buffer into, std::size_t& got,
                                     boost::system::error_code& ec) {
  got = 0;
  if (!ssl_) {
    ec = asio::error::no_memory;
    return Step::done;
  }
  if (into.size() == 0) return Step::done;
  ERR_clear_error();
  const int result = SSL_read_ex(ssl_, into.data(), into.size(), &got);
  const int saved_errno = errno;
  if (result == 1) {
    count_operation();
    return Step::done;
  }
  const int kind = SSL_get_error(ssl_, result);
  if (kind == SSL_ERROR_WANT_READ) {
    // What reading made OpenSSL write (an answer to a key update) goes out now if it can; if the
    // socket is full, the next write takes it along.
    boost::system::error_code ignored;
    flush_step(ignored);
    return Step::want_read;
  }
  if (kind == SSL_ERROR_WANT_WRITE) return Step::want_write;
  ec = error_of(ssl_, result, saved_errno);
  return Step::done;
}

void TlsStream::count_operation() {
  if (++operations_ - operations_at_tidy_ < kBusy || keeps_buffers_) return;
  keeps_buffers_ = true;
  SSL_clear_mode(ssl_, SSL_MODE_RELEASE_BUFFERS);
}

void TlsStream::tidy() {
  if (ssl_ && keeps_buffers_ && operations_ == operations_at_tidy_) {
    keeps_buffers_ = false;
    SSL_set_mode(ssl_, SSL_MODE_RELEASE_BUFFERS);
    // Not while a record is half read (OpenSSL then keeps them; the next read lets them go).
    SSL_free_buffers(ssl_);
  }
  operations_at_tidy_ = operations_;
}

std::size_t TlsStream::encrypt(std::span<const asio::const_buffer> pieces,
                               boost::system::error_code& ec) {
  if (!ssl_) {
    ec = asio::error::no_memory;
    return 0;
  }
  count_operation();
  thread_local std::string staging;
  staging.clear();
  std::size_t taken = 0;
  auto seal = [&](const char* data, std::size_t size) {
    std::size_t written = 0;
    ERR_clear_error();
    const int result = SSL_write_ex(ssl_, data, size, &written);
    if (result != 1) ec = error_of(ssl_, result, errno);
    return result == 1;
  };
  for (const auto& piece : pieces) {
    const char* data = static_cast<const char*>(piece.data());
    std::size_t size = std::min(piece.size(), kMostPerWrite - taken);
    taken += size;
    while (size > 0) {
      if (staging.empty() && size >= kRecord) {
        // Whole records straight from the piece.
        const std::size_t whole = size - size % kRecord;
        if (!seal(data, whole)) return 0;
        data += whole;
        size -= whole;
        continue;
      }
      const std::size_t n = std::min(size, kRecord - staging.size());
      staging.append(data, n);
      data += n;
      size -= n;
      if (staging.size() == kRecord) {
        if (!seal(staging.data(), staging.size())) return 0;
        staging.clear();
      }
    }
    if (taken == kMostPerWrite) break;
  }
  if (!staging.empty() && !seal(staging.data(), staging.size())) return 0;
  return taken;
}

TlsStream::Step TlsStream::flush_step(boost::system::error_code& ec) {
  while (sent_ < out_.size()) {
    const ssize_t n = ::send(socket_.native_handle(), out_.data() + sent_, out_.size() - sent_,
                             MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      sent_ += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Step::want_write;
    ec = n < 0 ? boost::system::error_code(errno, boost::system::system_category())
               : asio::error::broken_pipe;
    return Step::done;
  }
  if (out_.capacity() > kKeptOutput) {
    std::string().swap(out_);
  } else {
    out_.clear();
  }
  sent_ = 0;
  return Step::done;
}

void TlsStream::shutdown_now() {
  if (!ssl_) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);
}

}  // namespace rp::tls
