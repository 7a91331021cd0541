#include "proxy/upstream_pool.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

namespace asio = boost::asio;
using asio::ip::tcp;

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

std::optional<Upstream> UpstreamPool::take_idle(const std::shared_ptr<InstanceStatus>& instance) {
  auto it = idle_.find(instance.get());
  while (it != idle_.end() && !it->second.empty()) {
    Idle idle = std::move(it->second.back());
    it->second.pop_back();
    if (std::chrono::steady_clock::now() - idle.since < kSurelyOpen || still_open(idle.socket)) {
      return Upstream{{Dialed::Result::connected, std::move(idle.socket), 0, {}}, true};
    }
  }
  return std::nullopt;
}

void UpstreamPool::adopt(const std::shared_ptr<InstanceStatus>& instance, int fd, int family,
                         const asio::any_io_executor& executor) {
  tcp::socket socket(executor);
  boost::system::error_code ec;
  socket.assign(family == 6 ? tcp::v6() : tcp::v4(), fd, ec);
  if (ec) {
    ::close(fd);  // the reactor refused it
    return;
  }
  release(instance, std::move(socket));
}

void UpstreamPool::release(const std::shared_ptr<InstanceStatus>& instance, tcp::socket socket) {
  auto& list = idle_[instance.get()];
  if (list.size() < kMaxIdlePerInstance) {
    list.push_back({std::move(socket), std::chrono::steady_clock::now()});
  }
}

void UpstreamPool::prune(std::chrono::steady_clock::time_point now) {
  for (auto it = idle_.begin(); it != idle_.end();) {
    // Released last, taken first: the oldest are at the front.
    auto& list = it->second;
    auto fresh = std::find_if(list.begin(), list.end(),
                              [&](const Idle& idle) { return now - idle.since < kIdleLife; });
    list.erase(list.begin(), fresh);
    it = list.empty() ? idle_.erase(it) : std::next(it);
  }
}

asio::awaitable<Upstream> UpstreamPool::dial(const std::shared_ptr<InstanceStatus>& instance) {
  Dialed dialed = co_await dial_loopback(
      instance->port, instance->family.load(std::memory_order_relaxed), connect_timeout_);
  Upstream fresh{std::move(dialed), false};
  if (fresh.result == Dialed::Result::connected) {
    instance->family.store(fresh.family, std::memory_order_relaxed);
  }
  co_return fresh;
}

}  // namespace rp::proxy
