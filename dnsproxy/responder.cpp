#include "dnsproxy/responder.hpp"

#include <algorithm>
#include <array>
#include <optional>

namespace rp::dns {
namespace {

constexpr std::array<std::uint8_t, 4> kLoopback4{127, 0, 0, 1};
constexpr std::array<std::uint8_t, 16> kLoopback6{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
constexpr std::uint8_t kNsLabel[] = {'r',
                                     'p'};  // rp.<tld> is rp's own name (README.md, "The proxy")
constexpr std::uint8_t kMailboxLabel[] = {'h', 'o', 's', 't', 'm', 'a', 's', 't', 'e', 'r'};
constexpr std::size_t kQuestionNameAt = kHeaderSize;  // where answers point for the owner name
constexpr std::size_t kMaxTcpMessage = 65535;

enum class Answer { none, a, aaaa, a_and_aaaa, soa, ns };

// What goes into a reply, decided from the query before a byte is written.
struct Plan {
  int rcode = rcode::NOERROR;
  bool authoritative = false;
  bool question = false;  // echo the question
  Answer answer = Answer::none;
  bool soa_in_authority = false;  // NODATA: the SOA tells caches how long to remember it
  std::optional<Edns> opt;        // the OPT record of the reply, when the query had one
  std::size_t apex = 0;           // where in the reply the zone's name starts (inside the question)
};

// The record header with a compressed owner; returns where rdlength is, to patch it.
std::size_t record(Writer& w, std::size_t owner, std::uint16_t rtype) {
  w.pointer(owner);
  w.u16(rtype);
  w.u16(kClassIn);
  w.u32(kTtl);
  std::size_t length_at = w.size();
  w.u16(0);
  return length_at;
}

void finish_record(Writer& w, std::size_t length_at) {
  w.patch_u16(length_at, static_cast<std::uint16_t>(w.size() - length_at - 2));
}

void label_then(Writer& w, std::span<const std::uint8_t> label, std::size_t suffix) {
  w.u8(static_cast<std::uint8_t>(label.size()));
  w.bytes(label);
  w.pointer(suffix);
}

void soa_record(Writer& w, std::size_t apex) {
  auto at = record(w, apex, type::SOA);
  label_then(w, kNsLabel, apex);       // primary server: rp.<tld>
  label_then(w, kMailboxLabel, apex);  // responsible mailbox: hostmaster.<tld>
  w.u32(1);                            // serial: the zone never changes
  w.u32(3600);                         // refresh
  w.u32(600);                          // retry
  w.u32(86400);                        // expire
  w.u32(kTtl);                         // minimum: how long a NODATA may be cached
  finish_record(w, at);
}

void address_record(Writer& w, std::uint16_t rtype, std::span<const std::uint8_t> address) {
  auto at = record(w, kQuestionNameAt, rtype);
  w.bytes(address);
  finish_record(w, at);
}

std::size_t encode(const Plan& plan, const Query& q, bool truncated, std::span<std::uint8_t> out) {
  Writer w(out);
  std::uint16_t flags = Header::kQR | (q.header.flags & (0x7800 | Header::kRD)) |
                        static_cast<std::uint16_t>(plan.rcode & 0xF);
  if (plan.authoritative) flags |= Header::kAA;
  if (truncated) flags |= Header::kTC;
  w.header({q.header.id, flags, 0, 0, 0, 0});
  std::uint16_t qd = 0, an = 0, ns = 0, ar = 0;
  if (plan.question) {
    w.name(q.question.name);
    w.u16(q.question.type);
    w.u16(q.question.klass);
    qd = 1;
  }
  if (!truncated) {
    if (plan.answer == Answer::a || plan.answer == Answer::a_and_aaaa) {
      address_record(w, type::A, kLoopback4);
      ++an;
    }
    if (plan.answer == Answer::aaaa || plan.answer == Answer::a_and_aaaa) {
      address_record(w, type::AAAA, kLoopback6);
      ++an;
    }
    if (plan.answer == Answer::soa) {
      soa_record(w, plan.apex);
      ++an;
    }
    if (plan.answer == Answer::ns) {
      auto at = record(w, plan.apex, type::NS);
      label_then(w, kNsLabel, plan.apex);
      finish_record(w, at);
      ++an;
    }
    if (plan.soa_in_authority) {
      soa_record(w, plan.apex);
      ++ns;
    }
  }
  if (plan.opt) {
    write_opt(w, *plan.opt);
    ++ar;
  }
  w.patch_u16(4, qd);
  w.patch_u16(6, an);
  w.patch_u16(8, ns);
  w.patch_u16(10, ar);
  return w.size();
}

}  // namespace

Responder::Responder(const std::vector<std::string>& tlds, std::uint16_t udp_size)
    : udp_size_(udp_size) {
  for (const auto& tld : tlds) {
    if (auto zone = Name::from_text(tld); zone && zone->label_count() > 0) {
      zones_.push_back(*zone);
    }
  }
}

std::size_t Responder::answer(std::span<const std::uint8_t> query, Transport transport,
                              std::span<std::uint8_t> out) const {
  auto header = read_header(query);
  // Without a header there is no id to answer to; answering a response could start a loop.
  if (!header || header->qr()) return 0;
  Query q;
  const DecodeError error = decode_query(query, q);
  const bool clean = error == DecodeError::none;

  Plan plan;
  if (clean && q.edns) {
    plan.opt = Edns{udp_size_, 0, 0, q.edns->dnssec_ok};
  }
  if (header->opcode() != opcode::QUERY) {
    plan.rcode = rcode::NOTIMP;
    plan.question = clean && header->qdcount == 1;
  } else if (!clean || header->qdcount != 1) {
    plan.rcode = rcode::FORMERR;
  } else if (q.edns && q.edns->version > 0) {
    plan.rcode = rcode::BADVERS;
    plan.question = true;
  } else {
    plan.question = true;
    const Name& name = q.question.name;
    auto zone = std::find_if(zones_.begin(), zones_.end(),
                             [&](const Name& z) { return name.is_at_or_under(z); });
    const std::uint16_t qtype = q.question.type;
    const bool in_class = q.question.klass == kClassIn || q.question.klass == type::ANY;
    if (zone == zones_.end() || !in_class || qtype == type::AXFR || qtype == type::IXFR) {
      plan.rcode = rcode::REFUSED;
    } else {
      plan.authoritative = true;
      plan.apex = kQuestionNameAt + name.label_offset(name.label_count() - zone->label_count());
      const bool at_apex = name.label_count() == zone->label_count();
      if (qtype == type::A) {
        plan.answer = Answer::a;
      } else if (qtype == type::AAAA) {
        plan.answer = Answer::aaaa;
      } else if (qtype == type::ANY) {
        plan.answer = Answer::a_and_aaaa;
      } else if (at_apex && qtype == type::SOA) {
        plan.answer = Answer::soa;
      } else if (at_apex && qtype == type::NS) {
        plan.answer = Answer::ns;
      } else {
        plan.soa_in_authority = true;
      }
    }
  }
  if (plan.opt) plan.opt->extended_rcode = static_cast<std::uint8_t>(plan.rcode >> 4);

  std::size_t limit = kMaxTcpMessage;
  if (transport == Transport::udp) {
    // Without EDNS a client takes 512 bytes; with it what it says, but never less than 512.
    std::size_t client = q.edns ? std::max<std::size_t>(512, q.edns->udp_size) : 512;
    limit = std::min<std::size_t>(client, udp_size_);
  }
  limit = std::min(limit, out.size());
  std::size_t size = encode(plan, q, false, out);
  if (size > limit) size = encode(plan, q, true, out);
  return size <= limit ? size : 0;
}

std::vector<std::uint8_t> Responder::answer(std::span<const std::uint8_t> query,
                                            Transport transport) const {
  std::vector<std::uint8_t> out(kMaxTcpMessage);
  out.resize(answer(query, transport, out));
  return out;
}

}  // namespace rp::dns
