// The llhttp target builds from Debian's sources and parses: the proxy will stand on it.
#include <llhttp.h>

#include <catch2/catch.hpp>
#include <cstring>

TEST_CASE("llhttp parses a request and rejects a smuggling attempt") {
  llhttp_settings_t settings;
  llhttp_settings_init(&settings);
  llhttp_t parser;
  llhttp_init(&parser, HTTP_REQUEST, &settings);
  const char ok[] = "GET /x HTTP/1.1\r\nHost: a.test\r\n\r\n";
  REQUIRE(llhttp_execute(&parser, ok, std::strlen(ok)) == HPE_OK);
  CHECK(llhttp_get_method(&parser) == HTTP_GET);

  llhttp_init(&parser, HTTP_REQUEST, &settings);
  const char bad[] =
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n";
  CHECK(llhttp_execute(&parser, bad, std::strlen(bad)) != HPE_OK);
}
