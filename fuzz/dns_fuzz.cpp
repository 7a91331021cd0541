// libFuzzer target over the DNS wire format and the responder. Any bytes, taken as a message and
// as a query over UDP and over TCP, must give either no answer (only for fewer than 12 bytes or
// a response) or an answer that is itself a well-formed message for the same id, within the
// size the transport allows, echoing a clean question byte for byte — with no crash, leak or
// out-of-bounds read along the way (ASan, UBSan).
#include <array>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "dnsproxy/dns_message.hpp"
#include "dnsproxy/responder.hpp"

namespace {

using namespace rp::dns;

void require(bool ok) {
  if (!ok) __builtin_trap();
}

void check_answer(std::span<const std::uint8_t> query, std::span<const std::uint8_t> answer,
                  std::size_t limit) {
  auto header = read_header(query);
  if (answer.empty()) {
    require(!header || header->qr());
    return;
  }
  require(header && !header->qr());
  require(answer.size() <= limit);
  Message reply;
  require(decode_message(answer, reply) == DecodeError::none);
  require(reply.header.id == header->id);
  require(reply.header.qr());
  require(reply.header.opcode() == header->opcode());
  Query q;
  if (decode_query(query, q) == DecodeError::none && header->qdcount == 1 &&
      header->opcode() == opcode::QUERY && reply.header.rcode() != rcode::FORMERR) {
    require(reply.questions.size() == 1);
    require(reply.questions[0].name == q.question.name);
    require(reply.questions[0].type == q.question.type);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);

  Message message;
  if (decode_message(input, message) == DecodeError::none) {
    for (const auto& q : message.questions) (void)q.name.text();
    for (const auto& rr : message.additional) {
      if (rr.type == type::OPT) (void)edns_of(rr);
    }
  }

  static const Responder responder({"test", "localhost"});
  static std::array<std::uint8_t, 65535> out;
  check_answer(input, {out.data(), responder.answer(input, Transport::udp, out)}, kUdpPayloadSize);
  check_answer(input, {out.data(), responder.answer(input, Transport::tcp, out)}, out.size());

  // A responder that may send little over UDP, so that long names take the truncation path
  // (300 bytes still hold any header, question and OPT, so it never has to drop).
  static const Responder small({"test"}, 300);
  std::array<std::uint8_t, 512> little{};
  check_answer(input, {little.data(), small.answer(input, Transport::udp, little)}, 300);
  return 0;
}
