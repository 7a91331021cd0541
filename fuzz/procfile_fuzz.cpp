// libFuzzer target over the Procfile reader (supervisor/project/procfile.hpp), as `rp up` and
// the daemon call it. For any text: every mistake names the file and a line of it, and every
// entry is one that line could hold — a valid, unique name and a command with no blanks
// around it and no NUL, in file order. Nothing may crash, leak or read out of bounds (ASan, UBSan).
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "fuzz/checks.hpp"
#include "supervisor/project/procfile.hpp"

using rp::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string path = "Procfile";
  rp::Diagnostics errors;
  const auto entries = rp::parse_procfile(text, path, errors);
  const int lines = rp::fuzz::line_count(text);
  rp::fuzz::check_diagnostics(errors, path, 1, lines);

  std::set<std::string> names;
  int last_line = 0;
  for (const auto& e : entries) {
    require(rp::valid_process_name(e.name));
    require(names.insert(e.name).second);
    require(!e.command.empty());
    for (char end : {e.command.front(), e.command.back()}) {
      require(end != ' ' && end != '\t' && end != '\r' && end != '\n');
    }
    require(e.command.find('\n') == std::string::npos);
    require(e.command.find('\0') == std::string::npos);  // exec would cut it there
    require(e.line > last_line && e.line <= lines);
    last_line = e.line;
  }
  return 0;
}
