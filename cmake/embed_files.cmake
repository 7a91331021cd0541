# Writes OUT, a C++ source with each of FILES (a ;-list of paths under DIR) as bytes, for
# cmd/daemon/dashboard_files.hpp: the dashboard's page is built into the binary, with no
# JavaScript toolchain. Run by the build (add_custom_command) whenever one of the files changes.
set(body "")
set(table "")
set(n 0)
foreach(name IN LISTS FILES)
  file(READ "${DIR}/${name}" hex HEX)
  string(LENGTH "${hex}" hex_length)
  math(EXPR size "${hex_length} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
  string(APPEND body "const char file${n}[] = {${bytes} 0};\n")
  if(name MATCHES "\\.html$")
    set(type "text/html; charset=utf-8")
  elseif(name MATCHES "\\.js$")
    set(type "text/javascript; charset=utf-8")
  elseif(name MATCHES "\\.css$")
    set(type "text/css; charset=utf-8")
  else()
    set(type "application/octet-stream")
  endif()
  string(APPEND table "    {\"/${name}\", \"${type}\", {file${n}, ${size}}},\n")
  math(EXPR n "${n} + 1")
endforeach()
file(WRITE "${OUT}.new" "// Made by cmake/embed_files.cmake from cmd/daemon/dashboard/: do not edit.
#include \"cmd/daemon/dashboard_files.hpp\"

namespace rp::cmd {
namespace {
${body}
const PageFile kFiles[] = {
${table}};
}  // namespace

std::span<const PageFile> dashboard_files() {
  return kFiles;
}

}  // namespace rp::cmd
")
file(COPY_FILE "${OUT}.new" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.new")
