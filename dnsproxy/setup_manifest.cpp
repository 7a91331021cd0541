#include "dnsproxy/setup_manifest.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "supervisor/project/text.hpp"
#include "supervisor/state/root_files.hpp"

namespace rp::dns {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSysctlKey = "net.ipv4.ip_unprivileged_port_start";

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

bool has_marker(const fs::path& p) {
  auto text = read_text_file(p);
  if (!text) return false;
  auto lines = split_lines(*text);
  return !lines.empty() && lines.front() == kMarker;
}

}  // namespace

std::string render_manifest(const Manifest& m) {
  std::string out =
      "# What `rp setup --apply` created; `rp setup --undo` removes exactly this. Keep it.\n";
  for (const auto& d : m.dirs) out += fmt::format("dir {}\n", d);
  for (const auto& f : m.files) out += fmt::format("file {}\n", f);
  if (m.previous_port_start) {
    out += fmt::format("sysctl {} {}\n", kSysctlKey, *m.previous_port_start);
  }
  return out;
}

std::optional<Manifest> parse_manifest(std::string_view text, std::string& error) {
  Manifest m;
  for (const auto& [n, line, kind, rest] : manifest_lines(text)) {
    if ((kind == "dir" || kind == "file") && rest.starts_with("/")) {
      (kind == "dir" ? m.dirs : m.files).emplace_back(rest);
      continue;
    }
    if (kind == "sysctl" && rest.starts_with(kSysctlKey)) {
      auto value = trim(rest.substr(std::string_view(kSysctlKey).size()));
      int v = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec == std::errc{} && end == value.data() + value.size()) {
        m.previous_port_start = v;
        continue;
      }
    }
    error = fmt::format("line {} is not one rp setup writes: '{}'", n, line);
    return std::nullopt;
  }
  return m;
}

std::vector<Command> undo_commands(const Manifest& m) {
  std::vector<Command> commands;
  if (contains(m.files, kResolvedDropIn)) {
    commands.push_back({"systemctl", "restart", "systemd-resolved"});
  }
  if (contains(m.files, kDnsmasqSnippet)) {
    commands.push_back({"nmcli", "general", "reload", "dns-full"});
  }
  if (contains(m.files, kSysctlDropIn) && m.previous_port_start) {
    commands.push_back({"sysctl", "-w", fmt::format("{}={}", kSysctlKey, *m.previous_port_start)});
  }
  return commands;
}

Outcome apply_files(const fs::path& root, const std::vector<FileToWrite>& files,
                    std::optional<int> port_start_now) {
  Outcome out;
  if (files.empty()) return out;
  const auto manifest_path = under_root(root, kManifestPath);
  Manifest m;
  if (auto text = read_text_file(manifest_path)) {
    std::string error;
    auto parsed = parse_manifest(*text, error);
    if (!parsed) {
      out.errors.push_back(
          fmt::format("{}: {} — rp setup cannot tell what it changed before; "
                      "fix or remove that file",
                      manifest_path.string(), error));
      return out;
    }
    m = *parsed;
  }
  for (const auto& f : files) {
    auto p = under_root(root, f.path);
    std::error_code ec;
    if (fs::exists(p, ec) && !contains(m.files, f.path) && !has_marker(p)) {
      out.errors.push_back(
          fmt::format("{} exists and was not written by rp; rp leaves it alone "
                      "— move it away, then run rp setup --apply again",
                      p.string()));
    }
  }
  if (!out.errors.empty()) return out;

  for (const auto& f : files) {
    auto p = under_root(root, f.path);
    std::string error;
    if (!make_dirs_under_root(root, fs::path(f.path).parent_path(), m.dirs, error) ||
        !write_system_file(p, f.text, error)) {
      out.errors.push_back(error);
      break;
    }
    out.done.push_back(fmt::format("wrote {}", p.string()));
    if (!contains(m.files, f.path)) m.files.push_back(f.path);
    if (f.path == kSysctlDropIn && !m.previous_port_start) m.previous_port_start = port_start_now;
  }
  // Recorded even after a failure, so that --undo can remove whatever was written.
  std::string error;
  if (!make_dirs_under_root(root, fs::path(kManifestPath).parent_path(), m.dirs, error) ||
      !write_system_file(manifest_path, render_manifest(m), error)) {
    out.errors.push_back(error);
  } else {
    out.done.push_back(fmt::format("recorded them in {}", manifest_path.string()));
  }
  return out;
}

Outcome undo_files(const fs::path& root, Manifest& m) {
  Outcome out;
  const auto manifest_path = under_root(root, kManifestPath);
  auto text = read_text_file(manifest_path);
  if (!text) {
    out.done.push_back(fmt::format("nothing to undo: there is no {}", manifest_path.string()));
    return out;
  }
  std::string error;
  auto parsed = parse_manifest(*text, error);
  if (!parsed) {
    out.errors.push_back(fmt::format("{}: {}", manifest_path.string(), error));
    return out;
  }
  m = *parsed;
  std::error_code ec;
  for (const auto& f : m.files) {
    auto p = under_root(root, f);
    if (!fs::exists(p, ec)) {
      out.done.push_back(fmt::format("{} is already gone", p.string()));
    } else if (!has_marker(p)) {
      out.errors.push_back(
          fmt::format("{} no longer starts with rp's marker line, so rp leaves "
                      "it — remove it yourself if it is not needed",
                      p.string()));
    } else if (fs::remove(p, ec)) {
      out.done.push_back(fmt::format("removed {}", p.string()));
    } else {
      out.errors.push_back(fmt::format("cannot remove {}: {}", p.string(), ec.message()));
    }
  }
  if (fs::remove(manifest_path, ec)) {
    out.done.push_back(fmt::format("removed {}", manifest_path.string()));
  }
  remove_empty_dirs(root, m.dirs, out.done);
  return out;
}

}  // namespace rp::dns
