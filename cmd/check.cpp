// `rp check`: every mistake in the project's files, compiler-style, without starting anything.
#include <fmt/format.h>

#include <boost/json.hpp>

#include "cmd/load.hpp"

namespace rp::cmd {
namespace {

std::string names(const std::vector<ProcessSpec>& specs) {
  std::string out;
  for (const auto& s : specs) {
    out += (out.empty() ? "" : ", ") + fmt::format("{}={}", s.name, s.count);
  }
  return out.empty() ? "none" : out;
}

}  // namespace

int check(const ProjectArgs& args, bool json) {
  auto loaded = load(args, current_environment());
  if (json) {
    boost::json::array errors;
    for (const auto& e : loaded.errors) {
      errors.push_back({{"file", e.file},
                        {"line", e.line},
                        {"column", e.column},
                        {"message", e.what},
                        {"fix", e.fix}});
    }
    boost::json::object out{{"ok", loaded.errors.empty()}, {"errors", errors}};
    if (loaded.project) {
      out["app"] = loaded.project->name;
      out["dir"] = loaded.project->dir.string();
    }
    fmt::print("{}\n", boost::json::serialize(out));
    return loaded.errors.empty() ? 0 : 1;
  }
  if (!loaded.project) {
    print_errors(loaded.errors);
    fmt::print(stderr, "{} error{} — nothing was started\n", loaded.errors.size(),
               loaded.errors.size() == 1 ? "" : "s");
    return 1;
  }
  const Project& p = *loaded.project;
  fmt::print("ok: app {} in {}\n  services: {}\n  tasks: {}\n  web: {}\n", p.name, p.dir.string(),
             names(p.services), names(p.tasks), p.web.empty() ? "none" : p.web);
  return 0;
}

}  // namespace rp::cmd
