#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "dnsproxy/dns_message.hpp"

using namespace rp::dns;
using Bytes = std::vector<std::uint8_t>;

namespace {

Name name(const char* text) {
  auto n = Name::from_text(text);
  REQUIRE(n);
  return *n;
}

// A header with `qdcount` questions and nothing else, then `rest`.
Bytes message(std::uint16_t qdcount, const Bytes& rest, std::uint16_t arcount = 0) {
  Bytes m{0x12, 0x34, 0x01, 0x00, 0, static_cast<std::uint8_t>(qdcount),
          0,    0,    0,    0,    0, static_cast<std::uint8_t>(arcount)};
  // Byte by byte: GCC 12 at -O3 reports a false -Warray-bounds for a range insert here.
  for (auto byte : rest) m.push_back(byte);
  return m;
}

DecodeError read_at(const Bytes& m, std::size_t pos, Name& out) {
  return read_name(m, pos, out);
}

}  // namespace

TEST_CASE("names read from text keep their case and know their labels") {
  auto n = name("WeB.ShOp.TeSt");
  CHECK(n.text() == "WeB.ShOp.TeSt.");
  CHECK(n.label_count() == 3);
  CHECK(n.wire().size() == 15);
  CHECK(n.label_offset(2) == 9);
  CHECK(name("shop.test.") == name("shop.test"));
  CHECK_FALSE(name("Shop.test") == name("shop.test"));
  CHECK(name(".").label_count() == 0);
  CHECK(name(".").text() == ".");
}

TEST_CASE("names that are not names are refused") {
  CHECK_FALSE(Name::from_text(""));
  CHECK_FALSE(Name::from_text("a..b"));
  CHECK_FALSE(Name::from_text(".a"));
  CHECK_FALSE(Name::from_text(std::string(64, 'x') + ".test"));
  CHECK(Name::from_text(std::string(63, 'x') + ".test"));
  // 4 labels of 63 bytes take 4 * 64 + 1 = 257 bytes on the wire: too long.
  std::string label(63, 'a');
  CHECK_FALSE(Name::from_text(label + "." + label + "." + label + "." + label));
  CHECK(Name::from_text(label + "." + label + "." + label + "." + std::string(61, 'a')));
}

TEST_CASE("a name is under a zone on label boundaries, whatever the case") {
  auto test = name("test");
  CHECK(name("WeB.ShOp.TeSt").is_at_or_under(test));
  CHECK(name("TEST").is_at_or_under(test));
  CHECK_FALSE(name("atest").is_at_or_under(test));
  CHECK_FALSE(name("test.com").is_at_or_under(test));
  CHECK_FALSE(name("test").is_at_or_under(name("shop.test")));
  CHECK(name("a.shop.test").is_at_or_under(name("Shop.Test")));
  CHECK(name("anything").is_at_or_under(Name{}));
}

TEST_CASE("text shows unusual bytes escaped") {
  Name n;
  const std::uint8_t label[] = {'a', '.', 0x01};
  REQUIRE(n.append_label(label));
  CHECK(n.text() == "a\\.\\001.");
}

TEST_CASE("reading names: plain and compressed") {
  // 12 bytes of header, "shop.test" at 12, then "www" + pointer to 12 at 23.
  Bytes m = message(
      0, {4, 's', 'h', 'o', 'p', 4, 't', 'e', 's', 't', 0, 3, 'w', 'w', 'w', 0xC0, 12, 0xFF});
  Name n;
  std::size_t pos = 12;
  REQUIRE(read_name(m, pos, n) == DecodeError::none);
  CHECK(n.text() == "shop.test.");
  CHECK(pos == 23);
  REQUIRE(read_name(m, pos, n) == DecodeError::none);
  CHECK(n.text() == "www.shop.test.");
  CHECK(pos == 29);  // just past the pointer
}

TEST_CASE("reading names: pointer loops, forward and out-of-range pointers are errors") {
  Name n;
  SECTION("a pointer to itself") {
    CHECK(read_at(message(0, {0xC0, 12}), 12, n) == DecodeError::bad_name);
  }
  SECTION("two pointers to each other") {
    // at 12: "a" then pointer to 17; at 17: pointer to 12.
    Bytes m = message(0, {1, 'a', 0xC0, 17, 0xFF, 0xC0, 12});
    CHECK(read_at(m, 17, n) == DecodeError::bad_name);
    CHECK(read_at(m, 12, n) == DecodeError::bad_name);
  }
  SECTION("a loop through labels that only ever points backwards from the pointer") {
    // at 12: "b" then a pointer back to 12's run: the run start does not move back, so refused.
    Bytes m = message(0, {1, 'b', 1, 'c', 0xC0, 14});
    CHECK(read_at(m, 12, n) == DecodeError::bad_name);
  }
  SECTION("a forward pointer") {
    CHECK(read_at(message(0, {0xC0, 14, 0}), 12, n) == DecodeError::bad_name);
  }
  SECTION("a pointer past the end") {
    CHECK(read_at(message(0, {0xFF, 0xFF}), 12, n) == DecodeError::bad_name);
  }
  SECTION("a pointer cut in half") {
    CHECK(read_at(message(0, {0xC0}), 12, n) == DecodeError::truncated);
  }
  SECTION("a label longer than the message") {
    CHECK(read_at(message(0, {5, 'a', 'b'}), 12, n) == DecodeError::truncated);
  }
  SECTION("no terminating zero") {
    CHECK(read_at(message(0, {1, 'a'}), 12, n) == DecodeError::truncated);
  }
  SECTION("extended and reserved label types") {
    CHECK(read_at(message(0, {0x41, 'a', 0}), 12, n) == DecodeError::bad_name);
    CHECK(read_at(message(0, {0x81, 'a', 0}), 12, n) == DecodeError::bad_name);
  }
  SECTION("a name that grows past 255 bytes through pointers") {
    // 60-byte labels chained backwards: each pointer goes to the previous label.
    Bytes rest;
    std::size_t prev = 0;
    for (int i = 0; i < 5; ++i) {
      std::size_t at = 12 + rest.size();
      rest.push_back(60);
      rest.insert(rest.end(), 60, 'x');
      if (i == 0) {
        rest.push_back(0);
      } else {
        rest.push_back(static_cast<std::uint8_t>(0xC0 | prev >> 8));
        rest.push_back(static_cast<std::uint8_t>(prev & 0xFF));
      }
      prev = at;
    }
    CHECK(read_at(message(0, rest), prev, n) == DecodeError::bad_name);
  }
}

TEST_CASE("headers need twelve bytes") {
  CHECK_FALSE(read_header(Bytes(11, 0)));
  auto h = read_header(message(1, {}));
  REQUIRE(h);
  CHECK(h->id == 0x1234);
  CHECK(h->rd());
  CHECK(h->qdcount == 1);
  CHECK(h->opcode() == opcode::QUERY);
}

TEST_CASE("a query decodes with its question and OPT record") {
  auto bytes = encode_query(7, name("WeB.test"), type::AAAA, Edns{4096, 0, 0, true});
  Query q;
  REQUIRE(decode_query(bytes, q) == DecodeError::none);
  CHECK(q.header.id == 7);
  CHECK(q.question.name.text() == "WeB.test.");
  CHECK(q.question.type == type::AAAA);
  CHECK(q.question.klass == kClassIn);
  REQUIRE(q.edns);
  CHECK(q.edns->udp_size == 4096);
  CHECK(q.edns->version == 0);
  CHECK(q.edns->dnssec_ok);

  Message m;
  REQUIRE(decode_message(bytes, m) == DecodeError::none);
  REQUIRE(m.questions.size() == 1);
  REQUIRE(m.additional.size() == 1);
  CHECK(edns_of(m.additional[0]).udp_size == 4096);
}

TEST_CASE("malformed queries are reported, not read past") {
  auto bytes = encode_query(7, name("shop.test"), type::A, Edns{});
  Query q;
  SECTION("cut anywhere") {
    for (std::size_t n = 12; n < bytes.size(); ++n) {
      Bytes cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
      CHECK(decode_query(cut, q) != DecodeError::none);
    }
  }
  SECTION("too short for a header") {
    CHECK(decode_query(Bytes(5, 0), q) == DecodeError::short_header);
  }
  SECTION("two OPT records") {
    Bytes twice = bytes;
    twice.insert(twice.end(), bytes.end() - 11, bytes.end());
    twice[11] = 2;
    CHECK(decode_query(twice, q) == DecodeError::bad_opt);
  }
  SECTION("an OPT record whose owner is not the root") {
    Bytes m = encode_query(7, name("shop.test"), type::A);
    m[11] = 1;
    const Bytes opt = {1, 'x', 0, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 0};
    m.insert(m.end(), opt.begin(), opt.end());
    CHECK(decode_query(m, q) == DecodeError::bad_opt);
  }
  SECTION("a record count with nothing behind it") {
    Bytes m = encode_query(7, name("shop.test"), type::A);
    m[7] = 1;  // ANCOUNT
    CHECK(decode_query(m, q) == DecodeError::truncated);
  }
}

TEST_CASE("the writer counts past its end and says so") {
  std::array<std::uint8_t, 4> buf{};
  Writer w(buf);
  w.u16(0x0102);
  CHECK_FALSE(w.overflowed());
  w.u32(0x03040506);
  CHECK(w.overflowed());
  CHECK(w.size() == 6);
  CHECK(buf == std::array<std::uint8_t, 4>{1, 2, 3, 4});
  w.patch_u16(0, 0xAABB);
  CHECK(buf[0] == 0xAA);
  w.patch_u16(3, 0xCCDD);  // would end past the buffer: ignored
  CHECK(buf[3] == 4);
}
