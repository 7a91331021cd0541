#include "supervisor/file_watch.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace rp {
namespace {

// How long a burst of changes may go on before it is acted on.
constexpr auto kSettle = 100ms;

constexpr std::uint32_t kDirEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
                                     IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;
constexpr std::uint32_t kTmpEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ATTRIB;

}  // namespace

struct FileWatch::Impl : std::enable_shared_from_this<Impl> {
  struct Project {
    std::filesystem::path dir;
    Callback callback;
    int dir_wd = -1;
    int tmp_wd = -1;
    FileChanges pending;
    bool at_once = false;  // pending holds a change that may not wait for the burst to settle
    std::unique_ptr<asio::steady_timer> settle;
  };

  explicit Impl(asio::io_context& io_) : io(io_), stream(io_) {
    int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd >= 0) stream.assign(fd);
  }

  asio::io_context& io;
  asio::posix::stream_descriptor stream;
  std::map<std::filesystem::path, Project> projects;
  std::map<int, std::filesystem::path> by_wd;
  std::array<char, 16384> buffer{};
  bool reading = false;

  void add_tmp_watch(Project& p) {
    int wd = ::inotify_add_watch(stream.native_handle(), (p.dir / "tmp").c_str(),
                                 kTmpEvents | IN_ONLYDIR);
    if (wd < 0) return;
    p.tmp_wd = wd;
    by_wd[wd] = p.dir;
  }

  void read() {
    if (reading || !stream.is_open()) return;
    reading = true;
    stream.async_read_some(asio::buffer(buffer), [self = shared_from_this()](
                                                     boost::system::error_code ec, std::size_t n) {
      self->reading = false;
      if (ec) return;
      self->on_events(n);
      self->read();
    });
  }

  void on_events(std::size_t n) {
    std::size_t at = 0;
    while (at + sizeof(inotify_event) <= n) {
      auto* e = reinterpret_cast<const inotify_event*>(buffer.data() + at);
      at += sizeof(inotify_event) + e->len;
      auto where = by_wd.find(e->wd);
      if (where == by_wd.end()) continue;
      auto it = projects.find(where->second);
      if (it == projects.end()) continue;
      Project& p = it->second;
      const std::string name = e->len ? std::string(e->name) : std::string();
      if (e->wd == p.tmp_wd) {
        if (name == "restart.txt") note(p, [](FileChanges& c) { c.restart = true; });
        if (e->mask & IN_IGNORED) p.tmp_wd = -1;
        continue;
      }
      if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
        note(p, [](FileChanges& c) { c.gone = true; });
        continue;
      }
      if (name == "tmp" && (e->mask & (IN_CREATE | IN_MOVED_TO)) && p.tmp_wd < 0) {
        add_tmp_watch(p);
        // From now on requests look for restart.txt (AppActivity::has_tmp): no settling.
        p.at_once = true;
        // It may have come with restart.txt in it (moved in, or made before the watch was).
        std::error_code ec;
        if (std::filesystem::exists(p.dir / "tmp" / "restart.txt", ec)) {
          note(p, [](FileChanges& c) { c.restart = true; });
        }
      }
      if (!name.empty()) note(p, [&](FileChanges& c) { c.names.insert(name); });
    }
  }

  template <typename F>
  void note(Project& p, F&& change) {
    change(p.pending);
    p.settle->expires_after(p.at_once ? 0ms : kSettle);
    p.settle->async_wait([self = shared_from_this(), dir = p.dir](boost::system::error_code ec) {
      if (ec) return;
      auto it = self->projects.find(dir);
      if (it == self->projects.end()) return;
      FileChanges changes = std::move(it->second.pending);
      it->second.pending = {};
      it->second.at_once = false;
      auto callback = it->second.callback;  // the callback may unwatch
      callback(changes);
    });
  }
};

FileWatch::FileWatch(asio::io_context& io) : impl_(std::make_shared<Impl>(io)) {}

FileWatch::~FileWatch() {
  for (auto& [dir, p] : impl_->projects) p.settle->cancel();
  impl_->projects.clear();
  if (impl_->stream.is_open()) impl_->stream.close();
}

bool FileWatch::watch(const std::filesystem::path& dir, Callback callback) {
  unwatch(dir);
  if (!impl_->stream.is_open()) return false;
  int wd = ::inotify_add_watch(impl_->stream.native_handle(), dir.c_str(), kDirEvents | IN_ONLYDIR);
  if (wd < 0) return false;
  auto& stored = impl_->projects[dir];
  stored.dir = dir;
  stored.callback = std::move(callback);
  stored.dir_wd = wd;
  stored.settle = std::make_unique<asio::steady_timer>(impl_->io);
  impl_->by_wd[wd] = dir;
  impl_->add_tmp_watch(stored);
  impl_->read();
  return true;
}

void FileWatch::unwatch(const std::filesystem::path& dir) {
  auto it = impl_->projects.find(dir);
  if (it == impl_->projects.end()) return;
  const int fd = impl_->stream.native_handle();
  for (int wd : {it->second.dir_wd, it->second.tmp_wd}) {
    if (wd < 0) continue;
    ::inotify_rm_watch(fd, wd);
    impl_->by_wd.erase(wd);
  }
  it->second.settle->cancel();
  impl_->projects.erase(it);
}

}  // namespace rp
