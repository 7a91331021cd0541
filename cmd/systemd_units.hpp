// What `rp export systemd` writes, as text: a project's processes as systemd units, the way
// foreman exports them, so that a machine without rp (or a user who wants the processes at boot)
// runs them under systemd. Pure — a Project in, file names and contents out — so the unit layout
// and systemd's quoting are tested on strings; cmd/export.cpp reads the project and the directory
// and writes the files.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "supervisor/project/diagnostic.hpp"
#include "supervisor/project/global_config.hpp"
#include "supervisor/project/project.hpp"

namespace rp {

struct UnitFile {
  std::string name;  // "shop-web-1.service"
  std::string text;
  int port = 0;  // a service instance's PORT; 0 for the target and tasks
};

// The project's units: NAME.target, then a Type=oneshot unit per task (in the order they run),
// then a unit per service instance, each on the port `rp up` prefers for it in `ports`. Empty,
// with `errors` added to, when the project holds what a unit cannot carry (a variable name
// systemd refuses, a value that is not UTF-8, a control character in the directory's path).
std::vector<UnitFile> systemd_units(const Project& project, PortRange ports, Diagnostics& errors);

// True when the file `name` holding `text` was written by an export of `app`: named for the app
// (NAME.target, NAME-….service) and opening with its mark. A later export overwrites or removes
// only such files.
bool exported_for(std::string_view app, std::string_view name, std::string_view text);

// `value` as one double-quoted word of a unit file, as Environment= reads it: `\` and `"`
// escaped, `%` doubled (a specifier otherwise), control characters C-escaped (`\n`, `\x01`).
std::string unit_quoted(std::string_view value);

// The same for an ExecStart= argument, where `$` is also doubled (systemd would substitute
// `$NAME` from the unit's environment before the shell sees it).
std::string exec_quoted(std::string_view arg);

}  // namespace rp
