// Reading the daemon's JSON answers in the commands, and saying what went wrong the same way in
// each of them.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "cmd/commands.hpp"
#include "supervisor/project/dotenv.hpp"

namespace rp::cmd {

// The object in `text`, or an empty one when it is not JSON; its memory from `memory` (by default
// the heap).
boost::json::object parse_object(std::string_view text, boost::json::storage_ptr memory = {});

// A string field, or "" when it is missing or not a string.
std::string string_of(const boost::json::object& o, std::string_view key);
// The same without a copy: valid as long as `o`.
std::string_view view_of(const boost::json::object& o, std::string_view key);
// A number field, or `fallback`.
long long int_of(const boost::json::object& o, std::string_view key, long long fallback = 0);

// An error answer on stderr: "COMMAND: error", then any diagnostics (file:line: ...) and log
// lines it carries.
void print_api_error(std::string_view command, int status, const boost::json::object& answer);

// The daemon's "url_hint" (how to get `.test` names when the URLs shown are `.localhost` ones),
// on its own line after the URL, when there is one.
void print_url_hint(const boost::json::object& answer);

// What POST /v1/up and POST /v1/links say about the project of this directory (or of -f): its
// directory, this environment, and -f and -e as absolute paths, as the daemon reads them from
// elsewhere.
boost::json::object project_request(const ProjectArgs& args, const EnvMap& env);

}  // namespace rp::cmd
