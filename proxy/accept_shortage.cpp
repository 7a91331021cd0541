#include "proxy/accept_shortage.hpp"

#include <fmt/format.h>
#include <sys/resource.h>

#include <cerrno>

namespace rp::proxy {

// Long enough that a listener out of descriptors costs nothing measurable, short enough that a
// connection queued meanwhile hardly notices.
constexpr std::chrono::milliseconds kPause{100};

std::chrono::milliseconds AcceptShortage::failed(const boost::system::error_code& ec) {
  const int e = ec.value();
  const bool descriptors = e == EMFILE || e == ENFILE;
  if (!descriptors && e != ENOBUFS && e != ENOMEM) return std::chrono::milliseconds(0);
  last_failure_.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                      std::memory_order_relaxed);
  if (short_.exchange(true)) return kPause;
  if (descriptors) {
    rlimit files{};
    ::getrlimit(RLIMIT_NOFILE, &files);
    say_(
        fmt::format("out of file descriptors ({}; the limit is {}): new connections wait until "
                    "some close. Lower max_connections in config.yaml, or raise the limit "
                    "(ulimit -n, LimitNOFILE=)",
                    ec.message(), static_cast<unsigned long long>(files.rlim_cur)));
  } else {
    say_(fmt::format("out of memory for sockets ({}): new connections wait until some close",
                     ec.message()));
  }
  return kPause;
}

void AcceptShortage::recovered() {
  const std::chrono::steady_clock::time_point failed{
      std::chrono::steady_clock::duration(last_failure_.load(std::memory_order_relaxed))};
  if (std::chrono::steady_clock::now() - failed < std::chrono::seconds(1)) return;
  if (short_.exchange(false)) say_("accepting connections again");
}

}  // namespace rp::proxy
