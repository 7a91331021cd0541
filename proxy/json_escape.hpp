// Text into JSON strings, for the control API's streams and the boot page. An app's output is
// not always UTF-8 (a Latin-1 file, a binary dump): a byte that does not belong to a valid UTF-8
// sequence becomes U+FFFD, so that the line still reaches the client instead of making its JSON
// invalid.
#pragma once

#include <string>
#include <string_view>

namespace rp::proxy {

// Appends `text` as the inside of a JSON string (no quotes): `"` and `\` escaped, control
// characters as \u00XX, valid UTF-8 as is, anything else as U+FFFD.
void append_json_string(std::string& out, std::string_view text);

}  // namespace rp::proxy
