#include "supervisor/state/registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>

#include "supervisor/project/project_config.hpp"
#include "supervisor/project/text.hpp"
#include "supervisor/state/state_files.hpp"

namespace rp {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr const char* kLinkFix = "remove the file, or run `rp link` again in the project";
constexpr const char* kRoutesFix =
    "correct or remove the file, or add the routes again with `rp route`";

// Reports a parse error at its line and column, so a hand-edited file can be repaired.
std::optional<json::object> parse_object(const fs::path& file, const char* fix,
                                         Diagnostics& errors) {
  auto text = read_text_file(file);
  if (!text) {
    errors.push_back({file.string(), 0, 0, "cannot be read", fix});
    return std::nullopt;
  }
  // An editor may have added a byte order mark; JSON parsers refuse one.
  std::string_view json_text = strip_bom(*text);
  json::stream_parser parser;
  json::error_code ec;
  std::size_t used = parser.write(json_text.data(), json_text.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) {
    std::string_view before = json_text.substr(0, used);
    int line = 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
    auto nl = before.rfind('\n');
    int column =
        1 + static_cast<int>(nl == std::string_view::npos ? before.size() : before.size() - nl - 1);
    errors.push_back({file.string(), line, column, "not valid JSON: " + ec.message(), fix});
    return std::nullopt;
  }
  json::value root = parser.release();
  if (!root.is_object()) {
    errors.push_back({file.string(), 0, 0, "is not a JSON object", fix});
    return std::nullopt;
  }
  return std::move(root.as_object());
}

// Pretty-printed, two-space indent, so the files read well in an editor; serialize() gives one
// line.
void write_pretty(const json::value& v, std::string& out, int indent = 0) {
  const std::string pad(static_cast<std::size_t>(indent) + 2, ' ');
  if (const auto* obj = v.if_object(); obj && !obj->empty()) {
    out += "{\n";
    bool first = true;
    for (const auto& [key, value] : *obj) {
      if (!first) out += ",\n";
      first = false;
      // Appended piece by piece: GCC 12 at -O3 reports a false -Wrestrict for `"\n" + string`.
      out += pad;
      out += json::serialize(json::string_view(key));
      out += ": ";
      write_pretty(value, out, indent + 2);
    }
    out += '\n';
    out.append(static_cast<std::size_t>(indent), ' ');
    out += '}';
  } else {
    out += json::serialize(v);
  }
}

std::string pretty(const json::value& v) {
  std::string out;
  write_pretty(v, out);
  return out + "\n";
}

// A string member, or nullopt with a diagnostic. Absent is an error only when `required`.
std::optional<std::string> string_member(const json::object& obj, std::string_view key,
                                         bool required, const fs::path& file, bool& ok,
                                         Diagnostics& errors) {
  const json::value* v = obj.if_contains(key);
  if (!v || (!required && v->is_null())) {
    if (required) {
      ok = false;
      errors.push_back({file.string(), 0, 0, fmt::format("has no \"{}\"", key), kLinkFix});
    }
    return std::nullopt;
  }
  if (!v->is_string()) {
    ok = false;
    errors.push_back({file.string(), 0, 0, fmt::format("\"{}\" is not a string", key), kLinkFix});
    return std::nullopt;
  }
  return std::string(v->get_string());
}

std::optional<Link> parse_link(const fs::path& file, Diagnostics& errors) {
  auto obj = parse_object(file, kLinkFix, errors);
  if (!obj) return std::nullopt;
  // Keys rp does not know are ignored, so going back to an older rp keeps the links a newer one
  // wrote.
  bool ok = true;
  Link link;
  auto name = string_member(*obj, "name", true, file, ok, errors);
  auto dir = string_member(*obj, "dir", true, file, ok, errors);
  link.procfile = string_member(*obj, "procfile", false, file, ok, errors);
  link.env_files = string_member(*obj, "env_files", false, file, ok, errors);
  if (name) {
    link.name = *name;
    if (*name != file.stem().string()) {
      ok = false;
      errors.push_back(
          {file.string(), 0, 0,
           fmt::format("names the app '{}' but the file is for '{}'", *name, file.stem().string()),
           kLinkFix});
    }
  }
  if (dir) {
    link.dir = *dir;
    if (!link.dir.is_absolute()) {
      ok = false;
      errors.push_back({file.string(), 0, 0,
                        fmt::format("\"dir\" is not an absolute path: '{}'", *dir), kLinkFix});
    }
  }
  const json::value* env = obj->if_contains("env");
  if (!env || !env->is_object()) {
    ok = false;
    errors.push_back(
        {file.string(), 0, 0, env ? "\"env\" is not an object" : "has no \"env\"", kLinkFix});
  } else {
    for (const auto& [key, value] : env->get_object()) {
      if (!value.is_string()) {
        ok = false;
        errors.push_back(
            {file.string(), 0, 0,
             fmt::format("\"env\": the value of {} is not a string", std::string_view(key)),
             kLinkFix});
        continue;
      }
      link.env.emplace(std::string(key), std::string(value.get_string()));
    }
  }
  if (!ok) return std::nullopt;
  return link;
}

std::string route_fix(std::string_view name) {
  return fmt::format("run `rp route {} PORT` with a port from 1 to 65535, or edit the file", name);
}

}  // namespace

Registry::Registry(fs::path home) : home_(std::move(home)) {}

fs::path Registry::link_file(std::string_view name) const {
  return home_ / "apps" / (std::string(name) + ".json");
}

std::vector<Link> Registry::links(Diagnostics& errors) const {
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::directory_iterator it(home_ / "apps", ec), end; !ec && it != end; it.increment(ec)) {
    // NAME.json.tmp is a write that never finished; the NAME.json beside it is still whole.
    if (it->path().extension() == ".json") files.push_back(it->path());
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {  // no apps/ yet is no links
    errors.push_back({(home_ / "apps").string(), 0, 0, "cannot be listed: " + ec.message(),
                      "make it a directory rp can read, or remove it and `rp link` again"});
  }
  std::sort(files.begin(), files.end());
  std::vector<Link> out;
  for (const auto& file : files) {
    if (!valid_app_name(file.stem().string())) {
      errors.push_back({file.string(), 0, 0, "is not named for an app (NAME.json, NAME a DNS name)",
                        "remove the file"});
      continue;
    }
    if (auto link = parse_link(file, errors)) out.push_back(std::move(*link));
  }
  return out;
}

bool Registry::save_link(const Link& link, std::string& error) {
  if (!valid_app_name(link.name)) {
    error = fmt::format(
        "'{}' is not a valid app name: use lower-case letters, digits and '-' (and '.' between "
        "labels)",
        link.name);
    return false;
  }
  if (!link.dir.is_absolute()) {
    error = fmt::format("the project directory '{}' is not an absolute path", link.dir.string());
    return false;
  }
  json::object env;
  for (const auto& [key, value] : link.env) env[key] = value;
  json::object obj{{"name", link.name}, {"dir", link.dir.string()}, {"env", std::move(env)}};
  if (link.procfile) obj["procfile"] = *link.procfile;
  if (link.env_files) obj["env_files"] = *link.env_files;
  return write_file_atomically(link_file(link.name), pretty(obj), error);
}

bool Registry::remove_link(std::string_view name) {
  if (!valid_app_name(name)) return false;
  std::error_code ec;
  return fs::remove(link_file(name), ec);
}

std::vector<StaticRoute> Registry::routes(Diagnostics& errors) const {
  fs::path file = home_ / "routes.json";
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(file, ec))) return {};
  auto obj = parse_object(file, kRoutesFix, errors);
  if (!obj) return {};
  const json::value* routes = obj->if_contains("routes");
  if (!routes || !routes->is_object()) {
    errors.push_back({file.string(), 0, 0,
                      routes ? "\"routes\" is not an object" : "has no \"routes\"", kRoutesFix});
    return {};
  }
  std::vector<StaticRoute> out;
  for (const auto& [key, value] : routes->get_object()) {
    std::string name(key);
    if (!valid_dns_label(name)) {
      errors.push_back({file.string(), 0, 0, fmt::format("'{}' is not a valid app name", name),
                        "use lower-case letters, digits and '-', or remove the route"});
      continue;
    }
    // Whole numbers only: 3000.5 and "3000" are mistakes, not ports. (Boost.JSON stores a
    // non-negative integer as int64 unless it is too big for one, which is no port either.)
    std::int64_t port = value.is_int64() ? value.get_int64() : 0;
    if (port < 1 || port > 65535) {
      errors.push_back(
          {file.string(), 0, 0,
           fmt::format("route '{}': {} is not a port (1 to 65535)", name, json::serialize(value)),
           route_fix(name)});
      continue;
    }
    out.push_back({std::move(name), static_cast<int>(port)});
  }
  std::sort(out.begin(), out.end(),
            [](const StaticRoute& a, const StaticRoute& b) { return a.name < b.name; });
  return out;
}

bool Registry::save_routes(const std::vector<StaticRoute>& routes, std::string& error) {
  std::vector<StaticRoute> sorted = routes;
  std::sort(sorted.begin(), sorted.end(),
            [](const StaticRoute& a, const StaticRoute& b) { return a.name < b.name; });
  json::object entries;
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    const auto& r = sorted[i];
    if (!valid_dns_label(r.name)) {
      error = fmt::format("'{}' is not a valid app name: use lower-case letters, digits and '-'",
                          r.name);
      return false;
    }
    if (r.port < 1 || r.port > 65535) {
      error = fmt::format("route '{}': {} is not a port (1 to 65535)", r.name, r.port);
      return false;
    }
    if (i > 0 && sorted[i - 1].name == r.name) {
      error = fmt::format("route '{}' is given twice", r.name);
      return false;
    }
    entries[r.name] = r.port;
  }
  json::object obj{{"routes", std::move(entries)}};
  return write_file_atomically(home_ / "routes.json", pretty(obj), error);
}

}  // namespace rp
