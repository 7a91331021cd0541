#include "supervisor/project/yaml_fields.hpp"

#include <fmt/format.h>

#include <charconv>

#include "supervisor/project/text.hpp"

namespace rp::yaml {
namespace {

std::string node_kind(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Null:
      return "empty";
    default:
      return fmt::format("'{}'", node.Scalar());
  }
}

}  // namespace

void Reader::error(const YAML::Mark& mark, std::string what, std::string fix) const {
  int line = mark.is_null() ? 0 : mark.line + 1;
  int column = mark.is_null() ? 0 : mark.column + 1;
  errors.push_back({path, line, column, std::move(what), std::move(fix)});
}

std::optional<YAML::Node> Reader::load_map(const std::string& text) const {
  // yaml-cpp reads a NUL byte as something else ("unknown escape character").
  if (report_nul_byte(text, path, errors)) return std::nullopt;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    error(e.mark, fmt::format("YAML syntax error: {}", e.msg),
          "check the indentation and quoting on this line");
    return std::nullopt;
  }
  if (root.IsNull()) return YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) {
    error(root, fmt::format("expected a map of settings, found {}", node_kind(root)),
          "write settings as 'key: value' lines");
    return std::nullopt;
  }
  return root;
}

bool Reader::known_key(const YAML::Node& key, std::string_view where,
                       std::initializer_list<std::string_view> known) const {
  const std::string& name = key.Scalar();
  for (auto k : known) {
    if (name == k) return true;
  }
  std::string list;
  for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
  error(key, fmt::format("unknown key '{}' in {}", name, where),
        fmt::format("known keys: {}", list));
  return false;
}

bool Reader::is_map(const YAML::Node& node, std::string_view field,
                    std::string_view example) const {
  if (node.IsMap()) return true;
  error(node, fmt::format("{} must be a map, found {}", field, node_kind(node)),
        fmt::format("write it as {}", example));
  return false;
}

std::optional<std::string> Reader::string(const YAML::Node& node, std::string_view field) const {
  if (node.IsScalar()) {
    if (node.Scalar().find('\0') == std::string::npos) return node.Scalar();
    error(node,
          fmt::format("{} holds a NUL character, which no command or variable can carry", field),
          "remove the escape that makes it (\\0, \\x00 or \\u0000)");
    return std::nullopt;
  }
  error(node, fmt::format("{} must be a string, found {}", field, node_kind(node)),
        "write a single value");
  return std::nullopt;
}

std::optional<int> Reader::integer(const YAML::Node& node, std::string_view field, int min,
                                   int max) const {
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    int value = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec == std::errc{} && end == s.data() + s.size() && value >= min && value <= max) {
      return value;
    }
  }
  error(node,
        fmt::format("{} must be a whole number from {} to {}, found {}", field, min, max,
                    node_kind(node)),
        fmt::format("write a number, e.g. '{}: {}'", field, max < 10 ? max : min));
  return std::nullopt;
}

std::optional<bool> Reader::boolean(const YAML::Node& node, std::string_view field) const {
  if (node.IsScalar() && (node.Scalar() == "true" || node.Scalar() == "false")) {
    return node.Scalar() == "true";
  }
  error(node, fmt::format("{} must be true or false, found {}", field, node_kind(node)),
        fmt::format("write '{}: false' or '{}: true'", field, field));
  return std::nullopt;
}

std::optional<Duration> Reader::duration(const YAML::Node& node, std::string_view field) const {
  std::string why = "not a single value";
  if (node.IsScalar()) {
    if (auto d = parse_duration(node.Scalar(), why)) return d;
  }
  error(node,
        fmt::format("{} is not a duration: {}", field, node.IsScalar() ? why : node_kind(node)),
        "write a number with a unit: 500ms, 30s, 15m, 1h (or 0)");
  return std::nullopt;
}

std::optional<std::vector<std::string>> Reader::string_list(const YAML::Node& node,
                                                            std::string_view field) const {
  if (!node.IsSequence()) {
    error(node, fmt::format("{} must be a list, found {}", field, node_kind(node)),
          fmt::format("write it as [a, b]"));
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const auto& item : node) {
    auto s = string(item, field);
    if (!s) return std::nullopt;
    out.push_back(*s);
  }
  return out;
}

}  // namespace rp::yaml
