#include "proxy/access_log.hpp"

#include <fmt/format.h>

namespace rp::proxy {
namespace {

constexpr std::size_t kBatch = 64;
constexpr auto kDelay = std::chrono::milliseconds(5);

std::string human_bytes(std::uint64_t n) {
  if (n < 1024) return fmt::format("{} B", n);
  if (n < 1024 * 1024) return fmt::format("{:.1f} KiB", static_cast<double>(n) / 1024);
  return fmt::format("{:.1f} MiB", static_cast<double>(n) / (1024 * 1024));
}

}  // namespace

std::string access_text(std::string_view method, std::string_view target, int status,
                        std::uint64_t bytes, std::chrono::microseconds took,
                        std::string_view instance, std::string_view via) {
  return fmt::format("{} {} {} {} {:.1f} ms {}{}{}", method, target, status, human_bytes(bytes),
                     static_cast<double>(took.count()) / 1000, instance, via.empty() ? "" : " ",
                     via);
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
