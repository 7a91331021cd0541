// DNS messages on the wire (RFC 1035, with EDNS(0) from RFC 6891): reading what a client sent and
// writing what rp answers, as pure functions over bytes. Every read is bounds-checked and every
// compressed name is followed safely (only backwards, never past 255 bytes), so any input — a
// fuzzer's or an attacker's — gives a value or an error, never a crash. Reading a query and
// writing an answer use fixed storage only: the responder answers without touching the heap.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rp::dns {

namespace type {
constexpr std::uint16_t A = 1, NS = 2, SOA = 6, MX = 15, TXT = 16, AAAA = 28, OPT = 41, IXFR = 251,
                        AXFR = 252, ANY = 255;
}

namespace rcode {
constexpr int NOERROR = 0, FORMERR = 1, SERVFAIL = 2, NXDOMAIN = 3, NOTIMP = 4, REFUSED = 5,
              BADVERS = 16;  // extended (RFC 6891): its upper 8 bits travel in the OPT record
}

namespace opcode {
constexpr int QUERY = 0, STATUS = 2, NOTIFY = 4, UPDATE = 5;
}

constexpr std::uint16_t kClassIn = 1;
constexpr std::size_t kHeaderSize = 12;
constexpr std::size_t kMaxNameLength = 255;  // on the wire, length bytes and the root's 0 included
constexpr std::size_t kMaxLabelLength = 63;

struct Header {
  std::uint16_t id = 0;
  std::uint16_t flags = 0;
  std::uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;

  static constexpr std::uint16_t kQR = 0x8000, kAA = 0x0400, kTC = 0x0200, kRD = 0x0100,
                                 kRA = 0x0080;
  bool qr() const { return flags & kQR; }
  int opcode() const { return (flags >> 11) & 0xF; }
  bool aa() const { return flags & kAA; }
  bool tc() const { return flags & kTC; }
  bool rd() const { return flags & kRD; }
  bool ra() const { return flags & kRA; }
  int rcode() const { return flags & 0xF; }
};

// A domain name in uncompressed wire form — length-prefixed labels, then the root's zero — with
// its letters as the sender wrote them. Fixed storage, so reading a name never allocates.
class Name {
 public:
  Name() = default;  // the root, "."

  // "WeB.ShOp.TeSt" or "shop.test." (no escapes); nullopt when it is not a valid name.
  static std::optional<Name> from_text(std::string_view text);

  // Adds a label before the root; false (and no change) when it is empty, too long, or would make
  // the name longer than 255 bytes.
  bool append_label(std::span<const std::uint8_t> label);

  std::span<const std::uint8_t> wire() const { return {wire_.data(), size_}; }
  int label_count() const { return labels_; }
  // Where label `i` (0 = leftmost) starts in wire(); label_count() gives the root's position.
  std::size_t label_offset(int i) const { return offsets_[static_cast<std::size_t>(i)]; }

  // True when this name is `zone` or a name under it, ignoring ASCII letter case.
  bool is_at_or_under(const Name& zone) const;

  // Presentation form with a trailing dot ("WeB.ShOp.TeSt."); "." for the root.
  std::string text() const;

  friend bool operator==(const Name& a, const Name& b) { return a.equals(b); }

 private:
  bool equals(const Name& other) const;  // exact bytes, case included

  std::array<std::uint8_t, kMaxNameLength> wire_{0};
  std::array<std::uint8_t, 128> offsets_{0};  // 127 one-letter labels fill 255 bytes
  std::uint8_t size_ = 1;
  std::uint8_t labels_ = 0;
};

struct Question {
  Name name;
  std::uint16_t type = 0;
  std::uint16_t klass = 0;
};

// What an OPT record says: the sender's UDP payload size, EDNS version, the DO bit, and (in an
// answer) the upper 8 bits of an extended rcode.
struct Edns {
  std::uint16_t udp_size = 512;
  std::uint8_t version = 0;
  std::uint8_t extended_rcode = 0;
  bool dnssec_ok = false;
};

enum class DecodeError {
  none,
  short_header,  // fewer than 12 bytes: not even an id to answer to
  truncated,     // a section ends past the end of the message
  bad_name,      // pointer loop or forward pointer, reserved label type, name or label too long
  bad_opt,       // more than one OPT record, or one whose owner is not the root
};

std::string_view describe(DecodeError error);

std::optional<Header> read_header(std::span<const std::uint8_t> message);

// Reads the (possibly compressed) name at `pos` into `out` and moves `pos` past it: past the
// first pointer when the name is compressed.
DecodeError read_name(std::span<const std::uint8_t> message, std::size_t& pos, Name& out);

// A query as the responder needs it: the header, the first question, the OPT record if any.
// Every section is walked, so a message that is malformed anywhere is reported as such.
struct Query {
  Header header;
  Question question;  // the first question; valid when header.qdcount >= 1
  std::optional<Edns> edns;
};
DecodeError decode_query(std::span<const std::uint8_t> message, Query& out);

// Any message, with every record — for rp doctor and tests, off the path a query takes.
struct Record {
  Name name;
  std::uint16_t type = 0;
  std::uint16_t klass = 0;
  std::uint32_t ttl = 0;
  std::size_t rdata_offset = 0;  // in the message: names in rdata may point back into it
  std::vector<std::uint8_t> rdata;
};
struct Message {
  Header header;
  std::vector<Question> questions;
  std::vector<Record> answers, authority, additional;
};
DecodeError decode_message(std::span<const std::uint8_t> message, Message& out);

// The EDNS fields of an OPT record (its class and TTL).
Edns edns_of(const Record& opt);

// Writes a message into a caller's buffer. Writing past its end sets overflowed() and drops the
// bytes, so an encoder writes straight on and checks once at the end.
class Writer {
 public:
  explicit Writer(std::span<std::uint8_t> out) : out_(out) {}

  void u8(std::uint8_t v);
  void u16(std::uint16_t v);
  void u32(std::uint32_t v);
  void bytes(std::span<const std::uint8_t> data);
  void name(const Name& name) { bytes(name.wire()); }
  // A compression pointer to a name written earlier at `offset`.
  void pointer(std::size_t offset) { u16(static_cast<std::uint16_t>(0xC000 | offset)); }
  void header(const Header& h);
  // Overwrites two bytes written earlier (a count or an rdata length).
  void patch_u16(std::size_t at, std::uint16_t v);

  std::size_t size() const { return size_; }
  bool overflowed() const { return overflowed_; }

 private:
  std::span<std::uint8_t> out_;
  std::size_t size_ = 0;
  bool overflowed_ = false;
};

// The OPT record of an answer: root owner, our payload size, version 0, the extended rcode.
void write_opt(Writer& w, const Edns& edns);

// A standard query for `name`/`qtype` (class IN, RD set), with an OPT record when `edns` is
// given: what rp doctor and the tests send.
std::vector<std::uint8_t> encode_query(std::uint16_t id, const Name& name, std::uint16_t qtype,
                                       std::optional<Edns> edns = std::nullopt);

}  // namespace rp::dns
