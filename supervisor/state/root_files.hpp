// How rp changes files of the system rather than of RP_HOME (`rp setup`, `rp trust`): every path is
// one on the target system, reached under a root (`/`, or the --root of a test or an image); a
// file is replaced whole or not at all, readable by everyone as system configuration is; and the
// directories rp had to create are recorded, so that an undo removes exactly those. Each command
// keeps that record in a manifest of its own, a line a thing: a word, then what it names.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace rp {

// `path` (absolute on the target system) as it is reached from here: under `root`.
std::filesystem::path under_root(const std::filesystem::path& root, std::string_view path);

// Creates `dir` (a path on the target system) and its missing parents under `root`, appending each
// one it creates to `created` (unless listed already).
bool make_dirs_under_root(const std::filesystem::path& root, const std::filesystem::path& dir,
                          std::vector<std::string>& created, std::string& error);

// Replaces `path` with `text` (mode 0644), or leaves the old file: a half-written configuration is
// worse than none.
bool write_system_file(const std::filesystem::path& path, std::string_view text,
                       std::string& error);

// Removes those of `created` (paths on the target system, in the order they were created) that
// are empty now, newest first, and says so in `done` ("removed /var/lib/rp").
void remove_empty_dirs(const std::filesystem::path& root, const std::vector<std::string>& created,
                       std::vector<std::string>& done);

// A line of a manifest that says something (not blank, not a # comment): its number (from 1),
// the whole line, its first word, and the rest after it.
struct ManifestLine {
  int number = 0;
  std::string_view text;
  std::string_view word;
  std::string_view rest;
};
std::vector<ManifestLine> manifest_lines(std::string_view text);

}  // namespace rp
