// Ports for the processes rp starts. Each (app, process, instance) hashes to a preferred port in
// the configured range, so a project gets the same ports every time it starts and bookmarks and
// OAuth callbacks keep working; a port something else holds is skipped for the next free one.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>

#include "supervisor/project/global_config.hpp"

namespace rp {

int preferred_port(const std::string& app, const std::string& process, int instance,
                   PortRange range);

// The preferred port, or the next one after it (wrapping in the range) that is neither in
// `assigned` nor refused by `is_free`. nullopt when the whole range is taken.
std::optional<int> assign_port(const std::string& app, const std::string& process, int instance,
                               PortRange range, const std::set<int>& assigned,
                               const std::function<bool(int)>& is_free);

// True when nothing listens on `port` on 127.0.0.1 or ::1 (a bind test, as the app would do).
bool port_is_free(int port);

// True when this process may bind ports below 1024 (root, CAP_NET_BIND_SERVICE, or a lowered
// net.ipv4.ip_unprivileged_port_start).
bool may_bind_privileged_port();

}  // namespace rp
