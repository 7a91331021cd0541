// Typed reading of YAML fields with diagnostics that name the file, line and column. yaml-cpp is
// only included here and in the two config readers, to keep it out of the rest of the build.
#pragma once

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "supervisor/project/diagnostic.hpp"
#include "supervisor/project/duration.hpp"

namespace rp::yaml {

// Where diagnostics go while one file is read.
struct Reader {
  const std::string& path;
  Diagnostics& errors;

  void error(const YAML::Mark& mark, std::string what, std::string fix) const;
  void error(const YAML::Node& node, std::string what, std::string fix) const {
    error(node.Mark(), std::move(what), std::move(fix));
  }

  // The document's top-level map; nullopt (with a diagnostic) for a syntax error or a document
  // that is not a map. An empty document is an empty map.
  std::optional<YAML::Node> load_map(const std::string& text) const;

  // Reports a key that is not one of `known`; true when it is known.
  bool known_key(const YAML::Node& key, std::string_view where,
                 std::initializer_list<std::string_view> known) const;

  bool is_map(const YAML::Node& node, std::string_view field, std::string_view example) const;
  std::optional<std::string> string(const YAML::Node& node, std::string_view field) const;
  std::optional<int> integer(const YAML::Node& node, std::string_view field, int min,
                             int max) const;
  std::optional<Duration> duration(const YAML::Node& node, std::string_view field) const;
  // `true` or `false`.
  std::optional<bool> boolean(const YAML::Node& node, std::string_view field) const;
  std::optional<std::vector<std::string>> string_list(const YAML::Node& node,
                                                      std::string_view field) const;
};

inline int line_of(const YAML::Node& node) {
  return node.Mark().line + 1;
}

}  // namespace rp::yaml
