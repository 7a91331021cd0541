#include "proxy/tls/sni.hpp"

#include <boost/asio/ip/address.hpp>

namespace rp::tls {
namespace {

bool valid_label(std::string_view label) {
  if (label.empty() || label.size() > 63) return false;
  for (char c : label) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool valid_name(std::string_view name) {
  if (name.size() > 253) return false;
  for (;;) {
    const auto dot = name.find('.');
    if (!valid_label(name.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    name.remove_prefix(dot + 1);
  }
}

}  // namespace

LeafChoice choose_leaf(std::string_view server_name, const std::vector<std::string>& tlds) {
  std::string name(server_name);
  for (char& c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (!name.empty() && name.back() == '.') name.pop_back();
  if (name.empty() || name == "localhost") return {LeafChoice::Kind::loopback, {}};

  // Clients should not put an address in SNI, but some do: a loopback one is the loopback
  // certificate's, any other is not rp's.
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(name, ec);
  if (!ec)
    return {address.is_loopback() ? LeafChoice::Kind::loopback : LeafChoice::Kind::refused, {}};

  if (!valid_name(name)) return {};
  // The longest TLD the name ends in, so that a TLD of two labels wins over its last one.
  std::size_t tld_size = 0;
  for (const auto& tld : tlds) {
    if (name.size() > tld.size() + 1 && name.ends_with(tld) &&
        name[name.size() - tld.size() - 1] == '.' && tld.size() > tld_size) {
      tld_size = tld.size();
    }
  }
  if (tld_size == 0) return {};
  const std::string_view below(name.data(), name.size() - tld_size - 1);
  const auto dot = below.find('.');
  if (dot == std::string_view::npos) return {LeafChoice::Kind::name, name};
  return {LeafChoice::Kind::name, name.substr(dot + 1)};
}

}  // namespace rp::tls
