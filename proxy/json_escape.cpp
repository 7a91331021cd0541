#include "proxy/json_escape.hpp"

namespace rp::proxy {

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++p;
    } else if (c < 0x20) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
      ++p;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++p;
    } else {
      // The length of the sequence a lead byte announces, and the smallest second byte allowed
      // (no overlong forms, no surrogates, nothing past U+10FFFF).
      int n = 0;
      unsigned char lo = 0x80, hi = 0xbf;
      if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
      } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
      } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
      }
      bool valid = n > 0 && end - p >= n && p[1] >= lo && p[1] <= hi;
      for (int i = 2; valid && i < n; ++i) valid = p[i] >= 0x80 && p[i] <= 0xbf;
      if (valid) {
        out.append(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
        p += n;
      } else {
        out += "\xef\xbf\xbd";  // U+FFFD
        ++p;
      }
    }
  }
}

}  // namespace rp::proxy
