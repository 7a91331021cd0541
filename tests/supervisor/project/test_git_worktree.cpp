// Worktree names from what git writes: the branch label, and a linked worktree told from the main
// checkout and from a submodule by its files alone (tests/e2e/test_worktrees.py runs real git).
#include <catch2/catch.hpp>
#include <fstream>

#include "supervisor/project/git_worktree.hpp"
#include "supervisor/project/project.hpp"
#include "tests/support/temp_dir.hpp"

using namespace rp;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream{file} << text;
}

// A main checkout at ROOT/shop and a linked worktree of it at ROOT/wt on `head`.
struct Repository {
  test::TempDir root;
  fs::path main = root.path / "shop";
  fs::path tree = root.path / "wt";
  explicit Repository(const std::string& head = "ref: refs/heads/Feature/Login_Page\n") {
    write(main / ".git" / "HEAD", "ref: refs/heads/main\n");
    write(main / ".git" / "worktrees" / "wt" / "HEAD", head);
    write(main / ".git" / "worktrees" / "wt" / "commondir", "../..\n");
    write(tree / ".git", "gitdir: " + (main / ".git" / "worktrees" / "wt").string() + "\n");
  }
};

}  // namespace

TEST_CASE("a branch becomes one host-name label") {
  CHECK(branch_label("ref: refs/heads/main\n") == "main");
  CHECK(branch_label("ref: refs/heads/Feature/Login_Page\n") == "feature-login-page");
  CHECK(branch_label("ref: refs/heads/--fix--it--\r\n") == "fix-it");
  CHECK(branch_label("ref: refs/heads/" + std::string(100, 'a')) == std::string(63, 'a'));
  CHECK(branch_label("0123456789abcdef0123456789abcdef01234567\n") == "0123456");
  CHECK(branch_label("") == "");
  CHECK(branch_label("garbage\n") == "");
}

TEST_CASE("a linked worktree is found from its .git file, the main checkout is not one") {
  Repository repo;
  CHECK_FALSE(linked_worktree(repo.main));
  CHECK_FALSE(linked_worktree(repo.root.path));  // no repository at all

  auto wt = linked_worktree(repo.tree);
  REQUIRE(wt);
  CHECK(wt->branch == "feature-login-page");
  CHECK(wt->main_dir == repo.main);

  // A project in a subdirectory: the same subdirectory of the main checkout.
  fs::create_directories(repo.tree / "apps" / "web");
  auto sub = linked_worktree(repo.tree / "apps" / "web");
  REQUIRE(sub);
  CHECK(sub->main_dir == repo.main / "apps" / "web");
}

TEST_CASE("a relative gitdir, a detached HEAD and a bare repository") {
  Repository repo("4b825dc642cb6eb9a060e54bf8d69288fbee4904\n");
  write(repo.tree / ".git", "gitdir: ../shop/.git/worktrees/wt\n");
  auto wt = linked_worktree(repo.tree);
  REQUIRE(wt);
  CHECK(wt->branch == "4b825dc");
  CHECK(wt->main_dir == repo.main);

  test::TempDir bare;
  write(bare.path / "shop.git" / "worktrees" / "x" / "HEAD", "ref: refs/heads/x\n");
  write(bare.path / "shop.git" / "worktrees" / "x" / "commondir", "../..\n");
  write(bare.path / "x" / ".git", "gitdir: ../shop.git/worktrees/x\n");
  auto from_bare = linked_worktree(bare.path / "x");
  REQUIRE(from_bare);
  CHECK(from_bare->main_dir.filename() == "shop");
}

TEST_CASE("a submodule or an unreadable .git file is no linked worktree") {
  test::TempDir dir;
  write(dir.path / ".git" / "modules" / "lib" / "HEAD", "ref: refs/heads/main\n");
  write(dir.path / "lib" / ".git", "gitdir: ../.git/modules/lib\n");
  // The submodule's .git is found first; it has no commondir.
  CHECK_FALSE(linked_worktree(dir.path / "lib"));
  write(dir.path / "odd" / ".git", "not a gitdir line\n");
  CHECK_FALSE(linked_worktree(dir.path / "odd"));
}

TEST_CASE("a project in a linked worktree is named BRANCH.NAME after the main checkout") {
  Repository repo;
  CHECK(project_name(repo.main, std::nullopt) == "shop");
  CHECK(project_name(repo.tree, std::nullopt) == "feature-login-page.shop");
  // The main checkout's rp.yaml name wins over its directory's and over the branch's own.
  write(repo.main / "rp.yaml", "name: store\n");
  CHECK(project_name(repo.main, "store") == "store");
  CHECK(project_name(repo.tree, "renamed") == "feature-login-page.store");
  // Without one there, the worktree's rp.yaml name.
  fs::remove(repo.main / "rp.yaml");
  CHECK(project_name(repo.tree, "renamed") == "feature-login-page.renamed");
}
