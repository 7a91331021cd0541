#include "supervisor/app/app_status.hpp"

#include <chrono>

namespace rp {

std::string_view to_string(InstanceState state) {
  switch (state) {
    case InstanceState::starting:
      return "starting";
    case InstanceState::running:
      return "running";
    case InstanceState::backing_off:
      return "restarting";
    case InstanceState::crashed:
      return "crashed";
    case InstanceState::stopped:
      return "stopped";
  }
  return "unknown";
}

std::string_view to_string(AppPhase phase) {
  switch (phase) {
    case AppPhase::stopped:
      return "stopped";
    case AppPhase::starting:
      return "starting";
    case AppPhase::ready:
      return "running";
    case AppPhase::stopping:
      return "stopping";
    case AppPhase::failed:
      return "failed";
  }
  return "unknown";
}

void AppActivity::touch() {
  last_request_ns.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                        std::memory_order_relaxed);
}

void LogRing::push(std::string line) {
  std::lock_guard lock(mutex_);
  if (lines_.size() == capacity_) lines_.pop_front();
  lines_.push_back(std::move(line));
}

std::vector<std::string> LogRing::tail(std::size_t n) const {
  std::lock_guard lock(mutex_);
  n = std::min(n, lines_.size());
  return {lines_.end() - static_cast<std::ptrdiff_t>(n), lines_.end()};
}

bool AppStatus::has(std::string_view process) const {
  for (const auto& i : instances) {
    if (i->process == process) return true;
  }
  return false;
}

std::vector<std::shared_ptr<InstanceStatus>> AppStatus::of(std::string_view process) const {
  std::vector<std::shared_ptr<InstanceStatus>> out;
  for (const auto& i : instances) {
    if (i->process == process) out.push_back(i);
  }
  return out;
}

}  // namespace rp
