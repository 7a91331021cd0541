// Random values that pages carry: the dashboard's per-daemon token, the boot page's script nonce.
// From OpenSSL's generator, written in hex.
#pragma once

#include <cstddef>
#include <string>

namespace rp::proxy {

// `bytes` random bytes as 2 * `bytes` hex digits; empty if the generator fails.
std::string random_hex(std::size_t bytes);

}  // namespace rp::proxy
