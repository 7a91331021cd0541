// libFuzzer target over the control API's decoders, on both ends of the socket. The daemon's: a
// connection's bytes, in pieces of fuzzer-chosen sizes as reads deliver them, become a Request
// or a refusal (cmd/daemon/control_request.hpp), and the request's path, query and JSON body go
// through the decoders the handlers use (cmd/daemon/api_json.hpp). The CLI's: the same bytes
// as the daemon's answer, read by the client's ResponseReader, its body split into lines and
// each read as JSON the way the commands read replies and streams (cmd/replies.hpp).
// The first byte chooses: bits 0-5 the piece size less one, bit 6 the dashboard's listener,
// bit 7 a body limit of 64 bytes instead of 1 MiB (so that 413 is reached).
// For any bytes: a refusal is a 400 or a 413, a request's path has no query and its decoded
// fields hold what their contracts say. Nothing may crash, leak or read out of bounds (ASan,
// UBSan), and no exception may escape.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "cmd/daemon/api_json.hpp"
#include "cmd/daemon/control_request.hpp"
#include "cmd/replies.hpp"
#include "fuzz/checks.hpp"
#include "proxy/http/message.hpp"

namespace {

using rp::fuzz::require;
namespace json = boost::json;

void check_request(const rp::cmd::Request& request, bool browser) {
  require(request.browser == browser);
  require(request.path.find('?') == std::string::npos);
  for (const auto& part : rp::cmd::split_path(request.path)) {
    require(!part.empty() && part.find('/') == std::string::npos);
  }
  for (const auto& [key, value] : request.query) {
    require(key.find('&') == std::string::npos && value.find('&') == std::string::npos);
    require(key.find('=') == std::string::npos);
  }

  std::string error;
  if (auto registration = rp::cmd::registration_from(request.body, error)) {
    require(registration->dir.is_absolute());
  } else {
    require(!error.empty());
  }
  if (auto port = rp::cmd::route_port(request.body)) require(*port >= 1 && *port <= 65535);
  error.clear();
  if (auto logs = rp::cmd::log_query(request.query, error)) {
    // n, when given, is a number: digits and nothing else.
    if (auto n = request.query.find("n"); n != request.query.end()) {
      require(!n->second.empty() && n->second.find_first_not_of("0123456789") == std::string::npos);
    }
  } else {
    require(!error.empty());
  }
  (void)rp::cmd::string_field(request.body, "process");
  (void)rp::cmd::bool_field(request.body, "follow");
}

void read_request(std::string_view bytes, std::size_t step, bool browser, std::size_t max_body) {
  rp::cmd::RequestReader reader(browser, max_body);
  while (!bytes.empty()) {
    const auto piece = bytes.substr(0, step);
    bytes.remove_prefix(piece.size());
    auto read = reader.feed(piece);
    if (!read) continue;
    if (auto* refusal = std::get_if<rp::cmd::RequestRefusal>(&*read)) {
      require(refusal->status == 400 || refusal->status == 413);
      require(!refusal->message.empty());
      // The refusal's own answer is well-formed JSON with the message in it.
      const std::string answer = rp::cmd::error_answer(refusal->status, refusal->message);
      const auto body = answer.substr(answer.find("\r\n\r\n") + 4);
      require(rp::cmd::string_of(rp::cmd::parse_object(body), "error") == refusal->message);
    } else {
      check_request(std::get<rp::cmd::Request>(*read), browser);
    }
    return;
  }
}

// A line of a reply or a stream, read as `rp up`, `rp logs` and `rp ls` read them.
void read_line(std::string_view line) {
  const json::object o = rp::cmd::parse_object(line);
  for (const char* key : {"type", "app", "source", "text", "url", "error", "name", "state"}) {
    (void)rp::cmd::string_of(o, key);
  }
  for (const char* key : {"color", "port", "pid", "time"}) (void)rp::cmd::int_of(o, key, -1);
  for (const char* list : {"diagnostics", "apps", "processes", "routes", "log"}) {
    const auto* items = o.if_contains(list);
    if (!items || !items->is_array()) continue;
    for (const auto& item : items->as_array()) {
      if (item.is_object()) (void)rp::cmd::string_of(item.as_object(), "text");
    }
  }
}

void read_answer(std::string_view bytes, std::size_t step) {
  rp::http::ResponseReader reader;
  std::string& body = reader.body();
  while (!bytes.empty() && !reader.failed()) {
    const auto piece = bytes.substr(0, step);
    bytes.remove_prefix(piece.size());
    reader.feed(piece);
    for (auto newline = body.find('\n'); newline != std::string::npos; newline = body.find('\n')) {
      read_line(std::string_view(body).substr(0, newline));
      body.erase(0, newline + 1);
    }
  }
  reader.finish();
  if (reader.has_head()) require(reader.head().status >= 0 && reader.head().status <= 999);
  if (reader.failed()) require(!reader.error().empty());
  read_line(body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t step = 1 + (data[0] & 0x3f);
  const bool browser = data[0] & 0x40;
  const std::size_t max_body = data[0] & 0x80 ? 64 : rp::cmd::RequestReader::kMaxBody;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  read_request(bytes, step, browser, max_body);
  read_answer(bytes, step);
  return 0;
}
