// How this machine turns names into addresses, and what `rp setup` changes so that rp's TLDs
// reach rp's DNS responder: a systemd-resolved drop-in, a NetworkManager dnsmasq snippet, or —
// with a plain /etc/resolv.conf, which cannot route one domain to one server — plain words on
// what to do instead. Also the sysctl drop-in that lets rp bind ports 80 and 443 unprivileged.
//
// Detection and planning are pure functions over a snapshot of the few files that decide them
// (read_system_files reads it under a root), so a test can describe any machine.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace rp::dns {

// The paths rp setup writes, as on the target system.
inline constexpr const char* kResolvedDropIn = "/etc/systemd/resolved.conf.d/rp.conf";
inline constexpr const char* kDnsmasqSnippet = "/etc/NetworkManager/dnsmasq.d/rp.conf";
inline constexpr const char* kSysctlDropIn = "/etc/sysctl.d/50-rp-unprivileged-ports.conf";
// The first line of every file rp writes: rp overwrites or removes only files that carry it.
inline constexpr const char* kMarker =
    "# Written by rp setup; `rp setup --undo` removes this file.";

enum class ResolverKind { systemd_resolved, networkmanager_dnsmasq, resolv_conf };

// What detection and planning read, as found under a root.
struct SystemFiles {
  std::optional<std::string> resolv_conf_link;  // where /etc/resolv.conf points, if a symlink
  std::optional<std::string> resolv_conf;       // its text
  std::optional<std::string> nsswitch_conf;
  // NetworkManager.conf, then conf.d/*.conf in name order (later files win): path and text.
  std::vector<std::pair<std::string, std::string>> networkmanager_conf;
  std::map<std::string, std::string> rp_files;  // the paths above that exist, and their text
  std::optional<int> unprivileged_port_start;   // the running kernel's; unknown under a --root
};

SystemFiles read_system_files(const std::filesystem::path& root, bool live_system);

struct Detection {
  ResolverKind kind = ResolverKind::resolv_conf;
  std::string name;      // "systemd-resolved"
  std::string evidence;  // why rp thinks so: "/etc/resolv.conf -> ../run/systemd/..."
};

Detection detect_resolver(const SystemFiles& files);

struct SetupSettings {
  std::vector<std::string> tlds;
  int dns_port = 5300;
};

struct FileToWrite {
  std::string path;  // absolute, on the target system
  std::string text;
};

using Command = std::vector<std::string>;

struct SetupPlan {
  Detection detection;
  std::vector<FileToWrite> files;
  std::vector<Command> commands;   // to run after writing, on the live system only
  std::vector<std::string> notes;  // what rp cannot do or need not do, in plain words
};

SetupPlan plan_setup(const SystemFiles& files, const SetupSettings& settings);

// A stale or conflicting rp set-up: an rp file that routes the TLDs to another port, routes
// other TLDs than rp serves, or belongs to a resolver this system does not use.
struct SetupProblem {
  std::string what;
  std::string fix;
};

std::vector<SetupProblem> check_setup(const SystemFiles& files, const SetupSettings& settings);

}  // namespace rp::dns
