// libFuzzer target over load_project (supervisor/project/project.hpp): a project's directory as
// `rp up` and the daemon read it, the files checked against each other. The input is split at
// NULs into Procfile, Procfile.dev (which load_project prefers), .env, .env.local and rp.yaml,
// after a first byte whose bits 0-4 say which of them exist (a missing file is not an empty
// one). They are written into a directory made once per process under $TMPDIR (else /tmp) and
// removed at exit; a file the input does not have is removed. load_project reads it with no
// options, a small inherited environment and the default config.yaml. It runs nothing and opens
// no socket; outside the directory it only looks: at the current directory (to show paths) and
// for a `.git` in the directories above (a linked worktree's name is read from what git wrote).
// For any files: no exception escapes; either a Project comes back and no diagnostic, or at
// least one diagnostic, each naming one of the files it read and a line of it (0 only for a
// Procfile that is missing, or a mistake of rp.yaml on no line); and a Project is what the header
// promises — every name in it valid and unique, every command not blank, the web process one of
// the services, every Procfile entry in it with its command, and without rp.yaml, the .env
// files' variables exactly. The directory holds only what was written. Nothing may crash, leak
// or read out of bounds (ASan, UBSan).
#include <dirent.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <string_view>

#include "fuzz/checks.hpp"
#include "supervisor/project/procfile.hpp"
#include "supervisor/project/project.hpp"
#include "supervisor/project/signals.hpp"
#include "supervisor/project/text.hpp"

namespace {

namespace fs = std::filesystem;
using rp::fuzz::require;

// In input order.
constexpr std::array<const char*, 5> kFiles{"Procfile", "Procfile.dev", ".env", ".env.local",
                                            "rp.yaml"};
enum FileIndex { kProcfile, kProcfileDev, kEnv, kEnvLocal, kYaml };

// The project's directory: one per process, so that parallel runs keep apart.
struct ProjectDir {
  fs::path path;
  ProjectDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/rp-project-fuzz-XXXXXX";
    require(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~ProjectDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

const ProjectDir& project_dir() {
  static const ProjectDir dir;
  return dir;
}

// The names in `dir`, but "." and "..".
std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  require(d != nullptr);
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name != "." && name != "..") names.emplace(name);
  }
  ::closedir(d);
  return names;
}

struct Files {
  std::array<std::string_view, kFiles.size()> text;
  std::array<bool, kFiles.size()> present{};
  std::array<std::string, kFiles.size()> shown;  // as a diagnostic names each
};

void check_diagnostics(const rp::Diagnostics& errors, const Files& files) {
  // The Procfile read: Procfile.dev when there is one.
  const FileIndex read_procfile = files.present[kProcfileDev] ? kProcfileDev : kProcfile;
  for (const auto& d : errors) {
    std::size_t i = 0;
    while (i < kFiles.size() && d.file != files.shown[i]) ++i;
    require(i < kFiles.size());
    require(!d.what.empty() && !d.fix.empty() && d.column >= 0);
    (void)d.str();
    switch (i) {
      case kProcfile:
      case kProcfileDev:
        require(i == static_cast<std::size_t>(read_procfile));
        // A Procfile that is missing is named on no line; one that is there, on one of its own.
        require(files.present[i] ? d.line >= 1 && d.line <= rp::fuzz::line_count(files.text[i])
                                 : d.line == 0);
        break;
      case kEnv:
      case kEnvLocal:
        require(files.present[i]);
        require(d.line >= 1 && d.line <= rp::fuzz::line_count(files.text[i]));
        break;
      case kYaml:
        require(files.present[i]);
        require(d.line >= 0 && d.line <= rp::fuzz::line_count(files.text[i], true));
        break;
    }
  }
}

const rp::EnvMap kInherited{{"HOME", "/home/me"}, {"PATH", "/usr/bin:/bin"}};

void check_project(const rp::Project& p, const fs::path& dir, const Files& files,
                   const rp::GlobalConfig& global) {
  require(p.dir == dir);
  require(rp::valid_dns_label(p.name));
  for (const auto& alias : p.aliases) require(rp::valid_dns_label(alias));

  std::set<std::string> names;
  for (const auto* list : {&p.services, &p.tasks}) {
    for (const auto& s : *list) {
      require(rp::valid_process_name(s.name) && names.insert(s.name).second);
      require((s.kind == rp::ProcessKind::task) == (list == &p.tasks));
      require(!rp::trim(s.command).empty());
      require(s.command.find('\0') == std::string::npos);  // exec would cut it there
      require(s.count >= 0 && s.count <= 100);
      require(rp::parse_signal(rp::signal_name(s.stop_signal)) == s.stop_signal);
      require(s.stop_timeout.count() >= 0 && s.stop_timeout <= rp::kLongestDuration);
      if (s.ready_http) require(s.ready_http->starts_with('/'));
    }
  }
  if (p.services.empty()) {
    require(p.web.empty());
  } else {
    require(std::any_of(p.services.begin(), p.services.end(),
                        [&](const rp::ProcessSpec& s) { return s.name == p.web; }));
  }
  for (const auto& [key, value] : p.env) {
    require(rp::valid_variable_name(key));
    require(value.find('\0') == std::string::npos);
  }

  // Every entry of the Procfile that was read, with its command.
  const FileIndex read_procfile = files.present[kProcfileDev] ? kProcfileDev : kProcfile;
  const std::string_view procfile = files.present[read_procfile] ? files.text[read_procfile] : "";
  rp::Diagnostics ignored;
  for (const auto& e : rp::parse_procfile(procfile, "Procfile", ignored)) {
    bool found = false;
    for (const auto* list : {&p.services, &p.tasks}) {
      for (const auto& s : *list) found = found || (s.name == e.name && s.command == e.command);
    }
    require(found);
  }
  // Without rp.yaml nothing else adds to the Procfile and the .env files, nor sets an option.
  if (!files.present[kYaml]) {
    require(p.tasks.empty() && p.aliases.empty() && !p.https_redirect && p.boot_page);
    require(p.idle_timeout == global.idle_timeout && p.boot_timeout == std::chrono::seconds(60));
    rp::EnvMap expected;
    for (FileIndex f : {kEnv, kEnvLocal}) {
      if (files.present[f]) rp::parse_dotenv(files.text[f], ".env", expected, kInherited, ignored);
    }
    require(p.env == expected);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const fs::path& dir = project_dir().path;
  Files files;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  for (std::size_t i = 0; i < kFiles.size(); ++i) {
    const auto nul = rest.find('\0');
    files.text[i] = rest.substr(0, nul);
    rest.remove_prefix(nul == std::string_view::npos ? rest.size() : nul + 1);
    files.present[i] = data[0] & (1 << i);
    const fs::path path = dir / kFiles[i];
    files.shown[i] = rp::display_path(path);
    if (files.present[i]) {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << files.text[i];
      require(out.good());
    } else {
      std::error_code ec;
      fs::remove(path, ec);
    }
  }

  rp::Diagnostics errors;
  const rp::GlobalConfig global;
  const auto project = rp::load_project(dir, {}, kInherited, global, errors);
  require(project.has_value() == errors.empty());
  check_diagnostics(errors, files);
  if (project) check_project(*project, dir, files, global);

  std::set<std::string> written;
  for (std::size_t i = 0; i < kFiles.size(); ++i) {
    if (files.present[i]) written.emplace(kFiles[i]);
  }
  require(listing(dir) == written);
  return 0;
}
