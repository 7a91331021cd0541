#include "proxy/balancer.hpp"

#include <climits>

namespace rp::proxy {

std::shared_ptr<InstanceStatus> pick_instance(const AppStatus& app, std::string_view process,
                                              unsigned& round_robin) {
  const auto& all = app.instances;
  const std::size_t n = all.size();
  if (n == 0) return nullptr;
  const std::size_t start = round_robin++;
  std::shared_ptr<InstanceStatus> best;
  int best_outstanding = INT_MAX;
  std::shared_ptr<InstanceStatus> any;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& candidate = all[(start + i) % n];
    if (candidate->process != process) continue;
    if (!any) any = candidate;
    const auto state = candidate->state.load(std::memory_order_relaxed);
    if (state != InstanceState::running && state != InstanceState::starting) continue;
    // Strictly fewer: the first of equals in this scan's order wins, and the order turns.
    const int outstanding = candidate->outstanding.load(std::memory_order_relaxed);
    if (outstanding < best_outstanding) {
      best = candidate;
      best_outstanding = outstanding;
    }
  }
  return best ? best : any;
}

}  // namespace rp::proxy
