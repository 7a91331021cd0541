// Small helpers for reading the user's text files the same way everywhere: a UTF-8 byte order mark
// is skipped and CRLF line ends are accepted, so a file saved by any editor reads the same.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/project/diagnostic.hpp"

namespace rp {

// The file's bytes, or nullopt when it cannot be read.
std::optional<std::string> read_text_file(const std::filesystem::path& path);

// Without a leading UTF-8 byte order mark.
std::string_view strip_bom(std::string_view text);

// The lines of `text` (BOM stripped), without their "\n" or "\r\n".
std::vector<std::string_view> split_lines(std::string_view text);

std::string_view trim(std::string_view s);

// Whether `text` holds a NUL byte; the first one is then added to `errors` as a mistake in `path`
// at its line and column. No command, path or variable can hold one: exec would cut the string
// there. A reader stops at once when this says true.
bool report_nul_byte(std::string_view text, const std::string& path, Diagnostics& errors);

// The pieces of a comma-separated list (or one with another separator), as written (callers trim
// and skip empty ones as their format wants).
std::vector<std::string_view> split_list(std::string_view list, char separator = ',');

}  // namespace rp
