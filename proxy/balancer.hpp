// Which instance of a process gets the next request: the one with the fewest requests in flight
// through the proxy, ties taken in turn. A policy over a snapshot, without sockets, so that it is
// tested as a pure function; the counts it reads are kept by InFlight (proxy/in_flight.hpp).
#pragma once

#include <memory>
#include <string_view>

#include "supervisor/app/app_status.hpp"

namespace rp::proxy {

// The running or starting instance of `process` with the least outstanding requests; among
// equals, where the scan starts turns with `round_robin` (advanced on every call), so ties
// rotate. With none of them up, any instance of the process, so that the error page can say why
// it did not answer; null when the app has no instance of `process` at all.
std::shared_ptr<InstanceStatus> pick_instance(const AppStatus& app, std::string_view process,
                                              unsigned& round_robin);

}  // namespace rp::proxy
