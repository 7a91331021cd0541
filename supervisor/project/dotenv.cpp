#include "supervisor/project/dotenv.hpp"

#include <fmt/format.h>

#include <cctype>

#include "supervisor/project/text.hpp"

namespace rp {
namespace {

bool is_name_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// Walks the text of one file, keeping the line number for diagnostics.
class DotenvReader {
 public:
  DotenvReader(std::string text, const std::string& path, EnvMap& vars, const EnvMap& inherited,
               Diagnostics& errors)
      : text_(std::move(text)), path_(path), vars_(vars), inherited_(inherited), errors_(errors) {}

  void read() {
    while (pos_ < text_.size()) read_entry();
  }

 private:
  std::string text_;
  const std::string& path_;
  EnvMap& vars_;
  const EnvMap& inherited_;
  Diagnostics& errors_;
  std::size_t pos_ = 0;
  int line_ = 1;

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }
  void skip_blanks() {
    while (!at_end() && (peek() == ' ' || peek() == '\t')) ++pos_;
  }
  std::string_view rest_of_line() const {
    auto nl = text_.find('\n', pos_);
    return std::string_view(text_).substr(pos_, nl == std::string::npos ? nl : nl - pos_);
  }
  void skip_line() {
    auto nl = text_.find('\n', pos_);
    pos_ = nl == std::string::npos ? text_.size() : nl + 1;
    ++line_;
  }
  void error(int line, std::string what, std::string fix) {
    errors_.push_back({path_, line, 0, std::move(what), std::move(fix)});
  }

  void read_entry() {
    skip_blanks();
    if (at_end()) return;
    if (peek() == '\n' || peek() == '#') return skip_line();
    if (rest_of_line().starts_with("export ") || rest_of_line().starts_with("export\t")) {
      pos_ += 7;
      skip_blanks();
    }
    int entry_line = line_;
    std::string whole_line(trim(rest_of_line()));
    std::size_t key_start = pos_;
    while (!at_end() && peek() != '=' && peek() != '\n' && peek() != ' ' && peek() != '\t') ++pos_;
    std::string key = text_.substr(key_start, pos_ - key_start);
    skip_blanks();
    if (at_end() || peek() != '=') {
      error(entry_line, fmt::format("expected KEY=value, found '{}'", whole_line),
            "write each variable as KEY=value");
      return skip_line();
    }
    if (!valid_variable_name(key)) {
      error(entry_line, fmt::format("invalid variable name '{}'", key),
            "names start with a letter or '_' and use letters, digits, '_' and '.'");
      return skip_line();
    }
    ++pos_;  // '='
    skip_blanks();
    std::optional<std::string> value;
    if (!at_end() && peek() == '\'') {
      value = read_single_quoted(key, entry_line);
    } else if (!at_end() && peek() == '"') {
      value = read_double_quoted(key, entry_line);
    } else {
      value = read_unquoted(key, entry_line);
    }
    if (value) vars_[key] = std::move(*value);
  }

  // After a closing quote only blanks and a comment may follow on that line.
  bool finish_quoted_line(const std::string& key) {
    skip_blanks();
    if (!at_end() && peek() != '\n' && peek() != '#') {
      error(line_, fmt::format("unexpected text after the closing quote of {}", key),
            "quote the whole value, or put a space before a '#' comment");
      skip_line();
      return false;
    }
    skip_line();
    return true;
  }

  std::optional<std::string> read_single_quoted(const std::string& key, int entry_line) {
    auto close = text_.find('\'', pos_ + 1);
    if (close == std::string::npos) {
      error(entry_line, fmt::format("unterminated single quote in the value of {}", key),
            "close the value with '");
      pos_ = text_.size();
      return std::nullopt;
    }
    std::string value = text_.substr(pos_ + 1, close - pos_ - 1);
    for (char c : value) line_ += c == '\n';
    pos_ = close + 1;
    if (!finish_quoted_line(key)) return std::nullopt;
    return value;
  }

  std::optional<std::string> read_double_quoted(const std::string& key, int entry_line) {
    ++pos_;           // opening quote
    std::string raw;  // escapes resolved except \$, which expansion must still see
    while (!at_end() && peek() != '"') {
      char c = peek();
      if (c == '\\' && pos_ + 1 < text_.size()) {
        char e = text_[pos_ + 1];
        pos_ += 2;
        switch (e) {
          case 'n':
            raw += '\n';
            break;
          case 't':
            raw += '\t';
            break;
          case 'r':
            raw += '\r';
            break;
          case '"':
            raw += '"';
            break;
          case '\\':
            raw += "\\\\";
            break;
          case '$':
            raw += "\\$";
            break;
          case '\n':
            raw += '\n';
            ++line_;
            break;
          default:
            raw += '\\';
            raw += e;
            break;
        }
        continue;
      }
      if (c == '\n') ++line_;
      raw += c;
      ++pos_;
    }
    if (at_end()) {
      error(entry_line, fmt::format("unterminated double quote in the value of {}", key),
            "close the value with \" (a quoted value may span several lines)");
      return std::nullopt;
    }
    ++pos_;  // closing quote
    auto value = expand(raw, key, entry_line);
    if (!finish_quoted_line(key)) return std::nullopt;
    return value;
  }

  std::optional<std::string> read_unquoted(const std::string& key, int entry_line) {
    std::string_view line = rest_of_line();
    // A '#' starts a comment only after white space, so URLs with fragments and colours survive.
    std::size_t end = line.size();
    for (std::size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
        end = i;
        break;
      }
    }
    std::string raw(trim(line.substr(0, end)));
    skip_line();
    return expand(raw, key, entry_line);
  }

  std::optional<std::string> lookup(const std::string& name) const {
    if (auto it = vars_.find(name); it != vars_.end()) return it->second;
    if (auto it = inherited_.find(name); it != inherited_.end()) return it->second;
    return std::nullopt;
  }

  // Resolves $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, \$ and \\ in `raw`.
  std::optional<std::string> expand(const std::string& raw, const std::string& key,
                                    int entry_line) {
    std::string out;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      char c = raw[i];
      if (c == '\\' && i + 1 < raw.size() && (raw[i + 1] == '$' || raw[i + 1] == '\\')) {
        out += raw[++i];
        continue;
      }
      if (c != '$' || i + 1 >= raw.size()) {
        out += c;
        continue;
      }
      if (raw[i + 1] == '{') {
        auto close = raw.find('}', i + 2);
        if (close == std::string::npos) {
          error(entry_line, fmt::format("unterminated ${{ in the value of {}", key),
                "close it with }, or write \\$ for a literal dollar sign");
          return std::nullopt;
        }
        std::string inner = raw.substr(i + 2, close - i - 2);
        std::string name = inner;
        std::optional<std::string> fallback;
        bool empty_counts_as_unset = false;
        if (auto d = inner.find(":-"); d != std::string::npos) {
          name = inner.substr(0, d);
          fallback = inner.substr(d + 2);
          empty_counts_as_unset = true;
        } else if (auto d2 = inner.find('-'); d2 != std::string::npos) {
          name = inner.substr(0, d2);
          fallback = inner.substr(d2 + 1);
        }
        if (name.empty() || !is_name_start(name[0]) ||
            name.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
                std::string::npos) {
          error(entry_line,
                fmt::format("invalid variable reference '${{{}}}' in the value of {}", inner, key),
                "write ${NAME} or ${NAME:-default}, or \\$ for a literal dollar sign");
          return std::nullopt;
        }
        auto value = lookup(name);
        if (value && !(empty_counts_as_unset && value->empty())) {
          out += *value;
        } else if (fallback) {
          out += *fallback;
        }
        i = close;
        continue;
      }
      if (is_name_start(raw[i + 1])) {
        std::size_t j = i + 1;
        while (j < raw.size() && is_name_char(raw[j])) ++j;
        if (auto value = lookup(raw.substr(i + 1, j - i - 1))) out += *value;
        i = j - 1;
        continue;
      }
      out += c;
    }
    return out;
  }
};

std::string normalise_newlines(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    out += text[i];
  }
  return out;
}

}  // namespace

bool valid_variable_name(std::string_view name) {
  if (name.empty() || !is_name_start(name[0])) return false;
  for (char c : name) {
    if (!is_name_char(c) && c != '.') return false;
  }
  return true;
}

void parse_dotenv(std::string_view text, const std::string& path, EnvMap& vars,
                  const EnvMap& inherited, Diagnostics& errors) {
  if (report_nul_byte(text, path, errors)) return;
  DotenvReader(normalise_newlines(strip_bom(text)), path, vars, inherited, errors).read();
}

}  // namespace rp
