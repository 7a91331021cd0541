#include "supervisor/app/app_status.hpp"

#include <sys/stat.h>

#include <algorithm>
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

std::int64_t modification_time(const char* path) {
  struct stat st {};
  if (::stat(path, &st) != 0) return 0;
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

void AppActivity::touch() {
  last_request_ns.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                        std::memory_order_relaxed);
}

bool AppActivity::idle_for(std::chrono::steady_clock::duration timeout,
                           std::chrono::steady_clock::time_point ready_since,
                           std::chrono::steady_clock::time_point now) const {
  if (timeout.count() <= 0) return false;
  if (in_flight.load(std::memory_order_acquire) > 0) return false;
  using Clock = std::chrono::steady_clock;
  const auto last = Clock::time_point(Clock::duration(last_request_ns.load()));
  return now - std::max(last, ready_since) >= timeout;
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

std::shared_ptr<AppStatus> AppStatus::always_up(std::string name, std::string label, int port) {
  auto instance = std::make_shared<InstanceStatus>();
  instance->process = "web";
  instance->label = std::move(label);
  instance->port = port;
  instance->state = InstanceState::running;
  auto app = std::make_shared<AppStatus>();
  app->name = std::move(name);
  app->web = "web";
  app->instances.push_back(std::move(instance));
  return app;
}

std::int64_t AppStatus::restart_touched() const {
  if (!activity || !activity->has_tmp.load(std::memory_order_relaxed)) return 0;
  const std::int64_t mtime = modification_time(restart_file.c_str());
  if (mtime == 0 || mtime == activity->restart_seen.load(std::memory_order_acquire)) return 0;
  return mtime;
}

std::vector<std::shared_ptr<InstanceStatus>> AppStatus::of(std::string_view process) const {
  std::vector<std::shared_ptr<InstanceStatus>> out;
  for (const auto& i : instances) {
    if (i->process == process) out.push_back(i);
  }
  return out;
}

}  // namespace rp
