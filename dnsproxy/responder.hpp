// What rp answers to a DNS query, as a pure function of the query's bytes: the whole policy of
// the responder, tested without sockets. rp is authoritative for its TLDs and for nothing else:
//
//   - names at or under a TLD: A -> 127.0.0.1, AAAA -> ::1 (ANY -> both); SOA and NS at the TLD
//     itself are synthesised; any other type -> NOERROR, no answer, the SOA in authority
//   - names outside the TLDs -> REFUSED (rp is not a recursive resolver)
//   - opcode other than QUERY -> NOTIMP; not exactly one question, or a malformed message ->
//     FORMERR; fewer than 12 bytes, or a response (QR set) -> no answer at all
//   - EDNS(0): an OPT in the query gets one back with rp's UDP size; version above 0 -> BADVERS
//   - the question's letter case is kept (answers point back at it); a UDP answer larger than the
//     client can take is cut to the question with TC set, so the client retries over TCP.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dnsproxy/dns_message.hpp"

namespace rp::dns {

// What rp offers in its OPT record: the size the DNS flag day 2020 settled on, safe from
// fragmentation on any path.
constexpr std::uint16_t kUdpPayloadSize = 1232;
constexpr std::uint32_t kTtl = 60;  // answers never change; short so a config change shows fast

enum class Transport { udp, tcp };

class Responder {
 public:
  // `tlds`: the configured top-level domains ("test", "localhost"); names that are not valid
  // DNS names are skipped. `udp_size`: what rp advertises, and the most it sends over UDP.
  explicit Responder(const std::vector<std::string>& tlds,
                     std::uint16_t udp_size = kUdpPayloadSize);

  // Writes the answer to `query` into `out` and returns its length, or 0 when the query gets no
  // answer. `out` should hold 65535 bytes for TCP; for UDP, udp_size is enough.
  std::size_t answer(std::span<const std::uint8_t> query, Transport transport,
                     std::span<std::uint8_t> out) const;

  // The same into a new vector (empty: no answer) — for tests and tools.
  std::vector<std::uint8_t> answer(std::span<const std::uint8_t> query, Transport transport) const;

 private:
  std::vector<Name> zones_;
  std::uint16_t udp_size_;
};

}  // namespace rp::dns
