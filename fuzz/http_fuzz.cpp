// libFuzzer target over the proxy's request path: bytes from a client are parsed (in pieces of
// fuzzer-chosen sizes, as reads would deliver them), each head is routed and rewritten for the
// app, bodies are decoded; the same bytes are then parsed as an app's response and rewritten for
// the client. Nothing may crash, leak or read out of bounds (ASan, UBSan).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/forwarding.hpp"
#include "proxy/http/parser.hpp"
#include "proxy/router.hpp"

namespace {

const rp::proxy::RouteTable& routes() {
  static const rp::proxy::RouteTable table = [] {
    auto app = std::make_shared<rp::AppStatus>();
    app->name = "shop";
    app->aliases = {"shop-admin"};
    app->web = "web";
    for (const char* process : {"web", "worker"}) {
      auto instance = std::make_shared<rp::InstanceStatus>();
      instance->process = process;
      instance->label = std::string(process) + ".1";
      app->instances.push_back(instance);
    }
    return rp::proxy::RouteTable({"test", "localhost"}, {app});
  }();
  return table;
}

// Parses `data` in pieces whose sizes come from `step`, acting on every event as the session does.
void parse(rp::http::Parser::Kind kind, std::string_view data, std::size_t step) {
  using Status = rp::http::Parser::Status;
  rp::http::Parser parser(kind);
  const rp::http::ClientInfo client{"127.0.0.1", 80, "http"};
  const rp::http::Pseudonym self{"rp-fuzz"};
  std::string pending;
  std::size_t body_bytes = 0;
  while (!data.empty()) {
    pending.append(data.substr(0, step));
    data.remove_prefix(std::min(step, data.size()));
    std::string_view rest = pending;
    for (;;) {
      auto result = parser.feed(rest);
      for (auto part : result.body) body_bytes += part.size();
      rest.remove_prefix(result.consumed);
      if (result.status == Status::error || result.status == Status::upgrade) return;
      if (result.status == Status::head_done) {
        const auto& head = parser.head();
        if (const std::string* host = head.find("host")) {
          (void)routes().resolve(rp::proxy::normalise_host(*host));
        }
        (void)rp::http::is_loop(head, self);
        (void)rp::http::upstream_request(head, client, self);
        continue;
      }
      if (result.status == Status::message_done) {
        if (kind == rp::http::Parser::Kind::response) {
          const auto& head = parser.head();
          auto framing = rp::http::response_framing(head, false, true);
          (void)rp::http::client_response(head, framing, head.keep_alive);
        }
        continue;
      }
      break;  // need_more
    }
    pending.erase(0, pending.size() - rest.size());
  }
  if (kind == rp::http::Parser::Kind::response) (void)parser.finish();
  (void)body_bytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t step = 1 + bytes[0] % 64;
  std::string_view data(reinterpret_cast<const char*>(bytes) + 1, size - 1);
  parse(rp::http::Parser::Kind::request, data, step);
  parse(rp::http::Parser::Kind::response, data, step);
  return 0;
}
