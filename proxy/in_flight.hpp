// A request counted while it is in flight: against its instance, which is what least-outstanding
// balancing reads (proxy/balancer.hpp), and against its app, which is not idle while it has one
// (the daemon stops idle apps). A tunnel counts until it closes. Held for the life of the
// request, so that every way out of it, an error included, ends the count.
#pragma once

#include <atomic>
#include <memory>

#include "supervisor/app/app_status.hpp"

namespace rp::proxy {

class InFlight {
 public:
  // `activity` is null for an app that is always up: nothing to keep awake.
  InFlight(std::shared_ptr<InstanceStatus> instance, std::shared_ptr<AppActivity> activity)
      : instance_(std::move(instance)), activity_(std::move(activity)) {
    instance_->outstanding.fetch_add(1, std::memory_order_relaxed);
    // While it is in flight, the count keeps the app awake; its end starts the idle clock.
    if (activity_) activity_->in_flight.fetch_add(1, std::memory_order_relaxed);
  }
  ~InFlight() {
    instance_->outstanding.fetch_sub(1, std::memory_order_relaxed);
    if (activity_) {
      activity_->touch();
      // Release: whoever sees the count drop also sees the time it ended.
      activity_->in_flight.fetch_sub(1, std::memory_order_release);
    }
  }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  std::shared_ptr<InstanceStatus> instance_;
  std::shared_ptr<AppActivity> activity_;
};

}  // namespace rp::proxy
