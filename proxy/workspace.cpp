#include "proxy/workspace.hpp"

namespace rp::proxy {

std::unique_ptr<Workspace> WorkspacePool::take() {
  ++taken_;
  if (spares_.empty()) return std::make_unique<Workspace>();
  auto workspace = std::move(spares_.back());
  spares_.pop_back();
  workspace->parser.reset();
  return workspace;
}

void WorkspacePool::give_back(std::unique_ptr<Workspace> workspace) {
  if (spares_.size() < kMaxSpares) spares_.push_back(std::move(workspace));
}

}  // namespace rp::proxy
