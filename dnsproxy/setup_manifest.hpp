// What `rp setup --apply` changed under a root, so that `rp setup --undo` removes exactly that and
// nothing else: the files it wrote, the directories it had to create for them, and the value a
// kernel setting had before. The record is <root>/var/lib/rp/setup-manifest; every file rp writes
// also starts with kMarker, so rp never overwrites or removes a file that is not its own.
//
// The format is parsed and printed by pure functions; applying and undoing touch the file system
// and report what they did, line by line, as values.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dnsproxy/system_resolver.hpp"

namespace rp::dns {

inline constexpr const char* kManifestPath = "/var/lib/rp/setup-manifest";

struct Manifest {
  std::vector<std::string> files;  // absolute paths on the target system
  std::vector<std::string> dirs;   // the directories rp created, in the order it created them
  std::optional<int> previous_port_start;  // net.ipv4.ip_unprivileged_port_start before setup
};

std::string render_manifest(const Manifest& manifest);
// nullopt, and `error` set, when a line is not one rp writes.
std::optional<Manifest> parse_manifest(std::string_view text, std::string& error);

// What to run on the live system after the files of `manifest` are removed: restart the resolver
// whose configuration went away, put the kernel setting back.
std::vector<Command> undo_commands(const Manifest& manifest);

struct Outcome {
  std::vector<std::string> done;    // "wrote /etc/...", "removed /etc/..."
  std::vector<std::string> errors;  // nothing was changed when the first error is a conflict
};

// Writes `files` under `root` and records them (with any earlier record) in the manifest. A file
// that exists without rp's marker is a conflict: then nothing is written at all.
Outcome apply_files(const std::filesystem::path& root, const std::vector<FileToWrite>& files,
                    std::optional<int> port_start_now);

// Removes what the manifest under `root` records: rp's files, then the directories rp created
// if they are empty, then the manifest. `manifest` receives the record (for undo_commands).
Outcome undo_files(const std::filesystem::path& root, Manifest& manifest);

}  // namespace rp::dns
