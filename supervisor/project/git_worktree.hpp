// Parallel git worktrees of one repository (one per branch, one per coding agent) each get their
// own app: a project in a linked worktree is named BRANCH.NAME, where NAME is what the main
// checkout's project is named. This reads what git wrote (the worktree's `.git` file, its HEAD,
// `commondir`) without running git.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace rp {

struct LinkedWorktree {
  std::string branch;              // the BRANCH label: "feature-login", or a short commit
  std::filesystem::path main_dir;  // the project's directory in the main checkout (may not exist)
};

// When `project_dir` is in a linked worktree (not the main checkout, not a submodule): its branch
// label and where the same project is in the main checkout. nullopt otherwise, and whenever what
// git wrote cannot be read.
std::optional<LinkedWorktree> linked_worktree(const std::filesystem::path& project_dir);

// A worktree's HEAD file as a host-name label: the branch lower-cased, each run of characters
// other than a-z and 0-9 made one '-', trimmed, at most 63 characters; a detached HEAD gives its
// commit's first 7 hex digits. Empty when HEAD says neither.
std::string branch_label(std::string_view head_file);

}  // namespace rp
