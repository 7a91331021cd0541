// What rp hands to `/bin/sh -c` for a process's command. Debian's dash does not exec the last
// command of a script, so a plain `python3 app.py` would leave the shell as the process rp knows:
// `rp ls` would show the shell's pid, and a user's `kill`, `gdb -p` or `py-spy` would hit it. So
// a simple command — words, quotes, `$` expansions (`$(…)` and backquotes included), leading
// `NAME=value` assignments, redirections — gets `exec` before its command word, and the shell
// replaces itself with the app. Anything else keeps the shell as written: lists (`;`, `&&`, `||`,
// newlines), pipes, `&`, subshells, compound commands, a shell builtin or reserved word as the
// command, and whatever this reading cannot be sure of. Pure, so it is tested on strings alone.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rp {

// `command` with `exec ` inserted before its command word when it is one simple command
// (`FOO=1 exec python3 app.py`), else unchanged (also when it already starts with `exec`).
std::string with_exec(std::string_view command);

// The words of `command` when no shell is needed to run it: plain words separated by blanks
// (letters, digits and `_-./:,+=@%^`), `$NAME` and `${NAME}` anywhere in them (looked up in
// `env`, "KEY=value" entries as the process gets them, and set to a value without blanks, quotes
// or glob characters, so that the shell would not split or glob it either), an optional leading
// `exec`; a command word that is not an assignment nor one only the shell can run. Anything else
// (quotes, other expansions, operators, redirections, globs, `~`, comments): nullopt, and the
// command runs under /bin/sh -c as with_exec() makes it. rp then starts the program itself,
// one exec instead of two.
std::optional<std::vector<std::string>> plain_argv(std::string_view command,
                                                   const std::vector<std::string>& env);

// The value of NAME in `env` ("KEY=value" entries), or nullopt when it is not set.
std::optional<std::string_view> env_value(const std::vector<std::string>& env,
                                          std::string_view name);

}  // namespace rp
