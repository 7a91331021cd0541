#include "proxy/access_log.hpp"

#include <algorithm>
#include <boost/asio/error.hpp>
#include <charconv>

namespace rp::proxy {
namespace {

// See access_log.hpp. At 25,000 requests a second a batch goes after 5 ms with about 125 lines,
// well before the cap, which bounds a batch only at rates far above that; below 6,400 a second a
// batch waits past 5 ms for its 32 lines, up to 50 ms.
constexpr std::size_t kBatch = 256;
constexpr std::size_t kFewest = 32;
constexpr auto kDelay = std::chrono::milliseconds(5);
constexpr auto kLongest = std::chrono::milliseconds(50);

template <typename Integer>
void append_number(std::string& out, Integer n) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out.append(digits, end);
}

// `value` in `unit`s with one decimal, rounded half up: 2340 in 1000s is "2.3". Written by hand
// rather than with fmt's floating point: every request's line goes through here.
void append_tenths(std::string& out, std::uint64_t value, std::uint64_t unit) {
  const std::uint64_t tenths = value / unit * 10 + (value % unit * 10 + unit / 2) / unit;
  append_number(out, tenths / 10);
  out += '.';
  out += static_cast<char>('0' + tenths % 10);
}

void append_size(std::string& out, std::uint64_t n) {
  if (n < 1024) {
    append_number(out, n);
    out += " B";
  } else if (n < 1024 * 1024) {
    append_tenths(out, n, 1024);
    out += " KiB";
  } else {
    append_tenths(out, n, 1024 * 1024);
    out += " MiB";
  }
}

}  // namespace

std::string access_text(std::string_view method, std::string_view target, int status,
                        std::uint64_t bytes, std::chrono::microseconds took,
                        std::string_view instance, std::string_view via) {
  std::string out;
  out.reserve(method.size() + target.size() + instance.size() + via.size() + 40);
  out += method;
  out += ' ';
  out += target;
  out += ' ';
  append_number(out, status);
  out += ' ';
  append_size(out, bytes);
  out += ' ';
  append_tenths(out, static_cast<std::uint64_t>(std::max<std::int64_t>(took.count(), 0)), 1000);
  out += " ms ";
  out += instance;
  if (!via.empty()) {
    out += ' ';
    out += via;
  }
  return out;
}

bool handover_due(std::size_t waiting, std::chrono::steady_clock::duration waited) {
  return waiting >= kBatch || waited >= kLongest || (waited >= kDelay && waiting >= kFewest);
}

void AccessLog::add(const std::string& app, std::string text) {
  if (!supervisor_) return;
  const auto now = std::chrono::steady_clock::now();
  if (pending_.empty()) first_ = now;
  pending_.push_back({app, std::move(text)});
  if (handover_due(pending_.size(), now - first_)) return flush();
  if (!armed_) wait_until(first_ + kDelay);
}

// The timer looks at the batch 5 ms after its first line, and if it is not due then, once more at
// 50 ms (add() hands it over in between when its 32nd line comes).
void AccessLog::wait_until(std::chrono::steady_clock::time_point when) {
  armed_ = true;
  timer_.expires_at(when);
  timer_.async_wait([this](boost::system::error_code ec) {
    const auto now = std::chrono::steady_clock::now();
    // Cancelled by flush(); or it had fired already, flush() came before it ran, and a later
    // line armed the timer again (its expiry is then still ahead): that wait is the one to keep.
    if (ec == boost::asio::error::operation_aborted || timer_.expiry() > now) return;
    armed_ = false;
    if (pending_.empty()) return;
    if (handover_due(pending_.size(), now - first_)) {
      flush();
    } else {
      wait_until(first_ + kLongest);
    }
  });
}

void AccessLog::flush() {
  if (armed_) {
    timer_.cancel();
    armed_ = false;
  }
  if (pending_.empty() || !supervisor_) return;
  supervisor_->access(std::move(pending_));
  pending_.clear();
}

}  // namespace rp::proxy
