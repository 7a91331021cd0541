#include "supervisor/project/git_worktree.hpp"

#include "supervisor/project/project.hpp"
#include "supervisor/project/text.hpp"

namespace fs = std::filesystem;

namespace rp {
namespace {

// The first line of a file git wrote, trimmed; nullopt when it cannot be read.
std::optional<std::string> first_line(const fs::path& file) {
  auto text = read_text_file(file);
  if (!text) return std::nullopt;
  auto lines = split_lines(*text);
  if (lines.empty()) return std::string();
  return std::string(trim(lines.front()));
}

// Without "." and "..", and without a trailing separator.
fs::path normal(const fs::path& path) {
  fs::path p = path.lexically_normal();
  if (!p.has_filename() && p.has_relative_path()) p = p.parent_path();
  return p;
}

// `path` as written in a git file: relative to `base` unless absolute.
fs::path resolve(const fs::path& base, const std::string& path) {
  fs::path p(path);
  return normal(p.is_absolute() ? p : base / p);
}

bool is_hex(std::string_view s) {
  if (s.size() < 7) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string branch_label(std::string_view head_file) {
  auto lines = split_lines(head_file);
  if (lines.empty()) return {};
  std::string_view head = trim(lines.front());
  constexpr std::string_view kRef = "ref:";
  if (head.starts_with(kRef)) {
    std::string_view ref = trim(head.substr(kRef.size()));
    constexpr std::string_view kBranch = "refs/heads/";
    if (ref.starts_with(kBranch)) ref.remove_prefix(kBranch.size());
    return dns_safe_name(ref);
  }
  if (is_hex(head)) return std::string(head.substr(0, 7));
  return {};
}

std::optional<LinkedWorktree> linked_worktree(const fs::path& project_dir) {
  std::error_code ec;
  // The worktree's root: the nearest directory up from the project with a `.git`.
  fs::path root = normal(project_dir);
  for (;;) {
    const auto status = fs::symlink_status(root / ".git", ec);
    if (fs::is_directory(status)) return std::nullopt;  // the main checkout
    if (fs::is_regular_file(status)) break;
    if (!root.has_relative_path()) return std::nullopt;  // not in a repository
    root = root.parent_path();
  }
  // A linked worktree's `.git` says "gitdir: REPO/.git/worktrees/ID", and that directory has a
  // `commondir`; a submodule's `.git` points at a directory without one.
  const auto link = first_line(root / ".git");
  constexpr std::string_view kGitdir = "gitdir:";
  if (!link || !link->starts_with(kGitdir)) return std::nullopt;
  const fs::path gitdir =
      resolve(root, std::string(trim(std::string_view(*link).substr(kGitdir.size()))));
  const auto common = first_line(gitdir / "commondir");
  const auto head = read_text_file(gitdir / "HEAD");
  if (!common || common->empty() || !head) return std::nullopt;
  LinkedWorktree out;
  out.branch = branch_label(*head);
  if (out.branch.empty()) return std::nullopt;
  // The main checkout holds the common directory as its `.git`; a bare repository is its own
  // (shop.git), and stands for a checkout named after it.
  const fs::path common_dir = resolve(gitdir, *common);
  const fs::path main_root = common_dir.filename() == ".git"
                                 ? common_dir.parent_path()
                                 : common_dir.parent_path() / common_dir.stem();
  const fs::path inside = normal(project_dir).lexically_relative(root);
  out.main_dir = (inside.empty() || inside == ".") ? main_root : normal(main_root / inside);
  return out;
}

}  // namespace rp
