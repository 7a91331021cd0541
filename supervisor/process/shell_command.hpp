// What rp hands to `/bin/sh -c` for a process's command. Debian's dash does not exec the last
// command of a script, so a plain `python3 app.py` would leave the shell as the process rp knows:
// `rp ls` would show the shell's pid, and a user's `kill`, `gdb -p` or `py-spy` would hit it. So
// a simple command — words, quotes, `$` expansions (`$(…)` and backquotes included), leading
// `NAME=value` assignments, redirections — gets `exec` before its command word, and the shell
// replaces itself with the app. Anything else keeps the shell as written: lists (`;`, `&&`, `||`,
// newlines), pipes, `&`, subshells, compound commands, a shell builtin or reserved word as the
// command, and whatever this reading cannot be sure of. Pure, so it is tested on strings alone.
#pragma once

#include <string>
#include <string_view>

namespace rp {

// `command` with `exec ` inserted before its command word when it is one simple command
// (`FOO=1 exec python3 app.py`), else unchanged (also when it already starts with `exec`).
std::string with_exec(std::string_view command);

}  // namespace rp
