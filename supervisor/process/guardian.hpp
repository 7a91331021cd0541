// The guardian makes "no process outlives rp" true even when rp is killed with SIGKILL, which no
// handler of rp's own can see. It is a small process forked when rp starts, before any thread:
// rp tells it each process group it starts over a pipe; when the pipe closes without rp saying
// "done", rp has died, and the guardian stops those groups and every process carrying rp's
// RP_RUN_ID (descendants that left their group), SIGTERM then SIGKILL, and exits.
#pragma once

#include <sys/types.h>

#include <string>

namespace rp {

class Guardian {
 public:
  // Forks the guardian; every process it must stop carries an RP_RUN_ID starting with `run_id`.
  static Guardian start(const std::string& run_id);

  Guardian(Guardian&& other) noexcept;
  Guardian& operator=(Guardian&&) = delete;
  ~Guardian();

  void watch(pid_t pgid);
  void forget(pid_t pgid);
  // rp has stopped everything itself: the guardian exits without acting.
  void release();

 private:
  explicit Guardian(int fd) : fd_(fd) {}
  void send(char op, pid_t pgid);
  int fd_ = -1;
};

}  // namespace rp
