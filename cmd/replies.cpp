#include "cmd/replies.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <filesystem>

#include "supervisor/project/text.hpp"

namespace json = boost::json;

namespace rp::cmd {

json::object parse_object(std::string_view text, json::storage_ptr memory) {
  boost::system::error_code ec;
  auto value = json::parse(text, ec, memory);
  if (ec || !value.is_object()) return json::object(memory);
  return std::move(value.as_object());
}

std::string string_of(const json::object& o, std::string_view key) {
  return std::string(view_of(o, key));
}

std::string_view view_of(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string_view(v->as_string()) : std::string_view();
}

long long int_of(const json::object& o, std::string_view key, long long fallback) {
  auto* v = o.if_contains(key);
  return v && v->is_int64() ? v->as_int64() : fallback;
}

void print_url_hint(const json::object& answer) {
  if (auto hint = string_of(answer, "url_hint"); !hint.empty()) fmt::print("{}\n", hint);
}

void print_api_error(std::string_view command, int status, const json::object& answer) {
  std::string error = string_of(answer, "error");
  if (error.empty()) error = fmt::format("the daemon answered {}", status);
  if (auto* diagnostics = answer.if_contains("diagnostics");
      diagnostics && diagnostics->is_array()) {
    for (const auto& d : diagnostics->as_array()) {
      if (d.is_object()) fmt::print(stderr, "{}\n", string_of(d.as_object(), "text"));
    }
  }
  fmt::print(stderr, "{}: {}\n", command, error);
  if (auto* log = answer.if_contains("log"); log && log->is_array() && !log->as_array().empty()) {
    fmt::print(stderr, "its last lines:\n");
    for (const auto& line : log->as_array()) {
      if (line.is_string()) fmt::print(stderr, "  {}\n", std::string_view(line.as_string()));
    }
  }
}

json::object project_request(const ProjectArgs& args, const EnvMap& env) {
  json::object env_json;
  for (const auto& [k, v] : env) env_json[k] = v;
  // The project's directory is the Procfile's (as load_project has it).
  json::object body{{"dir", std::filesystem::current_path().string()},
                    {"env", std::move(env_json)}};
  if (args.procfile) {
    const auto procfile = std::filesystem::absolute(*args.procfile);
    body["procfile"] = procfile.string();
    body["dir"] = procfile.parent_path().string();
  }
  if (args.env_files) {
    std::string files;
    for (auto item : split_list(*args.env_files)) {
      if (item.empty()) continue;
      if (!files.empty()) files += ',';
      files += std::filesystem::absolute(std::string(item)).string();
    }
    body["env_files"] = files;
  }
  return body;
}

}  // namespace rp::cmd
