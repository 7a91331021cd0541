// What the rp daemon remembers in RP_HOME across restarts: the projects registered with `rp link`
// (RP_HOME/apps/NAME.json, one file per link, so a damaged file loses one app, not all) and the
// static routes added with `rp route` (RP_HOME/routes.json). Files are JSON so a user can read and
// repair them; a file that cannot be used becomes a Diagnostic saying which one and what to do,
// and the rest still load. Writes are atomic (see state_files.hpp).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/project/diagnostic.hpp"
#include "supervisor/project/dotenv.hpp"

namespace rp {

// A project registered with `rp link`.
struct Link {
  std::string name;                      // DNS-safe app name (valid_dns_label)
  std::filesystem::path dir;             // the project directory (absolute)
  EnvMap env;                            // environment of the `rp link` command
  std::optional<std::string> procfile;   // -f as given (absolute path), if any
  std::optional<std::string> env_files;  // -e as given, if any

  bool operator==(const Link&) const = default;
};

// `rp route NAME PORT`: NAME.<tld> goes to a port rp does not manage.
struct StaticRoute {
  std::string name;
  int port = 0;

  bool operator==(const StaticRoute&) const = default;
};

class Registry {
 public:
  explicit Registry(std::filesystem::path home);

  // Every RP_HOME/apps/*.json, sorted by name. A file that cannot be read or parsed, or whose name
  // does not match its content, becomes a Diagnostic naming the file; the others load.
  std::vector<Link> links(Diagnostics& errors) const;
  // Writes RP_HOME/apps/NAME.json atomically, creating directories (mode 0700). Refuses a name
  // that is not a DNS label (so it can never leave apps/) and a relative dir.
  bool save_link(const Link& link, std::string& error);
  // True when the link existed and its file is gone.
  bool remove_link(std::string_view name);

  // RP_HOME/routes.json, {"routes": {"name": port, ...}}, sorted by name; a missing file means
  // none. An entry with a bad name or a port outside 1..65535 is a Diagnostic and left out.
  std::vector<StaticRoute> routes(Diagnostics& errors) const;
  // Replaces routes.json atomically. Refuses bad names, bad ports and a name given twice.
  bool save_routes(const std::vector<StaticRoute>& routes, std::string& error);

 private:
  std::filesystem::path link_file(std::string_view name) const;

  std::filesystem::path home_;
};

}  // namespace rp
