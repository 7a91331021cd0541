#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "dnsproxy/dns_message.hpp"
#include "dnsproxy/responder.hpp"

using namespace rp::dns;
using Bytes = std::vector<std::uint8_t>;

namespace {

const std::vector<std::string> kTlds{"test", "localhost"};

Name name(const std::string& text) {
  auto n = Name::from_text(text);
  REQUIRE(n);
  return *n;
}

struct Reply {
  Bytes bytes;
  Message message;
  int rcode() const {
    int r = message.header.rcode();
    for (const auto& rr : message.additional) {
      if (rr.type == type::OPT) r |= edns_of(rr).extended_rcode << 4;
    }
    return r;
  }
  // A name inside rdata, compression resolved against the whole reply.
  std::string rdata_name(const Record& rr, std::size_t skip = 0) const {
    std::size_t pos = rr.rdata_offset + skip;
    Name n;
    REQUIRE(read_name(bytes, pos, n) == DecodeError::none);
    return n.text();
  }
};

Reply decode(Bytes bytes) {
  Reply r{std::move(bytes), {}};
  REQUIRE_FALSE(r.bytes.empty());
  REQUIRE(decode_message(r.bytes, r.message) == DecodeError::none);
  return r;
}

Reply ask(const std::string& qname, std::uint16_t qtype, std::optional<Edns> edns = std::nullopt,
          Transport transport = Transport::udp) {
  Responder responder(kTlds);
  return decode(responder.answer(encode_query(0xBEEF, name(qname), qtype, edns), transport));
}

Bytes with_header_field(Bytes query, std::size_t at, std::uint8_t value) {
  query[at] = value;
  return query;
}

}  // namespace

TEST_CASE("A under a TLD is 127.0.0.1, authoritative, for the name asked") {
  auto r = ask("shop.test", type::A);
  const auto& h = r.message.header;
  CHECK(h.id == 0xBEEF);
  CHECK(h.qr());
  CHECK(h.aa());
  CHECK(h.rd());        // copied from the query
  CHECK_FALSE(h.ra());  // rp does not recurse
  CHECK_FALSE(h.tc());
  CHECK(r.rcode() == rcode::NOERROR);
  REQUIRE(r.message.questions.size() == 1);
  CHECK(r.message.questions[0].name.text() == "shop.test.");
  REQUIRE(r.message.answers.size() == 1);
  const auto& a = r.message.answers[0];
  CHECK(a.name.text() == "shop.test.");
  CHECK(a.type == type::A);
  CHECK(a.klass == kClassIn);
  CHECK(a.ttl == kTtl);
  CHECK(a.rdata == Bytes{127, 0, 0, 1});
  CHECK(r.message.authority.empty());
  CHECK(r.message.additional.empty());  // no OPT without one in the query
}

TEST_CASE("AAAA is ::1, ANY is both, and the TLD itself and .localhost answer too") {
  auto aaaa = ask("web.shop.test", type::AAAA);
  REQUIRE(aaaa.message.answers.size() == 1);
  CHECK(aaaa.message.answers[0].rdata == Bytes{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});

  auto any = ask("shop.test", type::ANY);
  REQUIRE(any.message.answers.size() == 2);
  CHECK(any.message.answers[0].type == type::A);
  CHECK(any.message.answers[1].type == type::AAAA);

  CHECK(ask("test", type::A).message.answers.size() == 1);
  CHECK(ask("x.y.localhost", type::A).message.answers.size() == 1);
}

TEST_CASE("the question's letter case is kept in the question and the answers") {
  auto r = ask("WeB.ShOp.TeSt", type::A);
  CHECK(r.message.questions[0].name.text() == "WeB.ShOp.TeSt.");
  CHECK(r.message.answers[0].name.text() == "WeB.ShOp.TeSt.");
  auto mx = ask("WeB.ShOp.TeSt", type::MX);
  REQUIRE(mx.message.authority.size() == 1);
  CHECK(mx.message.authority[0].name.text() == "TeSt.");
}

TEST_CASE("other types get NOERROR, no answer, and the zone's SOA in authority") {
  for (auto t : {type::MX, type::TXT, std::uint16_t{99}, type::SOA, type::NS}) {
    auto r = ask("shop.test", t);
    CHECK(r.rcode() == rcode::NOERROR);
    CHECK(r.message.header.aa());
    CHECK(r.message.answers.empty());
    REQUIRE(r.message.authority.size() == 1);
    const auto& soa = r.message.authority[0];
    CHECK(soa.type == type::SOA);
    CHECK(soa.name.text() == "test.");
    CHECK(r.rdata_name(soa) == "rp.test.");
  }
}

TEST_CASE("SOA and NS at the TLD itself are synthesised") {
  auto soa = ask("test", type::SOA);
  REQUIRE(soa.message.answers.size() == 1);
  const auto& rr = soa.message.answers[0];
  CHECK(rr.type == type::SOA);
  CHECK(rr.name.text() == "test.");
  CHECK(soa.rdata_name(rr) == "rp.test.");
  CHECK(soa.rdata_name(rr, 5) == "hostmaster.test.");  // after "rp" (3 bytes) + a pointer (2)
  // serial, refresh, retry, expire, minimum after the two compressed names (5 + 13 bytes).
  REQUIRE(rr.rdata.size() == 5 + 13 + 20);
  CHECK(rr.rdata[5 + 13 + 19] == kTtl);

  auto ns = ask("localhost", type::NS);
  REQUIRE(ns.message.answers.size() == 1);
  CHECK(ns.message.answers[0].type == type::NS);
  CHECK(ns.rdata_name(ns.message.answers[0]) == "rp.localhost.");
  CHECK(ns.message.authority.empty());
}

TEST_CASE("names outside the TLDs are refused") {
  for (const char* n : {"example.com", "test.com", "atest", "."}) {
    auto r = ask(n, type::A);
    CHECK(r.rcode() == rcode::REFUSED);
    CHECK_FALSE(r.message.header.aa());
    CHECK(r.message.answers.empty());
    CHECK(r.message.questions.size() == 1);
  }
  Responder only_dev({"dev"});
  auto r = decode(only_dev.answer(encode_query(1, name("shop.test"), type::A), Transport::udp));
  CHECK(r.rcode() == rcode::REFUSED);
}

TEST_CASE("zone transfers and other classes are refused") {
  CHECK(ask("test", type::AXFR).rcode() == rcode::REFUSED);
  CHECK(ask("test", type::IXFR).rcode() == rcode::REFUSED);
  auto chaos = encode_query(1, name("version.test"), type::TXT);
  chaos[chaos.size() - 1] = 3;  // class CH
  CHECK(decode(Responder(kTlds).answer(chaos, Transport::udp)).rcode() == rcode::REFUSED);
}

TEST_CASE("opcodes other than QUERY get NOTIMP with the opcode kept") {
  Responder responder(kTlds);
  auto query = encode_query(5, name("shop.test"), type::A);
  for (int op : {opcode::STATUS, opcode::NOTIFY, opcode::UPDATE, 15}) {
    auto q = with_header_field(query, 2, static_cast<std::uint8_t>(op << 3 | 1));
    auto r = decode(responder.answer(q, Transport::udp));
    CHECK(r.rcode() == rcode::NOTIMP);
    CHECK(r.message.header.opcode() == op);
    CHECK(r.message.header.id == 5);
    CHECK(r.message.answers.empty());
  }
}

TEST_CASE("not exactly one question, or a malformed message, is FORMERR") {
  Responder responder(kTlds);
  auto query = encode_query(9, name("shop.test"), type::A);
  SECTION("two questions") {
    Bytes two = with_header_field(query, 5, 2);
    two.insert(two.end(), query.begin() + 12, query.end());
    auto r = decode(responder.answer(two, Transport::udp));
    CHECK(r.rcode() == rcode::FORMERR);
    CHECK(r.message.header.id == 9);
    CHECK(r.message.questions.empty());
  }
  SECTION("no question") {
    Bytes none(query.begin(), query.begin() + 12);
    none[5] = 0;
    CHECK(decode(responder.answer(none, Transport::udp)).rcode() == rcode::FORMERR);
  }
  SECTION("a question cut short") {
    Bytes cut(query.begin(), query.end() - 3);
    auto r = decode(responder.answer(cut, Transport::tcp));
    CHECK(r.rcode() == rcode::FORMERR);
    CHECK(r.message.header.id == 9);
  }
  SECTION("a pointer loop in the question") {
    Bytes loop(query.begin(), query.begin() + 12);
    loop.insert(loop.end(), {0xC0, 12, 0, 1, 0, 1});
    CHECK(decode(responder.answer(loop, Transport::udp)).rcode() == rcode::FORMERR);
  }
  SECTION("two questions with EDNS keep the OPT") {
    auto with_opt = encode_query(9, name("shop.test"), type::A, Edns{});
    Bytes q(with_opt.begin(), with_opt.begin() + 12);
    q[5] = 2;
    q.insert(q.end(), query.begin() + 12, query.end());
    q.insert(q.end(), query.begin() + 12, query.end());
    q.insert(q.end(), with_opt.end() - 11, with_opt.end());
    auto r = decode(responder.answer(q, Transport::udp));
    CHECK(r.rcode() == rcode::FORMERR);
    CHECK(r.message.additional.size() == 1);
  }
}

TEST_CASE("no answer at all without a header, or to a response") {
  Responder responder(kTlds);
  CHECK(responder.answer(Bytes(11, 0), Transport::udp).empty());
  CHECK(responder.answer(Bytes{}, Transport::tcp).empty());
  auto query = encode_query(1, name("shop.test"), type::A);
  CHECK(responder.answer(with_header_field(query, 2, 0x81), Transport::udp).empty());
}

TEST_CASE("EDNS: an OPT in the query gets rp's OPT back") {
  auto r = ask("shop.test", type::A, Edns{4096, 0, 0, true});
  REQUIRE(r.message.additional.size() == 1);
  const auto& opt = r.message.additional[0];
  CHECK(opt.type == type::OPT);
  CHECK(opt.name.label_count() == 0);
  auto e = edns_of(opt);
  CHECK(e.udp_size == kUdpPayloadSize);
  CHECK(e.version == 0);
  CHECK(e.dnssec_ok);
  CHECK(r.rcode() == rcode::NOERROR);
  CHECK(r.message.answers.size() == 1);

  auto refused = ask("example.com", type::A, Edns{});
  CHECK(refused.message.additional.size() == 1);
}

TEST_CASE("EDNS: a version above 0 is BADVERS") {
  auto r = ask("shop.test", type::A, Edns{1232, 1, 0, false});
  CHECK(r.message.header.rcode() == 0);  // the low bits; the rest is in the OPT
  CHECK(r.rcode() == rcode::BADVERS);
  CHECK(r.message.answers.empty());
  REQUIRE(r.message.additional.size() == 1);
  CHECK(edns_of(r.message.additional[0]).version == 0);
}

TEST_CASE("a UDP answer larger than the client takes is cut with TC; TCP is not") {
  Responder small(kTlds, 100);
  auto query = encode_query(3, name(std::string(60, 'a') + ".test"), type::ANY);
  auto udp = decode(small.answer(query, Transport::udp));
  CHECK(udp.message.header.tc());
  CHECK(udp.message.answers.empty());
  CHECK(udp.message.questions.size() == 1);
  CHECK(udp.bytes.size() <= 100);
  auto tcp = decode(small.answer(query, Transport::tcp));
  CHECK_FALSE(tcp.message.header.tc());
  CHECK(tcp.message.answers.size() == 2);
}

TEST_CASE("the longest name still gets a whole answer over plain UDP") {
  std::string label(63, 'b');
  auto r = ask(label + "." + label + "." + label + "." + std::string(56, 'c') + ".test", type::MX);
  CHECK_FALSE(r.message.header.tc());
  CHECK(r.message.authority.size() == 1);
  CHECK(r.bytes.size() <= 512);
}
