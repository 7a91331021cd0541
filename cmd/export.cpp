// `rp export systemd [DIR]`: the project's processes as systemd units in DIR (the user's unit
// directory by default), written as foreman writes them, so they run without rp. No daemon is
// involved: the project is read as `rp up` reads it (the same mistakes refuse it, and nothing is
// written), the units come from cmd/systemd_units, and this file does the directory's part —
// refusing to overwrite a file another hand wrote, replacing this app's earlier units and
// removing those this export no longer has.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "cmd/commands.hpp"
#include "cmd/load.hpp"
#include "cmd/systemd_units.hpp"
#include "supervisor/project/text.hpp"
#include "supervisor/state/state_files.hpp"

namespace rp::cmd {
namespace {

namespace fs = std::filesystem;

// Where systemd's user manager reads units an administrator did not install:
// ${XDG_CONFIG_HOME:-~/.config}/systemd/user.
std::optional<fs::path> user_unit_dir(const EnvMap& env) {
  if (auto it = env.find("XDG_CONFIG_HOME");
      it != env.end() && !it->second.empty() && fs::path(it->second).is_absolute()) {
    return fs::path(it->second) / "systemd" / "user";
  }
  if (auto it = env.find("HOME"); it != env.end() && !it->second.empty()) {
    return fs::path(it->second) / ".config" / "systemd" / "user";
  }
  return std::nullopt;
}

// A regular file's contents (a symlink is never this app's: `systemctl link` made it).
std::optional<std::string> regular_file_text(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(fs::symlink_status(path, ec))) return std::nullopt;
  return read_text_file(path);
}

// What a new export finds in DIR: files of this app's earlier export that it no longer writes
// (to remove), and files in the way that it must not overwrite (errors).
struct Survey {
  std::vector<fs::path> stale;
  std::vector<std::string> in_the_way;
};

Survey survey(const fs::path& dir, const std::string& app, const std::vector<UnitFile>& units) {
  Survey out;
  std::error_code ec;
  for (const auto& unit : units) {
    const fs::path path = dir / unit.name;
    if (!fs::exists(fs::symlink_status(path, ec))) continue;
    auto text = regular_file_text(path);
    if (!text || !exported_for(app, unit.name, *text)) {
      out.in_the_way.push_back(fmt::format(
          "{} exists and was not written by `rp export systemd` for {} — move it away, or "
          "export to another directory",
          path.string(), app));
    }
  }
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const bool kept = std::ranges::any_of(units, [&](const UnitFile& u) { return u.name == name; });
    if (kept) continue;
    if (auto text = regular_file_text(it->path()); text && exported_for(app, name, *text)) {
      out.stale.push_back(it->path());
    }
  }
  std::ranges::sort(out.stale);
  return out;
}

void print_how_to_start(const std::string& app, const fs::path& dir,
                        const std::optional<fs::path>& user_dir,
                        const std::vector<UnitFile>& units) {
  std::error_code ec;
  const bool read_by_systemd = user_dir && fs::equivalent(dir, *user_dir, ec);
  fmt::print("\nStart it:\n");
  if (!read_by_systemd) {
    // systemd reads only its own directories: a unit elsewhere has to be linked in first.
    std::string paths;
    // Piece by piece: GCC 12 at -O3 warns falsely (-Wrestrict) about " " + string&&.
    for (const auto& u : units) {
      paths += ' ';
      paths += (dir / u.name).string();
    }
    fmt::print("  systemctl --user link{}\n", paths);
  }
  fmt::print("  systemctl --user daemon-reload\n");
  fmt::print("  systemctl --user start {}.target\n", app);
  fmt::print("Start it at every login (and at boot after `loginctl enable-linger`):\n");
  fmt::print("  systemctl --user enable {}.target\n", app);
}

}  // namespace

int export_systemd(const ExportArgs& args) {
  const EnvMap inherited = current_environment();
  auto loaded = load(args.project, inherited);
  if (!loaded.project) {
    print_errors(loaded.errors);
    fmt::print(stderr, "rp export: nothing was written\n");
    return 1;
  }
  const Project& project = *loaded.project;
  Diagnostics errors;
  const auto units = systemd_units(project, loaded.global.port_range, errors);
  if (!errors.empty()) {
    print_errors(errors);
    fmt::print(stderr, "rp export: nothing was written\n");
    return 1;
  }

  const auto user_dir = user_unit_dir(inherited);
  if (!args.dir && !user_dir) {
    fmt::print(stderr,
               "rp export: neither HOME nor XDG_CONFIG_HOME is set, so the user's unit directory "
               "is unknown — name the directory: rp export systemd DIR\n");
    return 1;
  }
  const fs::path dir = args.dir ? fs::absolute(*args.dir) : *user_dir;

  const Survey found = survey(dir, project.name, units);
  if (!found.in_the_way.empty()) {
    for (const auto& line : found.in_the_way) fmt::print(stderr, "rp export: {}\n", line);
    fmt::print(stderr, "rp export: nothing was written\n");
    return 1;
  }

  // The units hold the project's environment, secrets included: 0600, as rp keeps its own state.
  std::string error;
  if (!make_private_dirs(dir, error)) {
    fmt::print(stderr, "rp export: {}\n", error);
    return 1;
  }
  fmt::print("rp export: wrote {} file{} for {} to {}:\n", units.size(),
             units.size() == 1 ? "" : "s", project.name, dir.string());
  for (const auto& unit : units) {
    if (!write_file_atomically(dir / unit.name, unit.text, error)) {
      fmt::print(stderr, "rp export: {}\n", error);
      return 1;
    }
    if (unit.port) {
      fmt::print("  {}  (PORT={})\n", unit.name, unit.port);
    } else {
      fmt::print("  {}\n", unit.name);
    }
  }
  for (const auto& path : found.stale) {
    std::error_code ec;
    if (!fs::remove(path, ec)) {
      fmt::print(stderr, "rp export: cannot remove {}: {}\n", path.string(), ec.message());
      return 1;
    }
    fmt::print("  removed {} (an earlier export's, not in this one: stop it if it runs)\n",
               path.filename().string());
  }
  print_how_to_start(project.name, dir, user_dir, units);
  return 0;
}

}  // namespace rp::cmd
