#include "proxy/access_log.hpp"

namespace rp::proxy {

void AccessLog::add(std::string_view text) {
  if (!console_) return;
  pending_ += console_->render("http", std::nullopt, text);
  if (pending_.size() >= 16 * 1024) return flush();
  if (armed_) return;
  armed_ = true;
  timer_.expires_after(std::chrono::milliseconds(50));
  timer_.async_wait([this](boost::system::error_code) {
    armed_ = false;
    flush();
  });
}

void AccessLog::flush() {
  if (pending_.empty() || !console_) return;
  console_->write(pending_);
  pending_.clear();
}

}  // namespace rp::proxy
