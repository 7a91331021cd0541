#include "proxy/access_log.hpp"

#include <algorithm>
#include <charconv>

namespace rp::proxy {
namespace {

// At 25,000 requests a second the delay ends a batch at about 125 lines, well before the cap: the
// cap only bounds a batch's size at rates far above that (see access_log.hpp).
constexpr std::size_t kBatch = 256;
constexpr auto kDelay = std::chrono::milliseconds(5);

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

void AccessLog::add(const std::string& app, std::string text) {
  if (!supervisor_) return;
  pending_.push_back({app, std::move(text)});
  if (pending_.size() >= kBatch) return flush();
  arm();
}

void AccessLog::arm() {
  if (armed_) return;
  armed_ = true;
  timer_.expires_after(kDelay);
  timer_.async_wait([this](boost::system::error_code) {
    armed_ = false;
    flush();
  });
}

void AccessLog::flush() {
  if (pending_.empty() || !supervisor_) return;
  supervisor_->access(std::move(pending_));
  pending_.clear();
}

}  // namespace rp::proxy
