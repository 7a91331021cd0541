// Whether an exchange is held still by the other side. Once a request is forwarded, rp waits on
// the client for the rest of its body and for it to take the response, and on the app to take the
// body; each of those waits is marked here while it lasts. The session's watchdog looks every
// header_timeout: a wait under way with no wait begun or ended since the last look is a stall, and
// the exchange is cut (a slowloris body, a client that never reads a large response, an app that
// never reads an upload). A request body is one wait that moves a KiB at a time, so a client that
// sends a byte now and then (slowloris) stalls as surely as one that sends nothing. Waiting for the
// app to answer is not marked: an app may think as long as it likes (long polling, Server-Sent
// Events, a debugger's breakpoint). Marking a wait costs a few increments: nothing on the
// forwarding path asks the time for it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rp::proxy {

struct StallWatch {
  int waiting = 0;          // marked waits under way
  std::uint64_t moves = 0;  // marked waits begun or ended so far, and KiBs of body arrived
  std::size_t trickle = 0;  // body bytes arrived since the last KiB counted

  // `n` bytes of a request body arrived.
  void arrived(std::size_t n) {
    trickle += n;
    if (trickle >= 1024) {
      trickle = 0;
      ++moves;
    }
  }

  // Marks one wait for its lifetime.
  class Wait {
   public:
    explicit Wait(StallWatch& watch) : watch_(watch) {
      ++watch_.waiting;
      ++watch_.moves;
    }
    ~Wait() {
      --watch_.waiting;
      ++watch_.moves;
    }
    Wait(const Wait&) = delete;
    Wait& operator=(const Wait&) = delete;

   private:
    StallWatch& watch_;
  };
};

}  // namespace rp::proxy
