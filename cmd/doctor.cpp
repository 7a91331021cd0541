// `rp doctor`: checks end to end that rp's names work on this machine, and says for each failed
// check what to do. The checks follow a request's path: rp's DNS responder answers for the TLDs;
// the system resolver (getaddrinfo, as every program asks) sends the TLDs to it; the HTTP port
// answers; the HTTPS port answers with a certificate the system trusts, and rp's CA is sound; no
// stale or conflicting rp set-up is left behind; and each trust store found trusts rp's CA. Each
// check talks to the real
// thing, with a timeout, using the configuration `rp up` uses.
#include <fmt/format.h>

#include <boost/json.hpp>
#include <filesystem>
#include <optional>
#include <random>
#include <variant>

#include "cmd/client.hpp"
#include "cmd/commands.hpp"
#include "cmd/invoking_user.hpp"
#include "cmd/probes.hpp"
#include "cmd/replies.hpp"
#include "cmd/trust.hpp"
#include "dnsproxy/dns_message.hpp"
#include "dnsproxy/system_resolver.hpp"
#include "proxy/tls/local_ca.hpp"
#include "supervisor/app/ports.hpp"
#include "supervisor/process/port_owner.hpp"

namespace rp::cmd {
namespace {

namespace fs = std::filesystem;

struct Check {
  std::string id;     // stable, for --json: dns_responder, system_resolver, http, configuration
  std::string title;  // for people
  bool ok = false;
  std::string detail;
  std::string fix;
};

Check pass(std::string id, std::string title, std::string detail) {
  return {std::move(id), std::move(title), true, std::move(detail), ""};
}

Check fail(std::string id, std::string title, std::string detail, std::string fix) {
  return {std::move(id), std::move(title), false, std::move(detail), std::move(fix)};
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : std::string(separator)) + i;
  return out;
}

// ", held by dnsmasq (pid 812)" when the holder of the port can be seen.
std::string holder(int port, Protocol protocol) {
  auto owner = find_port_owner(port, protocol);
  return owner ? fmt::format(", held by {} (pid {})", owner->name, owner->pid) : "";
}

std::string rcode_name(int rcode) {
  switch (rcode) {
    case dns::rcode::NOERROR:
      return "NOERROR";
    case dns::rcode::FORMERR:
      return "FORMERR";
    case dns::rcode::SERVFAIL:
      return "SERVFAIL";
    case dns::rcode::NXDOMAIN:
      return "NXDOMAIN";
    case dns::rcode::NOTIMP:
      return "NOTIMP";
    case dns::rcode::REFUSED:
      return "REFUSED";
  }
  return fmt::format("rcode {}", rcode);
}

std::optional<dns::Message> ask(int port, const std::string& name, std::uint16_t qtype,
                                std::string& error) {
  auto qname = dns::Name::from_text(name);
  if (!qname) {
    error = "not a valid name: " + name;
    return std::nullopt;
  }
  static std::mt19937 random{std::random_device{}()};
  auto query = dns::encode_query(static_cast<std::uint16_t>(random()), *qname, qtype);
  auto reply = dns_exchange("127.0.0.1", port, query, 1s, error);
  if (!reply) return std::nullopt;
  dns::Message m;
  if (auto e = dns::decode_message(*reply, m); e != dns::DecodeError::none) {
    error = fmt::format("an answer that is not DNS ({})", dns::describe(e));
    return std::nullopt;
  }
  return m;
}

// What an answer says about the name, in a few words: "127.0.0.1", "REFUSED", "no address".
std::string summary(const dns::Message& m) {
  if (m.header.rcode() != dns::rcode::NOERROR) return rcode_name(m.header.rcode());
  for (const auto& rr : m.answers) {
    if (rr.type == dns::type::A && rr.rdata.size() == 4) {
      return fmt::format("{}.{}.{}.{}", rr.rdata[0], rr.rdata[1], rr.rdata[2], rr.rdata[3]);
    }
  }
  return "no address";
}

Check check_responder(const GlobalConfig& config) {
  const char* id = "dns_responder";
  const char* title = "DNS responder";
  const int port = config.dns_port;
  if (port == 0) {
    return fail(id, title, "rp's DNS responder is off (dns_port is 0)",
                "set dns_port in RP_HOME/config.yaml (5300 is the default), or unset RP_DNS_PORT");
  }
  const std::string where = fmt::format("127.0.0.1:{}", port);
  const std::string start_rp =
      "start rp: rp up in a project directory (it prints `DNS: answering ...` when the "
      "responder runs)";
  const std::string conflict_fix = fmt::format(
      "stop the other server on port {}, or give rp another port (dns_port in "
      "RP_HOME/config.yaml), then sudo rp setup --apply",
      port);
  std::vector<std::string> answered;
  for (const auto& tld : config.tlds) {
    const std::string name = probe_name(tld);
    std::string error;
    auto m = ask(port, name, dns::type::A, error);
    if (!m) {
      auto who = holder(port, Protocol::udp);
      if (!who.empty()) {
        return fail(id, title, fmt::format("{} does not answer DNS ({}){}", where, error, who),
                    conflict_fix);
      }
      return fail(id, title, fmt::format("nothing answers DNS on {} ({})", where, error), start_rp);
    }
    auto said = summary(*m);
    if (said != "127.0.0.1") {
      return fail(id, title,
                  fmt::format("{} answers {} with {}: that is not rp{}", where, name, said,
                              holder(port, Protocol::udp)),
                  conflict_fix);
    }
    answered.push_back(fmt::format("{} → {}", name, said));
  }
  // rp's SOA names rp.<tld> as the zone's server: another resolver that also maps the TLD to
  // loopback (a dnsmasq with address=/test/...) would answer the rest alike.
  const std::string& tld = config.tlds.front();
  std::string error;
  auto soa = ask(port, tld, dns::type::SOA, error);
  bool is_rp = false;
  if (soa && soa->answers.size() == 1 && soa->answers[0].type == dns::type::SOA) {
    // Its first name starts with the label "rp" (then points back at the TLD).
    const auto& rdata = soa->answers[0].rdata;
    is_rp = rdata.size() > 3 && rdata[0] == 2 && rdata[1] == 'r' && rdata[2] == 'p';
  }
  if (!is_rp) {
    return fail(id, title,
                fmt::format("{} answers for *.{}, but it is not rp{}", where, tld,
                            holder(port, Protocol::udp)),
                conflict_fix);
  }
  return pass(id, title, fmt::format("rp answers on {} ({})", where, join(answered, ", ")));
}

std::string resolver_fix(const dns::Detection& detection, const dns::SystemFiles& files) {
  switch (detection.kind) {
    case dns::ResolverKind::systemd_resolved:
      if (files.rp_files.contains(dns::kResolvedDropIn)) {
        return fmt::format(
            "{} is in place: restart systemd-resolved (sudo systemctl restart "
            "systemd-resolved); a VPN that takes over DNS can bypass it",
            dns::kResolvedDropIn);
      }
      break;
    case dns::ResolverKind::networkmanager_dnsmasq:
      if (files.rp_files.contains(dns::kDnsmasqSnippet)) {
        return fmt::format(
            "{} is in place: reload NetworkManager's DNS (sudo nmcli general "
            "reload dns-full)",
            dns::kDnsmasqSnippet);
      }
      break;
    case dns::ResolverKind::resolv_conf:
      return "this system uses a plain /etc/resolv.conf, which cannot send one domain to rp: "
             "rp setup says what to do instead";
  }
  return "sudo rp setup --apply (rp setup alone shows what it changes)";
}

Check check_system_resolver(const GlobalConfig& config, const dns::SystemFiles& files) {
  const char* id = "system_resolver";
  const char* title = "system resolver";
  std::vector<std::string> resolved;
  for (const auto& tld : config.tlds) {
    if (tld == "localhost") continue;  // browsers and curl answer it themselves
    const std::string name = probe_name(tld);
    auto check = resolve_to_here(name, 3s);
    const auto& r = check.resolution;
    if (!r.error.empty()) {
      return fail(id, title,
                  fmt::format("getaddrinfo(\"{}\") finds nothing ({}): this system does not "
                              "send *.{} to rp ({})",
                              name, r.error, tld, dns::detect_resolver(files).name),
                  resolver_fix(dns::detect_resolver(files), files));
    }
    if (!check.elsewhere.empty()) {
      return fail(id, title,
                  fmt::format("{} resolves to {}, not to this machine: something other than rp "
                              "answers *.{} (a VPN's DNS, /etc/hosts, a search domain)",
                              name, join(check.elsewhere, ", "), tld),
                  fmt::format("find out who answers: getent ahosts {} (and resolvectl query {} "
                              "with systemd-resolved); then sudo rp setup --apply",
                              name, name));
    }
    resolved.push_back(fmt::format("{} → {}", name, join(r.addresses, ", ")));
  }
  if (resolved.empty()) {
    return pass(id, title,
                "only *.localhost is served, which browsers and curl resolve without set-up");
  }
  return pass(id, title,
              fmt::format("getaddrinfo sends rp's names here ({})", join(resolved, "; ")));
}

// The ports of the daemon that runs, as it bound them when it started: they may differ from what
// this process would choose (a daemon started before `rp setup`; doctor under sudo, which may
// always bind 80 and 443). Nothing when no daemon answers.
struct DaemonPorts {
  std::optional<int> http;   // 0: it could not listen, or the listener is off
  std::optional<int> https;  // unknown to a daemon older than this doctor
};

std::optional<DaemonPorts> running_daemon_ports(const EnvMap& env) {
  DaemonClient client(env, false);
  auto reply = client.call("GET", "/v1/status", {}, 3s);
  if (reply.status != 200) return std::nullopt;
  auto status = parse_object(reply.body);
  const auto* daemon = status.if_contains("daemon");
  if (!daemon || !daemon->is_object()) return std::nullopt;
  auto port = [&](std::string_view key) -> std::optional<int> {
    const long long n = int_of(daemon->as_object(), key, -1);
    if (n < 0) return std::nullopt;
    return static_cast<int>(n);
  };
  return DaemonPorts{port("http_port"), port("https_port")};
}

// The port a listener check (`id`: http or https) probes: the running daemon's, else the one a
// daemon started now would take. Or the check's failure when there is none to probe.
std::variant<int, Check> port_to_probe(const char* id, const char* title, int chosen,
                                       std::optional<int> running) {
  if (chosen == 0) {
    return fail(id, title, fmt::format("rp's {} listener is off ({}_port is 0)", title, id),
                fmt::format("set {}_port in RP_HOME/config.yaml, or unset RP_{}_PORT", id, title));
  }
  if (running == 0) {
    return fail(id, title,
                fmt::format("the daemon that runs has no {} listener: its {}_port was 0 when it "
                            "started, or the port was taken (RP_HOME/logs/daemon.log says which)",
                            title, id),
                fmt::format("rp daemon stop, then rp up with {}_port set and the port free", id));
  }
  return running.value_or(chosen);
}

Check check_http(const GlobalConfig& config, std::optional<DaemonPorts> daemon) {
  const char* id = "http";
  const char* title = "HTTP";
  const auto probed =
      port_to_probe(id, title, effective_http_port(config, may_bind_privileged_port()),
                    daemon ? daemon->http : std::nullopt);
  if (const auto* failed = std::get_if<Check>(&probed)) return *failed;
  const int port = std::get<int>(probed);
  const std::string where = fmt::format("127.0.0.1:{}", port);
  auto a = http_probe("127.0.0.1", port, probe_name(config.tlds.front()), 2s);
  if (!a.connected) {
    std::string fix = "start rp: rp up in a project directory";
    if (!config.http_port && port != 80) {
      fix += "; to use port 80 rather than 7780, sudo rp setup --apply once";
    }
    return fail(id, title, fmt::format("no HTTP listener on {} ({})", where, a.error), fix);
  }
  if (a.status_line.empty()) {
    return fail(
        id, title,
        fmt::format("{} accepts connections but does not answer HTTP ({}){}", where, a.error,
                    holder(port, Protocol::tcp)),
        fmt::format("stop what holds port {}, or set http_port in RP_HOME/config.yaml", port));
  }
  // rp answers a name it does not know itself, marked Server: rp; anything else is another
  // server on rp's port.
  if (a.server != "rp") {
    return fail(
        id, title,
        fmt::format("{} answers HTTP, but not as rp ({}{}){}", where, a.status_line,
                    a.server.empty() ? "" : ", server " + a.server, holder(port, Protocol::tcp)),
        fmt::format("stop what holds port {}, or set http_port in RP_HOME/config.yaml", port));
  }
  return pass(id, title, fmt::format("{} answers HTTP ({}, rp)", where, a.status_line));
}

// A handshake naming rp's own name (rp.<tld>, whose certificate the dashboard uses anyway), first
// verified as any program on this machine would (the system's trust store), then against rp's CA
// alone, to tell "not trusted yet" from "not rp".
Check check_https(const GlobalConfig& config, const fs::path& home,
                  std::optional<DaemonPorts> daemon) {
  const char* id = "https";
  const char* title = "HTTPS";
  const auto probed =
      port_to_probe(id, title, effective_https_port(config, may_bind_privileged_port()),
                    daemon ? daemon->https : std::nullopt);
  if (const auto* failed = std::get_if<Check>(&probed)) return *failed;
  const int port = std::get<int>(probed);
  const std::string where = fmt::format("127.0.0.1:{}", port);
  const std::string name = "rp." + config.tlds.front();
  auto system = tls_probe("127.0.0.1", port, name, "", 3s);
  if (!system.connected) {
    std::string fix = "start rp: rp up in a project directory";
    if (!config.https_port && port != 443) {
      fix += "; to use port 443 rather than 7743, sudo rp setup --apply once";
    }
    return fail(id, title, fmt::format("no HTTPS listener on {} ({})", where, system.error), fix);
  }
  if (!system.handshake) {
    return fail(
        id, title,
        fmt::format("{} accepts connections but makes no TLS handshake for {} ({}){}", where, name,
                    system.error, holder(port, Protocol::tcp)),
        fmt::format("stop what holds port {}, or set https_port in RP_HOME/config.yaml", port));
  }
  if (system.verified) {
    return pass(id, title,
                fmt::format("{} serves {} with a certificate this system trusts", where, name));
  }
  const fs::path ca = home / "ca" / "rp-ca.pem";
  auto ours = tls_probe("127.0.0.1", port, name, ca.string(), 3s);
  if (ours.verified) {
    return fail(id, title,
                fmt::format("{} serves {} with rp's certificate, but this system does not trust "
                            "rp's CA yet ({})",
                            where, name, system.error),
                "sudo rp trust --apply (then restart your browsers)");
  }
  return fail(
      id, title,
      fmt::format("the certificate {} serves for {} is not from rp's CA in {} ({}){}", where, name,
                  ca.string(), ours.error, holder(port, Protocol::tcp)),
      fmt::format("stop what holds port {}, or set https_port in RP_HOME/config.yaml", port));
}

// rp's CA as it is on disk: readable, whole, its key private, its names those of today's TLDs.
// (Nothing is made here: a missing CA is the daemon's to make at its next start.)
std::vector<Check> check_ca(const GlobalConfig& config, const fs::path& home) {
  const char* id = "ca";
  const char* title = "local CA";
  const fs::path dir = home / "ca";
  std::error_code ec;
  if (!fs::exists(dir / "rp-ca.pem", ec) && !fs::exists(dir / "rp-ca.key", ec)) {
    return {
        pass(id, title,
             fmt::format("none yet in {}: the daemon makes it at its next start", dir.string()))};
  }
  std::string error;
  auto ca = tls::LocalCa::inspect(dir, config.tlds, error);
  if (!ca) return {fail(id, title, error, "see the message")};
  std::vector<Check> checks;
  for (const auto& w : ca->warnings()) checks.push_back(fail(id, title, w.what, w.fix));
  if (checks.empty()) {
    checks.push_back(
        pass(id, title, fmt::format("{} is whole, its key private", (dir / "rp-ca.pem").string())));
  }
  return checks;
}

std::vector<Check> check_configuration(const GlobalConfig& config, const dns::SystemFiles& files) {
  std::vector<Check> checks;
  for (const auto& p : dns::check_setup(files, {config.tlds, config.dns_port})) {
    checks.push_back(fail("configuration", "configuration", p.what, p.fix));
  }
  if (checks.empty()) {
    checks.push_back(
        pass("configuration", "configuration", "no stale or conflicting rp set-up found"));
  }
  return checks;
}

// A check per trust store found: whether it trusts rp's CA.
std::vector<Check> check_trust(const TrustTarget& target) {
  std::vector<Check> checks;
  for (auto& s : trust_status(target)) {
    checks.push_back({"trust", "trust", s.trusted, std::move(s.detail), std::move(s.fix)});
  }
  return checks;
}

}  // namespace

int doctor(const DoctorArgs& args) {
  auto who = load_for_invoking_user();
  if (!who) return 1;
  const GlobalConfig& config = who->config;
  const bool live = !args.root;
  const fs::path root = live ? fs::path("/") : fs::absolute(*args.root);
  auto files = dns::read_system_files(root, live);

  const fs::path home = rp_home(who->env);
  const auto daemon = running_daemon_ports(who->env);
  std::vector<Check> checks{check_responder(config), check_system_resolver(config, files),
                            check_http(config, daemon), check_https(config, home, daemon)};
  for (auto& c : check_ca(config, home)) checks.push_back(std::move(c));
  for (auto& c : check_configuration(config, files)) checks.push_back(std::move(c));
  for (auto& c : check_trust(trust_target(*who, root, live))) {
    checks.push_back(std::move(c));
  }
  const auto failed = std::count_if(checks.begin(), checks.end(), [](auto& c) { return !c.ok; });

  if (args.json) {
    boost::json::array list;
    for (const auto& c : checks) {
      list.push_back({{"name", c.id}, {"ok", c.ok}, {"detail", c.detail}, {"fix", c.fix}});
    }
    fmt::print("{}\n",
               boost::json::serialize(boost::json::object{{"ok", failed == 0}, {"checks", list}}));
    return failed == 0 ? 0 : 1;
  }
  for (const auto& c : checks) {
    fmt::print("{}  {}: {}\n", c.ok ? "PASS" : "FAIL", c.title, c.detail);
    if (!c.ok) fmt::print("      fix: {}\n", c.fix);
  }
  if (failed == 0) {
    fmt::print("all {} checks passed\n", checks.size());
  } else {
    fmt::print("{} of {} checks failed\n", failed, checks.size());
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace rp::cmd
