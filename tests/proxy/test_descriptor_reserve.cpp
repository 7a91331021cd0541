#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <memory>
#include <vector>

#include "proxy/descriptor_reserve.hpp"

using rp::proxy::DescriptorReserve;
namespace asio = boost::asio;

namespace {

// A socket that shows where the reactor keeps its record.
struct Peek : asio::ip::udp::socket {
  using asio::ip::udp::socket::basic_datagram_socket;
  std::uintptr_t record() {
    return reinterpret_cast<std::uintptr_t>(impl_.get_implementation().reactor_data_);
  }
};

// Opens `count` sockets on `io` with 3,000 bytes allocated after each, as a connection's memory
// follows its socket; the span of addresses their records take.
std::uintptr_t span_of_records(asio::io_context& io, int count) {
  std::vector<std::unique_ptr<Peek>> sockets;
  std::vector<std::unique_ptr<char[]>> between;
  std::uintptr_t low = UINTPTR_MAX, high = 0;
  for (int i = 0; i < count; ++i) {
    sockets.push_back(std::make_unique<Peek>(io));
    sockets.back()->open(asio::ip::udp::v4());
    between.push_back(std::make_unique<char[]>(3000));
    low = std::min(low, sockets.back()->record());
    high = std::max(high, sockets.back()->record());
  }
  return high - low;
}

long open_descriptors() {
  return std::distance(std::filesystem::directory_iterator("/proc/self/fd"),
                       std::filesystem::directory_iterator());
}

}  // namespace

TEST_CASE("a batch is made at the first connection, and again as connections near it") {
  asio::io_context io;
  DescriptorReserve reserve(io.get_executor());
  asio::ip::udp::socket first(io, asio::ip::udp::v4());  // the reactor opens its own descriptors
  const auto descriptors = open_descriptors();
  reserve.opened(1);
  CHECK(reserve.made() == DescriptorReserve::kBatch);
  CHECK(open_descriptors() == descriptors);  // the batch's sockets are closed again
  for (int i = 2; i <= 32; ++i) reserve.opened(i);
  CHECK(reserve.made() == DescriptorReserve::kBatch);  // 32 open: still 32 spare records
  reserve.opened(33);
  CHECK(reserve.made() == 2 * DescriptorReserve::kBatch);
  for (int i = 0; i < 33; ++i) reserve.closed();
  reserve.opened(1);  // back under what was made: nothing more
  CHECK(reserve.made() == 2 * DescriptorReserve::kBatch);
}

TEST_CASE("no batch while the process is near its limit of open files") {
  asio::io_context io;
  DescriptorReserve reserve(io.get_executor());
  reserve.opened(1'000'000'000);  // more connections than any limit allows descriptors for
  CHECK(reserve.made() == 0);
}

TEST_CASE("sockets opened after a batch take its records, which lie side by side") {
  constexpr int kCount = 48;
  asio::io_context without;
  const auto scattered = span_of_records(without, kCount);
  // Made one at a time, the records lie among the memory allocated between them.
  REQUIRE(scattered > kCount * 2000);

  asio::io_context io;
  DescriptorReserve reserve(io.get_executor());
  reserve.opened(1);
  const auto together = span_of_records(io, kCount);
  CHECK(together < DescriptorReserve::kBatch * 512);
}
