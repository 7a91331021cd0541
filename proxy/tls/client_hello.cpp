#include "proxy/tls/client_hello.hpp"

#include <cstdint>
#include <optional>

namespace rp::tls {
namespace {

constexpr std::uint8_t kHandshakeRecord = 22;
constexpr std::uint8_t kClientHelloType = 1;
constexpr std::uint16_t kServerNameExtension = 0;
constexpr std::uint16_t kAlpnExtension = 16;
constexpr std::size_t kRecordHeader = 5;

// Reads big-endian integers and length-prefixed blocks; any overrun makes it fail for good.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  bool ok() const { return ok_; }
  bool empty() const { return bytes_.empty(); }

  std::uint32_t number(int width) {
    if (!ok_ || bytes_.size() < static_cast<std::size_t>(width)) return fail();
    std::uint32_t value = 0;
    for (int i = 0; i < width; ++i) value = value << 8 | static_cast<std::uint8_t>(bytes_[i]);
    bytes_.remove_prefix(width);
    return value;
  }
  std::string_view take(std::size_t n) {
    if (!ok_ || bytes_.size() < n) {
      fail();
      return {};
    }
    auto part = bytes_.substr(0, n);
    bytes_.remove_prefix(n);
    return part;
  }
  // A block whose length comes first, in `width` bytes.
  Reader block(int width) { return Reader(take(number(width)), ok_); }

 private:
  Reader(std::string_view bytes, bool ok) : bytes_(bytes), ok_(ok) {}
  std::uint32_t fail() {
    ok_ = false;
    bytes_ = {};
    return 0;
  }
  std::string_view bytes_;
  bool ok_ = true;
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The host_name entry of a server_name extension (RFC 6066 section 3).
std::optional<std::string> server_name(Reader ext) {
  Reader list = ext.block(2);
  while (list.ok() && !list.empty()) {
    const auto type = list.number(1);
    const auto name = list.take(list.number(2));
    if (list.ok() && type == 0) return lower(name);
  }
  return std::nullopt;
}

std::vector<std::string> protocols(Reader ext) {
  std::vector<std::string> out;
  Reader list = ext.block(2);
  while (list.ok() && !list.empty()) {
    auto name = list.take(list.number(1));
    if (list.ok()) out.emplace_back(name);
  }
  return out;
}

}  // namespace

ClientHello read_client_hello(std::string_view bytes) {
  ClientHello out;
  if (bytes.empty()) return out;
  if (static_cast<std::uint8_t>(bytes[0]) != kHandshakeRecord) {
    out.status = ClientHello::Status::not_tls;
    return out;
  }
  if (bytes.size() < kRecordHeader) return out;
  Reader record_header(bytes.substr(0, kRecordHeader));
  record_header.number(1);  // the record type, read above
  const auto major = record_header.number(1);
  record_header.number(1);  // minor version: 0 to 4, whatever the client speaks
  const auto length = record_header.number(2);
  if (major != 3 || length == 0 || length > 16384 + 2048) {
    out.status = ClientHello::Status::not_tls;
    return out;
  }
  if (bytes.size() < kRecordHeader + length) return out;

  out.status = ClientHello::Status::unreadable;
  Reader record(bytes.substr(kRecordHeader, length));
  if (record.number(1) != kClientHelloType) return out;
  const auto hello_length = record.number(3);
  // A ClientHello longer than its first record continues in the next one: not read here.
  Reader hello(record.take(hello_length));
  if (!record.ok()) return out;
  hello.take(2 + 32);  // legacy_version, random
  hello.block(1);      // legacy_session_id
  hello.block(2);      // cipher_suites
  hello.block(1);      // legacy_compression_methods
  if (!hello.ok()) return out;
  if (hello.empty()) {  // no extensions at all: no SNI, no ALPN
    out.status = ClientHello::Status::hello;
    return out;
  }
  Reader extensions = hello.block(2);
  while (extensions.ok() && !extensions.empty()) {
    const auto type = extensions.number(2);
    Reader data = extensions.block(2);
    if (!extensions.ok()) return out;
    if (type == kServerNameExtension) {
      auto name = server_name(data);
      if (!name) return out;
      out.server_name = std::move(*name);
    } else if (type == kAlpnExtension) {
      out.alpn = protocols(data);
    }
  }
  if (!extensions.ok()) return out;
  out.status = ClientHello::Status::hello;
  return out;
}

bool looks_like_http(std::string_view bytes) {
  for (std::string_view method : {"GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "OPTIONS ", "PATCH ",
                                  "CONNECT ", "TRACE ", "PRI "}) {
    if (bytes.substr(0, method.size()) == method) return true;
  }
  return false;
}

}  // namespace rp::tls
