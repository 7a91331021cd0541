#include "supervisor/process/shell_command.hpp"

#include <algorithm>
#include <iterator>
#include <optional>

namespace rp {
namespace {

// Command words `exec` cannot run: reserved words (compound commands, `!`, bash's `[[` and
// `time`) and builtins that exist only inside the shell (`exec cd` looks for a program `cd`).
// Builtins that coreutils also has as programs (echo, printf, test, true, pwd) may be exec'd;
// `kill` stays with the shell, as its program (procps) may be missing.
constexpr std::string_view kShellOnly[] = {
    "!",      "{",       "}",      "[[",     "]]",      "case",     "coproc",  "do",       "done",
    "elif",   "else",    "esac",   "fi",     "for",     "function", "if",      "in",       "select",
    "then",   "time",    "until",  "while",  ".",       ":",        "alias",   "bg",       "bind",
    "break",  "builtin", "caller", "cd",     "command", "continue", "declare", "dirs",     "disown",
    "enable", "eval",    "exit",   "export", "fc",      "fg",       "getopts", "hash",     "jobs",
    "kill",   "let",     "local",  "logout", "popd",    "pushd",    "read",    "readonly", "return",
    "set",    "shift",   "shopt",  "source", "times",   "trap",     "type",    "typeset",  "ulimit",
    "umask",  "unalias", "unset",  "wait"};

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

// Characters that end a word: the shell's operators and a newline.
bool ends_word(char c) {
  return is_blank(c) || c == '\n' || std::string_view(";&|()<>").find(c) != std::string_view::npos;
}

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}

// `NAME=value`: a variable for the command, not the command.
bool is_assignment(std::string_view word) {
  const auto eq = word.find('=');
  if (eq == 0 || eq == std::string_view::npos || !is_name_start(word[0])) return false;
  return std::all_of(word.begin(), word.begin() + static_cast<std::ptrdiff_t>(eq), is_name_char);
}

// `2` in `2>&1`.
bool is_io_number(std::string_view word) {
  return !word.empty() &&
         std::all_of(word.begin(), word.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A command word that only the shell can run, however it is quoted (quotes do not stop a builtin).
bool shell_only(std::string_view word) {
  // A word an expansion makes is known only when it runs; it names a program in practice.
  if (word.find_first_of("$`") != std::string_view::npos) return false;
  std::string bare;
  for (char c : word) {
    if (c != '\'' && c != '"' && c != '\\') bare += c;
  }
  return std::ranges::find(kShellOnly, bare) != std::end(kShellOnly) || bare.starts_with('{') ||
         bare.starts_with('-');
}

// Reads a command the way the shell tokenizes it, far enough to find its command word and to
// see any operator that makes it more than one simple command. Each skip_* starts on the
// opening character and stops after the closing one; false means the text does not end it, or
// holds what this reading does not trust — then the shell stays.
class Reader {
 public:
  explicit Reader(std::string_view text) : s_(text) {}

  // Where `exec ` goes; nullopt to keep the command as it is.
  std::optional<std::size_t> exec_position() {
    std::optional<std::size_t> command_at;
    std::string_view command_word;
    for (;;) {
      while (!done() && is_blank(at())) ++i_;
      if (done()) break;
      const char c = at();
      if (c == '\n') {
        // A trailing newline (a YAML block string) ends the command; anything after starts
        // another one.
        if (s_.find_first_not_of(" \t\r\n", i_) != std::string_view::npos) return std::nullopt;
        break;
      }
      if (c == '#') {  // a comment, to the end of the line
        const auto eol = s_.find('\n', i_);
        if (eol == std::string_view::npos) break;
        i_ = eol;
        continue;
      }
      if (c == '<' || c == '>') {
        if (!skip_redirection()) return std::nullopt;
        continue;
      }
      if (ends_word(c)) return std::nullopt;  // ; & && | || ( )
      const std::size_t start = i_;
      if (!skip_word()) return std::nullopt;
      const std::string_view word = s_.substr(start, i_ - start);
      if (!done() && (at() == '<' || at() == '>') && is_io_number(word)) {
        if (!skip_redirection()) return std::nullopt;
        continue;
      }
      if (!command_at && !is_assignment(word)) {
        command_at = start;
        command_word = word;
      }
    }
    if (!command_at || command_word == "exec" || shell_only(command_word)) return std::nullopt;
    return command_at;
  }

 private:
  bool done() const { return i_ >= s_.size(); }
  char at() const { return s_[i_]; }

  // `<`, `>`, `>>`, `>|`, `<>`, `<&`, `>&` and the word after them. A here-document (`<<`)
  // needs more lines, and `<(` is bash's process substitution: neither is a simple command.
  bool skip_redirection() {
    const char first = at();
    ++i_;
    if (!done()) {
      const char c = at();
      if (first == '<' && c == '<') return false;
      if (c == '&' || (first == '>' && (c == '>' || c == '|')) || (first == '<' && c == '>')) {
        ++i_;
      }
    }
    while (!done() && is_blank(at())) ++i_;
    if (done() || ends_word(at()) || at() == '#') return false;
    return skip_word();
  }

  bool skip_word() {
    while (!done() && !ends_word(at())) {
      if (!skip_one()) return false;
    }
    return true;
  }

  // One character of a word, or the quoted or substituted part that starts there.
  bool skip_one() {
    switch (at()) {
      case '\\':
        // A line continuation is a newline this reading does not follow.
        if (i_ + 1 >= s_.size() || s_[i_ + 1] == '\n') return false;
        i_ += 2;
        return true;
      case '\'':
        return skip_single_quoted();
      case '"':
        return skip_double_quoted();
      case '`':
        return skip_backquoted();
      case '$':
        return skip_dollar();
      default:
        ++i_;
        return true;
    }
  }

  bool skip_single_quoted() {
    const auto close = s_.find('\'', i_ + 1);
    if (close == std::string_view::npos) return false;
    i_ = close + 1;
    return true;
  }

  bool skip_double_quoted() {
    ++i_;
    while (!done()) {
      switch (at()) {
        case '"':
          ++i_;
          return true;
        case '\\':
          if (i_ + 1 >= s_.size()) return false;
          i_ += 2;
          break;
        case '`':
          if (!skip_backquoted()) return false;
          break;
        case '$':
          if (!skip_dollar()) return false;
          break;
        default:
          ++i_;
      }
    }
    return false;
  }

  // What runs inside is a subshell's business; only its end matters here.
  bool skip_backquoted() {
    ++i_;
    while (!done()) {
      if (at() == '\\') {
        i_ += 2;
      } else if (at() == '`') {
        ++i_;
        return true;
      } else {
        ++i_;
      }
    }
    return false;
  }

  // `$NAME`, `$1`, `$#`…, `${…}`, `$(…)` and `$((…))`; a lone `$` is a literal.
  bool skip_dollar() {
    ++i_;
    if (done()) return true;
    const char c = at();
    if (c == '(' || c == '{') {
      ++i_;
      return skip_to_close(c == '(' ? ')' : '}');
    }
    if (std::string_view("#?@*-$!").find(c) != std::string_view::npos) ++i_;
    return true;
  }

  // The inside of `$(…)` (parentheses counted, so `$((1+2))` and `$(f (x))` close where the
  // shell closes them) or of `${…}` (which ends at its first `}`). A case pattern's lone `)`
  // closes a `$(` early, and what follows — always a `;;`, `;` or newline before the `esac`,
  // then the real `)` — is read at the top, where it keeps the shell. A `#` in `$(` could start
  // a comment that hides the `)`, so it keeps the shell too.
  bool skip_to_close(char close) {
    int depth = 0;
    while (!done()) {
      const char c = at();
      if (c == close && depth == 0) {
        ++i_;
        return true;
      }
      if (close == ')') {
        if (c == '#') return false;
        if (c == '(') ++depth;
        if (c == ')') --depth;
      }
      if (c == '\\') {
        if (i_ + 1 >= s_.size()) return false;
        i_ += 2;
      } else if (c == '\'' || c == '"' || c == '`' || c == '$') {
        if (!skip_one()) return false;
      } else {
        ++i_;
      }
    }
    return false;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace

std::string with_exec(std::string_view command) {
  std::string out(command);
  if (auto at = Reader(command).exec_position()) out.insert(*at, "exec ");
  return out;
}

namespace {

bool is_plain_char(char c) {
  return is_name_char(c) || std::string_view("-./:,+=@%^").find(c) != std::string_view::npos;
}

// A value an unquoted expansion may take without the shell splitting or globbing it.
bool is_plain_value(std::string_view value) {
  return !value.empty() && value.find_first_of(" \t\n\r\"'\\*?[]$`") == std::string_view::npos;
}

// One word with its expansions made; nullopt when the shell is needed for it.
std::optional<std::string> expand_word(std::string_view word, const std::vector<std::string>& env) {
  std::string out;
  for (std::size_t i = 0; i < word.size();) {
    const char c = word[i];
    if (c != '$') {
      if (!is_plain_char(c)) return std::nullopt;
      out += c;
      ++i;
      continue;
    }
    const bool braced = i + 1 < word.size() && word[i + 1] == '{';
    std::size_t start = i + (braced ? 2 : 1), end = start;
    if (end >= word.size() || !is_name_start(word[end])) return std::nullopt;
    while (end < word.size() && is_name_char(word[end])) ++end;
    const std::string_view name = word.substr(start, end - start);
    if (braced) {
      if (end >= word.size() || word[end] != '}') return std::nullopt;  // ${NAME:-x} and such
      ++end;
    }
    const auto value = env_value(env, name);
    if (!value || !is_plain_value(*value)) return std::nullopt;
    out += *value;
    i = end;
  }
  return out;
}

}  // namespace

std::optional<std::string_view> env_value(const std::vector<std::string>& env,
                                          std::string_view name) {
  for (const auto& entry : env) {
    if (entry.size() > name.size() && entry[name.size()] == '=' && entry.starts_with(name)) {
      return std::string_view(entry).substr(name.size() + 1);
    }
  }
  return std::nullopt;
}

std::optional<std::vector<std::string>> plain_argv(std::string_view command,
                                                   const std::vector<std::string>& env) {
  std::vector<std::string> words;
  bool dropped_exec = false;
  std::size_t i = 0;
  for (;;) {
    while (i < command.size() && is_blank(command[i])) ++i;
    // A trailing newline (a YAML block string) ends the command.
    if (i < command.size() && command[i] == '\n' &&
        command.find_first_not_of(" \t\r\n", i) == std::string_view::npos) {
      break;
    }
    if (i >= command.size()) break;
    const std::size_t start = i;
    while (i < command.size() && !is_blank(command[i]) && command[i] != '\n') ++i;
    if (i < command.size() && command[i] == '\n' &&
        command.find_first_not_of(" \t\r\n", i) != std::string_view::npos) {
      return std::nullopt;  // a second line: another command
    }
    const std::string_view word = command.substr(start, i - start);
    if (words.empty() && !dropped_exec && word == "exec") {
      dropped_exec = true;  // `exec` is what rp does anyway
      continue;
    }
    auto expanded = expand_word(word, env);
    if (!expanded) return std::nullopt;
    words.push_back(std::move(*expanded));
  }
  if (words.empty()) return std::nullopt;
  const std::string& program = words.front();
  if (program == "exec" || is_assignment(program) || shell_only(program)) return std::nullopt;
  return words;
}

}  // namespace rp
