#include "supervisor/project/global_config.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "supervisor/project/project_config.hpp"
#include "supervisor/project/text.hpp"
#include "supervisor/project/yaml_fields.hpp"

namespace rp {
namespace {

bool valid_address(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

std::optional<PortRange> parse_port_range(std::string_view s) {
  auto dash = s.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  PortRange r;
  auto a = trim(s.substr(0, dash)), b = trim(s.substr(dash + 1));
  if (std::from_chars(a.data(), a.data() + a.size(), r.first).ptr != a.data() + a.size() ||
      std::from_chars(b.data(), b.data() + b.size(), r.last).ptr != b.data() + b.size() ||
      a.empty() || b.empty() || r.first < 1024 || r.last > 65535 || r.first > r.last) {
    return std::nullopt;
  }
  return r;
}

std::optional<int> parse_port(std::string_view s) {
  int port = -1;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), port);
  if (ec != std::errc{} || end != s.data() + s.size() || port < 0 || port > 65535) {
    return std::nullopt;
  }
  return port;
}

}  // namespace

std::filesystem::path rp_home(const EnvMap& env) {
  if (auto it = env.find("RP_HOME"); it != env.end() && !it->second.empty()) return it->second;
  if (auto it = env.find("XDG_CONFIG_HOME"); it != env.end() && !it->second.empty()) {
    return std::filesystem::path(it->second) / "rp";
  }
  auto home = env.find("HOME");
  return std::filesystem::path(home != env.end() ? home->second : "/") / ".config" / "rp";
}

GlobalConfig parse_global_config(std::string_view text, const std::string& path,
                                 Diagnostics& errors) {
  GlobalConfig config;
  yaml::Reader r{path, errors};
  auto root = r.load_map(std::string(text));
  if (!root) return config;
  for (const auto& entry : *root) {
    const YAML::Node& k = entry.first;
    const YAML::Node& v = entry.second;
    if (!r.known_key(k, "config.yaml",
                     {"tlds", "http_port", "https_port", "dns_port", "bind", "idle_timeout",
                      "port_range", "proxy_threads", "header_timeout", "keepalive_timeout",
                      "connect_timeout", "max_connections"})) {
      continue;
    }
    const std::string& key = k.Scalar();
    if (key == "tlds") {
      auto list = r.string_list(v, "tlds");
      if (!list) continue;
      if (list->empty()) {
        r.error(v, "tlds is empty", "name at least one, e.g. [test, localhost]");
        continue;
      }
      config.tlds.clear();
      for (std::size_t i = 0; i < list->size(); ++i) {
        if (valid_dns_label((*list)[i])) {
          config.tlds.push_back((*list)[i]);
        } else {
          r.error(v[i], fmt::format("'{}' is not a top-level domain rp can serve", (*list)[i]),
                  "use a lower-case label such as test or localhost");
        }
      }
    } else if (key == "http_port") {
      config.http_port = r.integer(v, "http_port", 0, 65535);
    } else if (key == "https_port") {
      config.https_port = r.integer(v, "https_port", 0, 65535);
    } else if (key == "dns_port") {
      if (auto p = r.integer(v, "dns_port", 0, 65535)) config.dns_port = *p;
    } else if (key == "bind") {
      auto list = r.string_list(v, "bind");
      if (!list) continue;
      config.bind.clear();
      for (std::size_t i = 0; i < list->size(); ++i) {
        if (valid_address((*list)[i])) {
          config.bind.push_back((*list)[i]);
        } else {
          r.error(v[i], fmt::format("'{}' is not an IP address", (*list)[i]),
                  "write addresses such as 127.0.0.1 and ::1");
        }
      }
    } else if (key == "idle_timeout") {
      if (auto d = r.duration(v, "idle_timeout")) config.idle_timeout = *d;
    } else if (key == "proxy_threads") {
      if (auto n = r.integer(v, "proxy_threads", 0, 256)) config.proxy_threads = *n;
    } else if (key == "max_connections") {
      if (auto n = r.integer(v, "max_connections", 1, 1'000'000)) config.max_connections = *n;
    } else if (key == "header_timeout" || key == "keepalive_timeout" || key == "connect_timeout") {
      auto d = r.duration(v, key);
      if (d && d->count() == 0) {
        r.error(v, fmt::format("{} cannot be 0", key), "give a duration such as 30s");
      } else if (d) {
        (key == "header_timeout"      ? config.header_timeout
         : key == "keepalive_timeout" ? config.keepalive_timeout
                                      : config.connect_timeout) = *d;
      }
    } else if (key == "port_range") {
      auto s = r.string(v, "port_range");
      if (!s) continue;
      if (auto range = parse_port_range(*s)) {
        config.port_range = *range;
      } else {
        r.error(v, fmt::format("port_range '{}' is not FIRST-LAST", *s),
                "write two ports from 1024 to 65535, e.g. 20000-29999");
      }
    }
  }
  return config;
}

void apply_env_overrides(GlobalConfig& config, const EnvMap& env, Diagnostics& errors) {
  auto port_override = [&](const char* name, auto assign) {
    auto it = env.find(name);
    if (it == env.end()) return;
    if (auto port = parse_port(it->second)) {
      assign(*port);
    } else {
      errors.push_back({name, 0, 0, fmt::format("'{}' is not a port", it->second),
                        "set it to a number from 0 to 65535 (0 turns that listener off)"});
    }
  };
  port_override("RP_HTTP_PORT", [&](int p) { config.http_port = p; });
  port_override("RP_HTTPS_PORT", [&](int p) { config.https_port = p; });
  port_override("RP_DNS_PORT", [&](int p) { config.dns_port = p; });
  if (auto it = env.find("RP_TLDS"); it != env.end()) {
    std::vector<std::string> tlds;
    for (auto item : split_list(it->second)) {
      std::string tld(trim(item));
      if (tld.empty()) continue;
      if (!valid_dns_label(tld)) {
        errors.push_back({"RP_TLDS", 0, 0, fmt::format("'{}' is not a top-level domain", tld),
                          "use comma-separated lower-case labels, e.g. test,localhost"});
        return;
      }
      tlds.push_back(tld);
    }
    if (tlds.empty()) {
      errors.push_back({"RP_TLDS", 0, 0, "no top-level domain given",
                        "use comma-separated labels, e.g. test,localhost"});
      return;
    }
    config.tlds = tlds;
  }
  if (auto it = env.find("RP_URL_TLD"); it != env.end() && !it->second.empty()) {
    if (std::find(config.tlds.begin(), config.tlds.end(), it->second) == config.tlds.end()) {
      errors.push_back({"RP_URL_TLD", 0, 0, fmt::format("'{}' is not one of rp's TLDs", it->second),
                        "name one of tlds (config.yaml or RP_TLDS), e.g. test or localhost"});
      return;
    }
    config.url_tld = it->second;
  }
}

GlobalConfig load_global_config(const EnvMap& env, Diagnostics& errors) {
  auto path = rp_home(env) / "config.yaml";
  GlobalConfig config;
  if (auto text = read_text_file(path)) config = parse_global_config(*text, path.string(), errors);
  apply_env_overrides(config, env, errors);
  return config;
}

int effective_http_port(const GlobalConfig& config, bool may_bind_privileged) {
  if (config.http_port) return *config.http_port;
  return may_bind_privileged ? 80 : 7780;
}

int effective_https_port(const GlobalConfig& config, bool may_bind_privileged) {
  if (config.https_port) return *config.https_port;
  return may_bind_privileged ? 443 : 7743;
}

int effective_max_connections(const GlobalConfig& config, std::uint64_t open_files_limit) {
  if (config.max_connections) return *config.max_connections;
  constexpr std::uint64_t kReserve = 128;
  constexpr std::uint64_t kLeast = 16, kMost = 1'000'000;  // kMost: what config.yaml may say
  const std::uint64_t fit = open_files_limit > kReserve ? (open_files_limit - kReserve) / 2 : 0;
  return static_cast<int>(std::clamp(fit, kLeast, kMost));
}

}  // namespace rp
