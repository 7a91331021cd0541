#include "dnsproxy/system_resolver.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "supervisor/project/text.hpp"

namespace rp::dns {
namespace {

namespace fs = std::filesystem;

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.starts_with(prefix);
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

std::optional<int> to_int(std::string_view s) {
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::vector<std::string> nameservers(std::string_view resolv_conf) {
  std::vector<std::string> out;
  for (auto line : split_lines(resolv_conf)) {
    auto w = words(line);
    if (w.size() >= 2 && w[0] == "nameserver") out.emplace_back(w[1]);
  }
  return out;
}

// The value of `key` in `[section]` of an ini-style file (NetworkManager.conf), if set.
std::optional<std::string> ini_value(std::string_view text, std::string_view section,
                                     std::string_view key) {
  std::optional<std::string> value;
  bool in_section = false;
  for (auto raw : split_lines(text)) {
    auto line = trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      in_section = line == fmt::format("[{}]", section);
      continue;
    }
    auto eq = line.find('=');
    if (in_section && eq != std::string_view::npos && trim(line.substr(0, eq)) == key) {
      value = std::string(trim(line.substr(eq + 1)));
    }
  }
  return value;
}

std::string join_tlds(const std::vector<std::string>& tlds, std::string_view before,
                      std::string_view separator) {
  std::string out;
  for (const auto& t : tlds)
    out += (out.empty() ? "" : std::string(separator)) + std::string(before) + t;
  return out;
}

// What an rp drop-in routes: which TLDs, to which port.
struct Route {
  std::vector<std::string> tlds;
  std::optional<int> port;
};

Route route_of_resolved_dropin(std::string_view text) {
  Route r;
  for (auto raw : split_lines(text)) {
    auto line = trim(raw);
    if (starts_with(line, "DNS=")) {
      auto colon = line.rfind(':');
      if (colon != std::string_view::npos) r.port = to_int(line.substr(colon + 1));
    } else if (starts_with(line, "Domains=")) {
      for (auto w : words(line.substr(8))) {
        if (starts_with(w, "~")) w.remove_prefix(1);
        r.tlds.emplace_back(w);
      }
    }
  }
  return r;
}

Route route_of_dnsmasq_snippet(std::string_view text) {
  Route r;
  for (auto raw : split_lines(text)) {
    auto line = trim(raw);
    if (!starts_with(line, "server=/")) continue;
    line.remove_prefix(8);
    auto slash = line.find('/');
    auto hash = line.rfind('#');
    if (slash == std::string_view::npos) continue;
    r.tlds.emplace_back(line.substr(0, slash));
    if (hash != std::string_view::npos) r.port = to_int(line.substr(hash + 1));
  }
  return r;
}

std::string resolved_dropin(const SetupSettings& s) {
  return fmt::format(
      "{}\n# Sends {} to rp's DNS responder; every other name is resolved as before.\n"
      "[Resolve]\nDNS=127.0.0.1:{}\nDomains={}\n",
      kMarker, join_tlds(s.tlds, "*.", " and "), s.dns_port, join_tlds(s.tlds, "~", " "));
}

std::string dnsmasq_snippet(const SetupSettings& s) {
  std::string out = fmt::format("{}\n# Sends {} to rp's DNS responder.\n", kMarker,
                                join_tlds(s.tlds, "*.", " and "));
  for (const auto& t : s.tlds) out += fmt::format("server=/{}/127.0.0.1#{}\n", t, s.dns_port);
  return out;
}

std::string sysctl_dropin() {
  return fmt::format(
      "{}\n# Lets programs bind ports from 80 up without root, so that rp can serve "
      "http://NAME.test\n"
      "# on port 80 (and https on 443).\nnet.ipv4.ip_unprivileged_port_start=80\n",
      kMarker);
}

const char* resolver_name(ResolverKind kind) {
  switch (kind) {
    case ResolverKind::systemd_resolved:
      return "systemd-resolved";
    case ResolverKind::networkmanager_dnsmasq:
      return "NetworkManager with dnsmasq";
    case ResolverKind::resolv_conf:
      return "a plain /etc/resolv.conf";
  }
  return "";
}

}  // namespace

SystemFiles read_system_files(const fs::path& root, bool live_system) {
  SystemFiles files;
  auto under = [&](std::string_view path) { return root / fs::path(path).relative_path(); };
  std::error_code ec;
  auto resolv = under("/etc/resolv.conf");
  if (fs::is_symlink(fs::symlink_status(resolv, ec))) {
    files.resolv_conf_link = fs::read_symlink(resolv, ec).string();
  }
  files.resolv_conf = read_text_file(resolv);
  files.nsswitch_conf = read_text_file(under("/etc/nsswitch.conf"));
  auto nm = under("/etc/NetworkManager/NetworkManager.conf");
  if (auto text = read_text_file(nm)) {
    files.networkmanager_conf.emplace_back("/etc/NetworkManager/NetworkManager.conf", *text);
  }
  std::vector<fs::path> confd;
  for (fs::directory_iterator it(under("/etc/NetworkManager/conf.d"), ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->path().extension() == ".conf") confd.push_back(it->path());
  }
  std::sort(confd.begin(), confd.end());
  for (const auto& p : confd) {
    if (auto text = read_text_file(p)) {
      files.networkmanager_conf.emplace_back("/etc/NetworkManager/conf.d/" + p.filename().string(),
                                             *text);
    }
  }
  for (const char* path : {kResolvedDropIn, kDnsmasqSnippet, kSysctlDropIn}) {
    if (auto text = read_text_file(under(path))) files.rp_files[path] = *text;
  }
  if (live_system) {
    if (auto text = read_text_file("/proc/sys/net/ipv4/ip_unprivileged_port_start")) {
      files.unprivileged_port_start = to_int(trim(*text));
    }
  }
  return files;
}

Detection detect_resolver(const SystemFiles& files) {
  auto found = [](ResolverKind kind, std::string evidence) {
    return Detection{kind, resolver_name(kind), std::move(evidence)};
  };
  if (files.resolv_conf_link &&
      files.resolv_conf_link->find("systemd/resolve/") != std::string::npos) {
    return found(ResolverKind::systemd_resolved,
                 fmt::format("/etc/resolv.conf -> {}", *files.resolv_conf_link));
  }
  auto servers = files.resolv_conf ? nameservers(*files.resolv_conf) : std::vector<std::string>{};
  if (std::find(servers.begin(), servers.end(), "127.0.0.53") != servers.end()) {
    return found(ResolverKind::systemd_resolved,
                 "/etc/resolv.conf names 127.0.0.53, systemd-resolved's stub");
  }
  if (files.nsswitch_conf) {
    for (auto line : split_lines(*files.nsswitch_conf)) {
      auto w = words(line);
      if (!w.empty() && w[0] == "hosts:" && std::find(w.begin(), w.end(), "resolve") != w.end()) {
        return found(ResolverKind::systemd_resolved,
                     fmt::format("/etc/nsswitch.conf asks systemd-resolved ({})", trim(line)));
      }
    }
  }
  std::optional<std::pair<std::string, std::string>> dns_setting;
  for (const auto& [path, text] : files.networkmanager_conf) {
    if (auto v = ini_value(text, "main", "dns")) dns_setting = {path, *v};
  }
  if (dns_setting && dns_setting->second == "dnsmasq") {
    return found(ResolverKind::networkmanager_dnsmasq,
                 fmt::format("{} sets dns=dnsmasq", dns_setting->first));
  }
  std::string evidence = !files.resolv_conf ? "there is no /etc/resolv.conf"
                         : servers.empty()  ? "/etc/resolv.conf lists no nameserver"
                                            : fmt::format("/etc/resolv.conf sends every name to {}",
                                                          join_tlds(servers, "", ", "));
  return found(ResolverKind::resolv_conf, evidence);
}

SetupPlan plan_setup(const SystemFiles& files, const SetupSettings& settings) {
  SetupPlan plan;
  plan.detection = detect_resolver(files);
  const auto kind = plan.detection.kind;
  const std::string names = join_tlds(settings.tlds, "*.", ", ");
  if (settings.dns_port == 0) {
    plan.notes.push_back(fmt::format(
        "rp's DNS responder is off (dns_port is 0), so there is nothing to send {} to: set "
        "dns_port in config.yaml (5300 is the default) and run rp setup again",
        names));
  } else if (kind == ResolverKind::systemd_resolved) {
    plan.files.push_back({kResolvedDropIn, resolved_dropin(settings)});
    plan.commands.push_back({"systemctl", "restart", "systemd-resolved"});
  } else if (kind == ResolverKind::networkmanager_dnsmasq) {
    plan.files.push_back({kDnsmasqSnippet, dnsmasq_snippet(settings)});
    plan.commands.push_back({"nmcli", "general", "reload", "dns-full"});
  } else {
    plan.notes.push_back(fmt::format(
        "rp cannot send only {} to itself on this system: {}, and a nameserver line cannot name "
        "a port or a domain. What to do instead: install systemd-resolved (sudo apt install "
        "systemd-resolved) and run rp setup again; or put the names you need in /etc/hosts "
        "(127.0.0.1 shop.test — no wildcards there); or use *.localhost names, which browsers "
        "and curl resolve without any set-up",
        names, plan.detection.evidence));
  }
  if (kind == ResolverKind::systemd_resolved) {
    plan.notes.push_back(
        "*.localhost needs no set-up: systemd-resolved, browsers and curl resolve it to loopback "
        "themselves");
  } else {
    plan.notes.push_back(
        "*.localhost needs no set-up in browsers and curl, which resolve it to loopback "
        "themselves");
  }
  const bool ours = files.rp_files.contains(kSysctlDropIn);
  if (!ours && files.unprivileged_port_start && *files.unprivileged_port_start <= 80) {
    plan.notes.push_back(fmt::format(
        "ports 80 and 443: any user may bind them already (net.ipv4.ip_unprivileged_port_start "
        "is {})",
        *files.unprivileged_port_start));
  } else {
    plan.files.push_back({kSysctlDropIn, sysctl_dropin()});
    plan.commands.push_back({"sysctl", "-p", kSysctlDropIn});
  }
  return plan;
}

std::vector<SetupProblem> check_setup(const SystemFiles& files, const SetupSettings& settings) {
  std::vector<SetupProblem> problems;
  const auto kind = detect_resolver(files).kind;
  const std::string again = "run sudo rp setup --apply again (it rewrites the file)";
  auto check_route = [&](const char* path, ResolverKind for_kind, const Route& route) {
    if (kind != for_kind) {
      problems.push_back({fmt::format("{} is for {}, which this system does not use (it uses {})",
                                      path, resolver_name(for_kind), resolver_name(kind)),
                          "sudo rp setup --undo, then sudo rp setup --apply"});
      return;
    }
    const std::string routed = join_tlds(route.tlds, "*.", ", ");
    if (settings.dns_port == 0) {
      problems.push_back({fmt::format("{} sends {} to rp, but rp's DNS responder is off "
                                      "(dns_port is 0)",
                                      path, routed),
                          "set dns_port in config.yaml, or sudo rp setup --undo"});
    } else if (route.port != settings.dns_port) {
      problems.push_back(
          {fmt::format("{} sends {} to port {}, but rp's dns_port is {}", path, routed,
                       route.port ? std::to_string(*route.port) : "(none)", settings.dns_port),
           fmt::format("{}, or set dns_port: {} in config.yaml", again,
                       route.port ? *route.port : 5300)});
    }
    auto want = settings.tlds, have = route.tlds;
    std::sort(want.begin(), want.end());
    std::sort(have.begin(), have.end());
    if (want != have) {
      problems.push_back({fmt::format("{} routes {}, but rp serves {}", path, routed,
                                      join_tlds(settings.tlds, "*.", ", ")),
                          again});
    }
  };
  if (auto it = files.rp_files.find(kResolvedDropIn); it != files.rp_files.end()) {
    check_route(kResolvedDropIn, ResolverKind::systemd_resolved,
                route_of_resolved_dropin(it->second));
  }
  if (auto it = files.rp_files.find(kDnsmasqSnippet); it != files.rp_files.end()) {
    check_route(kDnsmasqSnippet, ResolverKind::networkmanager_dnsmasq,
                route_of_dnsmasq_snippet(it->second));
  }
  if (files.rp_files.contains(kSysctlDropIn) && files.unprivileged_port_start &&
      *files.unprivileged_port_start > 80) {
    problems.push_back(
        {fmt::format("{} is not in effect (net.ipv4.ip_unprivileged_port_start is {})",
                     kSysctlDropIn, *files.unprivileged_port_start),
         fmt::format("sudo sysctl -p {}", kSysctlDropIn)});
  }
  return problems;
}

}  // namespace rp::dns
