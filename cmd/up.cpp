// `rp up`: the project in the current directory, in the foreground, until Ctrl-C.
#include <fmt/format.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include "cmd/load.hpp"
#include "supervisor/console.hpp"
#include "supervisor/guardian.hpp"
#include "supervisor/supervisor.hpp"

namespace rp::cmd {

int up(const UpArgs& args) {
  auto started_at = std::chrono::steady_clock::now();
  EnvMap env = current_environment();
  auto loaded = load(args.project, env);
  if (!loaded.project) {
    print_errors(loaded.errors);
    fmt::print(stderr, "rp up: not starting — fix the error{} above (`rp check` lists them)\n",
               loaded.errors.size() == 1 ? "" : "s");
    return 1;
  }
  // Orphans of the processes we start are re-parented to us, so a stop can find them all.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  const std::string run_id = new_run_id();
  // Forked before Asio starts anything, while this process has a single thread.
  Guardian guardian = Guardian::start(run_id);

  Console console(STDOUT_FILENO, {color_wanted(STDOUT_FILENO, env), args.timestamps, 2});
  boost::asio::io_context io;
  Supervisor supervisor(io, std::move(*loaded.project), std::move(env), loaded.global,
                        {args.exit_on_error, started_at}, console, guardian, run_id);
  return supervisor.run();
}

}  // namespace rp::cmd
