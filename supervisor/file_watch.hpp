// Tells the daemon when a project's files change, through inotify: its Procfile, .env files and
// rp.yaml (the definition is reloaded), tmp/restart.txt (Pow's convention: the app restarts) and
// the directory itself going away. Changes are gathered for a moment, so that an editor's
// save-by-rename or a `git checkout` is one reload, not ten; a new tmp/ is told at once (from then
// on requests look for restart.txt themselves).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>

namespace boost::asio {
class io_context;
}

namespace rp {

struct FileChanges {
  std::set<std::string> names;  // what changed in the project directory: "Procfile", ".env", ...
  bool restart = false;         // tmp/restart.txt was touched
  bool gone = false;            // the directory was removed or moved away
};

class FileWatch {
 public:
  using Callback = std::function<void(const FileChanges&)>;

  explicit FileWatch(boost::asio::io_context& io);
  ~FileWatch();

  // Watches `dir` until unwatch(); one callback per burst of changes. False when inotify cannot
  // watch it (the directory is gone, or the watch limit is reached).
  bool watch(const std::filesystem::path& dir, Callback callback);
  void unwatch(const std::filesystem::path& dir);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace rp
