#include "proxy/upstream_pool.hpp"

#include <sys/socket.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "proxy/nothrow.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace rp::proxy {
namespace {

// Apps close idle kept-alive connections after a few seconds at the earliest (Node 5 s, Puma
// 20 s); one used within the last second is taken as open without asking the kernel, which
// saves a system call per request under load. A wrong guess costs a retry, not an error.
constexpr auto kSurelyOpen = std::chrono::seconds(1);

// An idle kept-alive connection the app closed shows as readable with nothing to read.
bool still_open(tcp::socket& s) {
  char byte;
  ssize_t n = ::recv(s.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

asio::awaitable<Upstream> UpstreamPool::acquire(const std::shared_ptr<InstanceStatus>& instance,
                                                bool fresh_only) {
  if (!fresh_only) {
    auto it = idle_.find(instance.get());
    while (it != idle_.end() && !it->second.empty()) {
      Idle idle = std::move(it->second.back());
      it->second.pop_back();
      if (std::chrono::steady_clock::now() - idle.since < kSurelyOpen || still_open(idle.socket)) {
        co_return Upstream{Upstream::Result::connected, std::move(idle.socket), true, {}};
      }
    }
  }
  co_return co_await dial(instance);
}

void UpstreamPool::release(const std::shared_ptr<InstanceStatus>& instance, tcp::socket socket) {
  auto& list = idle_[instance.get()];
  if (list.size() < kMaxIdlePerInstance) {
    list.push_back({std::move(socket), std::chrono::steady_clock::now()});
  }
}

asio::awaitable<Upstream> UpstreamPool::dial(const std::shared_ptr<InstanceStatus>& instance) {
  auto executor = co_await asio::this_coro::executor;
  const auto port = static_cast<unsigned short>(instance->port);
  tcp::endpoint v4(asio::ip::address_v4::loopback(), port);
  tcp::endpoint v6(asio::ip::address_v6::loopback(), port);
  const bool v6_first = instance->family.load(std::memory_order_relaxed) == 6;
  const tcp::endpoint order[] = {v6_first ? v6 : v4, v6_first ? v4 : v6};

  Upstream out{Upstream::Result::refused, tcp::socket(executor), false, {}};
  asio::steady_timer timer(executor, connect_timeout_);
  for (const auto& ep : order) {
    tcp::socket s(executor);
    auto result = co_await (s.async_connect(ep, nothrow) || timer.async_wait(nothrow));
    if (result.index() == 1) {
      out.result = Upstream::Result::timed_out;
      out.error = "the app did not accept the connection in time";
      co_return out;
    }
    auto [ec] = std::get<0>(result);
    if (!ec) {
      s.set_option(tcp::no_delay(true));
      instance->family.store(ep.address().is_v6() ? 6 : 4, std::memory_order_relaxed);
      co_return Upstream{Upstream::Result::connected, std::move(s), false, {}};
    }
    out.error += (out.error.empty() ? "" : "; ") + ep.address().to_string() + ": " + ec.message();
  }
  co_return out;
}

}  // namespace rp::proxy
