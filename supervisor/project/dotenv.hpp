// `.env` files as foreman, honcho and the dotenv libraries read them:
//   KEY=value, optional `export `, spaces around '=' allowed, empty values;
//   'single quotes' are literal; "double quotes" know \n \t \r \" \\ \$ and may span lines;
//   unquoted values lose a trailing ` # comment` (but `a#b` keeps its '#');
//   $VAR, ${VAR} and ${VAR:-default} expand in unquoted and double-quoted values, from the lines
//   read before (this file and earlier ones) and then the inherited environment; `\$` is a '$'.
// Differences from dotenv are listed in the README.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "supervisor/project/diagnostic.hpp"

namespace rp {

using EnvMap = std::map<std::string, std::string>;

// A name a variable may have, in `.env` and in rp.yaml's `env` alike: a letter or '_', then
// letters, digits, '_' and '.' (as the dotenv libraries allow).
bool valid_variable_name(std::string_view name);

// Reads `text` into `vars`, later keys replacing earlier ones. `inherited` is consulted for
// expansion only. Mistakes go to `errors` naming `path` and the line where the entry starts.
void parse_dotenv(std::string_view text, const std::string& path, EnvMap& vars,
                  const EnvMap& inherited, Diagnostics& errors);

}  // namespace rp
