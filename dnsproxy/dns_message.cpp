#include "dnsproxy/dns_message.hpp"

#include <algorithm>
#include <cstdio>

namespace rp::dns {
namespace {

std::uint16_t get16(std::span<const std::uint8_t> m, std::size_t at) {
  return static_cast<std::uint16_t>(m[at] << 8 | m[at + 1]);
}

std::uint32_t get32(std::span<const std::uint8_t> m, std::size_t at) {
  return static_cast<std::uint32_t>(get16(m, at)) << 16 | get16(m, at + 2);
}

std::uint8_t lower(std::uint8_t c) {
  return c >= 'A' && c <= 'Z' ? c | 0x20 : c;
}

enum class Section { answer, authority, additional };

// Fields of a resource record after its owner name; `rdata_offset` is where its data starts.
struct RecordFields {
  std::uint16_t type, klass;
  std::uint32_t ttl;
  std::size_t rdata_offset, rdata_length;
};

// Walks every section of a message, handing each question and record to the callbacks (which
// may stop the walk with an error), so that decoding a query and decoding any message share
// one reading of the format.
template <class OnQuestion, class OnRecord>
DecodeError walk(std::span<const std::uint8_t> m, Header& header, Question& scratch, Name& owner,
                 OnQuestion on_question, OnRecord on_record) {
  auto h = read_header(m);
  if (!h) return DecodeError::short_header;
  header = *h;
  std::size_t pos = kHeaderSize;
  for (int i = 0; i < header.qdcount; ++i) {
    if (auto e = read_name(m, pos, scratch.name); e != DecodeError::none) return e;
    if (pos + 4 > m.size()) return DecodeError::truncated;
    scratch.type = get16(m, pos);
    scratch.klass = get16(m, pos + 2);
    pos += 4;
    on_question(i, scratch);
  }
  const std::pair<Section, std::uint16_t> sections[] = {{Section::answer, header.ancount},
                                                        {Section::authority, header.nscount},
                                                        {Section::additional, header.arcount}};
  for (auto [section, count] : sections) {
    for (int i = 0; i < count; ++i) {
      if (auto e = read_name(m, pos, owner); e != DecodeError::none) return e;
      if (pos + 10 > m.size()) return DecodeError::truncated;
      RecordFields f{get16(m, pos), get16(m, pos + 2), get32(m, pos + 4), pos + 10,
                     get16(m, pos + 8)};
      if (f.rdata_offset + f.rdata_length > m.size()) return DecodeError::truncated;
      pos = f.rdata_offset + f.rdata_length;
      if (auto e = on_record(section, owner, f); e != DecodeError::none) return e;
    }
  }
  return DecodeError::none;
}

}  // namespace

std::optional<Name> Name::from_text(std::string_view text) {
  Name name;
  if (text == ".") return name;
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  while (true) {
    auto dot = text.find('.');
    auto label = text.substr(0, dot);
    if (!name.append_label({reinterpret_cast<const std::uint8_t*>(label.data()), label.size()})) {
      return std::nullopt;
    }
    if (dot == std::string_view::npos) return name;
    text.remove_prefix(dot + 1);
  }
}

bool Name::append_label(std::span<const std::uint8_t> label) {
  if (label.empty() || label.size() > kMaxLabelLength) return false;
  if (size_ + 1 + label.size() > kMaxNameLength) return false;
  std::size_t at = size_ - 1;  // where the root's zero is now
  wire_[at] = static_cast<std::uint8_t>(label.size());
  std::copy(label.begin(), label.end(), wire_.begin() + static_cast<std::ptrdiff_t>(at + 1));
  size_ = static_cast<std::uint8_t>(size_ + 1 + label.size());
  wire_[size_ - 1u] = 0;
  offsets_[labels_] = static_cast<std::uint8_t>(at);
  ++labels_;
  offsets_[labels_] = static_cast<std::uint8_t>(size_ - 1);
  return true;
}

bool Name::is_at_or_under(const Name& zone) const {
  if (zone.labels_ > labels_) return false;
  std::size_t start = offsets_[static_cast<std::size_t>(labels_ - zone.labels_)];
  if (size_ - start != zone.size_) return false;
  // Length bytes are below 64, where lower() changes nothing, so the whole suffix compares.
  for (std::size_t i = 0; i < zone.size_; ++i) {
    if (lower(wire_[start + i]) != lower(zone.wire_[i])) return false;
  }
  return true;
}

std::string Name::text() const {
  if (labels_ == 0) return ".";
  std::string out;
  for (int i = 0; i < labels_; ++i) {
    std::size_t at = offsets_[static_cast<std::size_t>(i)];
    for (std::size_t j = 1; j <= wire_[at]; ++j) {
      std::uint8_t c = wire_[at + j];
      if (c == '.' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c < 0x21 || c > 0x7E) {
        char esc[5];
        std::snprintf(esc, sizeof esc, "\\%03u", c);
        out += esc;
      } else {
        out += static_cast<char>(c);
      }
    }
    out += '.';
  }
  return out;
}

bool Name::equals(const Name& other) const {
  return size_ == other.size_ &&
         std::equal(wire_.begin(), wire_.begin() + size_, other.wire_.begin());
}

std::string_view describe(DecodeError error) {
  switch (error) {
    case DecodeError::none:
      return "no error";
    case DecodeError::short_header:
      return "shorter than a DNS header";
    case DecodeError::truncated:
      return "truncated";
    case DecodeError::bad_name:
      return "malformed name";
    case DecodeError::bad_opt:
      return "malformed OPT record";
  }
  return "unknown error";
}

std::optional<Header> read_header(std::span<const std::uint8_t> m) {
  if (m.size() < kHeaderSize) return std::nullopt;
  return Header{get16(m, 0), get16(m, 2), get16(m, 4), get16(m, 6), get16(m, 8), get16(m, 10)};
}

DecodeError read_name(std::span<const std::uint8_t> m, std::size_t& pos, Name& out) {
  out = Name{};
  std::size_t p = pos;
  // Every pointer must land before the start of the run of labels it ends, and that start moves
  // back with each jump: so pointers cannot loop, and a name is read in finitely many steps.
  std::size_t run_start = pos;
  std::optional<std::size_t> resume;  // where the caller continues: after the first pointer
  while (true) {
    if (p >= m.size()) return DecodeError::truncated;
    std::uint8_t len = m[p];
    if ((len & 0xC0) == 0xC0) {
      if (p + 1 >= m.size()) return DecodeError::truncated;
      std::size_t target = static_cast<std::size_t>((len & 0x3F) << 8 | m[p + 1]);
      if (!resume) resume = p + 2;
      if (target >= run_start) return DecodeError::bad_name;
      run_start = p = target;
      continue;
    }
    if (len & 0xC0) return DecodeError::bad_name;  // 0x40 and 0x80: extended and reserved types
    if (len == 0) {
      pos = resume.value_or(p + 1);
      return DecodeError::none;
    }
    if (p + 1 + len > m.size()) return DecodeError::truncated;
    if (!out.append_label(m.subspan(p + 1, len))) return DecodeError::bad_name;
    p += 1 + len;
  }
}

DecodeError decode_query(std::span<const std::uint8_t> m, Query& out) {
  out.edns.reset();
  Question scratch;
  Name owner;
  return walk(
      m, out.header, scratch, owner,
      [&](int i, const Question& q) {
        if (i == 0) out.question = q;
      },
      [&](Section section, const Name& name, const RecordFields& f) {
        if (section != Section::additional || f.type != type::OPT) return DecodeError::none;
        if (out.edns || name.label_count() != 0) return DecodeError::bad_opt;
        out.edns = Edns{f.klass, static_cast<std::uint8_t>(f.ttl >> 16),
                        static_cast<std::uint8_t>(f.ttl >> 24), (f.ttl & 0x8000) != 0};
        return DecodeError::none;
      });
}

DecodeError decode_message(std::span<const std::uint8_t> m, Message& out) {
  out = Message{};
  Question scratch;
  Name owner;
  return walk(
      m, out.header, scratch, owner, [&](int, const Question& q) { out.questions.push_back(q); },
      [&](Section section, const Name& name, const RecordFields& f) {
        auto& into = section == Section::answer      ? out.answers
                     : section == Section::authority ? out.authority
                                                     : out.additional;
        auto rdata = m.subspan(f.rdata_offset, f.rdata_length);
        into.push_back(Record{name, f.type, f.klass, f.ttl, f.rdata_offset,
                              std::vector<std::uint8_t>(rdata.begin(), rdata.end())});
        return DecodeError::none;
      });
}

Edns edns_of(const Record& opt) {
  return Edns{opt.klass, static_cast<std::uint8_t>(opt.ttl >> 16),
              static_cast<std::uint8_t>(opt.ttl >> 24), (opt.ttl & 0x8000) != 0};
}

void Writer::u8(std::uint8_t v) {
  if (size_ < out_.size()) {
    out_[size_] = v;
  } else {
    overflowed_ = true;
  }
  ++size_;  // counts on past the end: size() is what the whole message would take
}

void Writer::u16(std::uint16_t v) {
  u8(static_cast<std::uint8_t>(v >> 8));
  u8(static_cast<std::uint8_t>(v));
}

void Writer::u32(std::uint32_t v) {
  u16(static_cast<std::uint16_t>(v >> 16));
  u16(static_cast<std::uint16_t>(v));
}

void Writer::bytes(std::span<const std::uint8_t> data) {
  if (size_ + data.size() <= out_.size()) {
    std::copy(data.begin(), data.end(), out_.begin() + static_cast<std::ptrdiff_t>(size_));
    size_ += data.size();
    return;
  }
  for (auto b : data) u8(b);
}

void Writer::header(const Header& h) {
  for (auto v : {h.id, h.flags, h.qdcount, h.ancount, h.nscount, h.arcount}) u16(v);
}

void Writer::patch_u16(std::size_t at, std::uint16_t v) {
  if (at + 2 > out_.size()) return;
  out_[at] = static_cast<std::uint8_t>(v >> 8);
  out_[at + 1] = static_cast<std::uint8_t>(v);
}

void write_opt(Writer& w, const Edns& edns) {
  w.u8(0);  // the root
  w.u16(type::OPT);
  w.u16(edns.udp_size);
  w.u8(edns.extended_rcode);
  w.u8(edns.version);
  w.u16(edns.dnssec_ok ? 0x8000 : 0);
  w.u16(0);  // no options
}

std::vector<std::uint8_t> encode_query(std::uint16_t id, const Name& name, std::uint16_t qtype,
                                       std::optional<Edns> edns) {
  std::array<std::uint8_t, kHeaderSize + kMaxNameLength + 4 + 11> buf{};
  Writer w(buf);
  w.header({id, Header::kRD, 1, 0, 0, static_cast<std::uint16_t>(edns ? 1 : 0)});
  w.name(name);
  w.u16(qtype);
  w.u16(kClassIn);
  if (edns) write_opt(w, *edns);
  return {buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(w.size())};
}

}  // namespace rp::dns
