// Which certificate a handshake gets, from the name it asks for (SNI). Pure; tested.
//
// One certificate per app name covers the name and every name one label below it
// (`shop.test`, `*.shop.test`), so processes and wildcard subdomains share their app's. A name
// deeper than that (`a.b.shop.test`) gets the certificate of its parent (`b.shop.test`, which
// covers it by its wildcard): whatever the route, the name is covered. A handshake that names
// nothing, `localhost` or a loopback address gets the loopback certificate. A name outside rp's
// TLDs is refused: rp's CA could not vouch for it anyway (its name constraints), and nothing is
// minted for it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rp::tls {

struct LeafChoice {
  enum class Kind { loopback, name, refused };
  Kind kind = Kind::refused;
  std::string name;  // Kind::name: the certificate's base name ("shop.test")
};

LeafChoice choose_leaf(std::string_view server_name, const std::vector<std::string>& tlds);

}  // namespace rp::tls
