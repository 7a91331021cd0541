// How the daemon writes its own state under RP_HOME (links, routes, process groups). RP_HOME holds
// the environments of linked projects, secrets included, so directories are made 0700 and files
// 0600; and a daemon can be killed at any moment, so a file is replaced whole or not at all: a
// half-written registry would lose every link at the next start.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace rp {

// Creates `dir` and its missing parents, each new one with mode 0700. Existing ones are left as
// they are: the user may have chosen other permissions on purpose.
bool make_private_dirs(const std::filesystem::path& dir, std::string& error);

// Replaces `path` with `contents`, or leaves it as it was: writes PATH.tmp (mode 0600), fsyncs it,
// renames it over `path` and fsyncs the directory so the rename survives a power cut too. Creates
// the parent directory as make_private_dirs does. A `cache` file (one that is made again when it
// is lost or damaged) skips both fsyncs: it is still whole or absent after a crash, just maybe old.
enum class Durability { synced, cache };
bool write_file_atomically(const std::filesystem::path& path, std::string_view contents,
                           std::string& error, Durability durability = Durability::synced);

}  // namespace rp
