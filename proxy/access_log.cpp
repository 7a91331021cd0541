#include "proxy/access_log.hpp"

namespace rp::proxy {
namespace {

constexpr std::size_t kBatch = 64;
constexpr auto kDelay = std::chrono::milliseconds(5);

}  // namespace

void AccessLog::add(const std::string& app, std::string text) {
  if (!sink_ || !*sink_) return;
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
  if (pending_.empty() || !sink_ || !*sink_) return;
  (*sink_)(std::move(pending_));
  pending_.clear();
}

}  // namespace rp::proxy
