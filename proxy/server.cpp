#include "proxy/server.hpp"

#include <fmt/format.h>
#include <malloc.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <mutex>
#include <random>
#include <system_error>
#include <thread>

#include "proxy/accept_shortage.hpp"
#include "proxy/nothrow.hpp"
#include "proxy/tls/tls_context.hpp"
#include "proxy/tls/tls_stream.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;

namespace rp::proxy {
namespace {

// A worker's io_context, which the worker shuts down first when it goes: the connections still
// running on it end while the thread's state they give back to still exists.
struct WorkerIo : asio::io_context {
  WorkerIo() : asio::io_context(1) {}
  using asio::io_context::shutdown;
};

struct Worker {
  explicit Worker(ProxyShared& shared)
      : thread{shared,
               UpstreamPool(shared.settings.connect_timeout),
               {},
               AccessLog(io.get_executor()),
               0,
               {},
               DescriptorReserve(io.get_executor()),
               {}} {}
  ~Worker() { io.shutdown(); }
  WorkerIo io;
  ProxyThread thread;
  std::vector<tcp::acceptor> acceptors;
  std::vector<tcp::acceptor> tls_acceptors;
  std::thread runner;  // runs io on threads of its own (run_worker)
  std::mutex renewal;  // guards the two flags below
  bool renewing = false;
  bool stopping = false;
};

// glibc keeps a cache of freed blocks per thread (tcache: up to 7 of each size), and no call hands
// it back while the thread lives. After a load those blocks are the last ones its connections
// freed, spread over the pages they used, and malloc_trim cannot return a page that holds one:
// about 0.3 MB after 10,000 connections (docs/benchmarks.md, "Memory"). A thread that ends gives
// its cache back. So the runner runs a worker's io_context on a thread of its own, which tidy_up
// ends once the worker has been quiet for a while after some work (renew); the runner then
// trims and starts another, which goes on with the same io_context: connections, timers and all.
// Nothing of rp's is tied to the thread: it ends between two handlers, and one runs them at a time.
void run_worker(Worker& worker) {
  for (;;) {
    try {
      std::thread([&worker] { worker.io.run(); }).join();
    } catch (const std::system_error&) {
      worker.io.run();  // no thread to be had: on this one, then, until the next renewal
    }
    {
      std::lock_guard lock(worker.renewal);
      if (worker.stopping || !worker.renewing) return;
      worker.renewing = false;
      worker.io.restart();
    }
    ::malloc_trim(0);
  }
}

// Called on the worker's thread: it ends once the handler that called this returns.
void renew(Worker& worker) {
  std::lock_guard lock(worker.renewal);
  if (worker.stopping) return;
  worker.renewing = true;
  worker.io.stop();
}

// Whether nothing holds `endpoint`. The threads' acceptors share their port with SO_REUSEPORT,
// which would as gladly share it with another process of this user that sets it too (a second rp
// daemon of another RP_HOME): connections would then be split between the two without a word. A
// socket bound without SO_REUSEPORT first finds the port taken, whoever holds it.
bool port_is_free(asio::io_context& io, const tcp::endpoint& endpoint,
                  boost::system::error_code& ec) {
  tcp::acceptor probe(io);
  probe.open(endpoint.protocol(), ec);
  if (!ec) probe.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec && endpoint.address().is_v6()) probe.set_option(asio::ip::v6_only(true), ec);
  if (!ec) probe.bind(endpoint, ec);
  return !ec;
}

asio::awaitable<void> accept_loop(Worker& worker, tcp::acceptor& acceptor, bool tls,
                                  AcceptShortage& shortage) {
  ProxyShared& shared = worker.thread.shared;
  // Where each connection came from is what the accept says, and where it came to is this
  // listener's port: no getpeername or getsockname per connection.
  boost::system::error_code port_ec;
  const int local_port = acceptor.local_endpoint(port_ec).port();
  tcp::endpoint peer;
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(peer, nothrow);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors or memory: pause rather than spin (proxy/accept_shortage.hpp).
      const auto wait = shortage.failed(ec);
      if (wait.count() > 0) {
        asio::steady_timer pause(acceptor.get_executor(), wait);
        co_await pause.async_wait(nothrow);
      }
      continue;
    }
    shortage.accepted();
    if (shared.connections.load(std::memory_order_relaxed) >= shared.settings.max_connections) {
      // (Over TLS there is nobody to read a plain answer: the connection just closes.)
      if (!tls) refuse_connection(std::move(socket));
      continue;
    }
    http::ClientInfo client{.address = peer.address().to_string(), .local_port = local_port};
    if (tls) {
      start_tls_session(worker.thread, std::move(socket), std::move(client));
    } else {
      start_session(worker.thread, std::move(socket), std::move(client));
    }
  }
}

// Every 5 s: the upstream pool closes the app connections that went unused for a while; TLS
// connections that were quiet since the last tick let go of OpenSSL's buffers; and once
// a thread has been quiet for a while after some work (for 5 to 10 s no request began and
// the number of connections stayed the same), it lets go of the memory that work left behind:
// its spare workspaces, then its thread's cache of freed blocks (renew), and the free memory
// glibc keeps for reuse (a load of thousands of connections leaves megabytes of it; malloc_trim,
// which run_worker calls, returns the free pages of every arena, not only the top of the heap).
// The daemon then shrinks back after a load.
asio::awaitable<void> tidy_up(Worker& worker) {
  asio::steady_timer tick(worker.io);
  std::pair<std::uint64_t, int> seen{0, 0};
  bool released = true;
  for (;;) {
    tick.expires_after(std::chrono::seconds(5));
    auto [ec] = co_await tick.async_wait(nothrow);
    if (ec) co_return;
    worker.thread.pool.prune(std::chrono::steady_clock::now());
    for (tls::TlsStream* stream : worker.thread.tls_streams) stream->tidy();
    const std::pair<std::uint64_t, int> now{
        worker.thread.workspaces.taken(),
        worker.thread.shared.connections.load(std::memory_order_relaxed)};
    if (now != seen) {
      seen = now;
      released = false;
    } else if (!released) {
      released = true;
      worker.thread.workspaces.clear();
      renew(worker);
    }
  }
}

}  // namespace

struct Server::Impl {
  ListenConfig listen;
  bool http_bound = false;
  int tls_port = 0;
  ProxyShared shared;
  std::vector<std::unique_ptr<Worker>> workers;
  // Destroyed before the workers, once their threads have stopped: its minting thread is joined
  // while the workers' io_contexts it posts to still exist.
  std::shared_ptr<tls::TlsContext> tls;

  // Binds `port` on every address on every thread, into each worker's `list`. False, with
  // `error`, when no address could be had.
  bool bind(int port, std::vector<tcp::acceptor> Worker::*list, std::string& error);
};

Server::Server(ListenConfig listen, ProxySettings settings) : impl_(std::make_unique<Impl>()) {
  impl_->listen = std::move(listen);
  impl_->shared.settings = settings;
  std::random_device rd;
  impl_->shared.pseudonym.token = fmt::format("rp-{:08x}", rd());
  impl_->shared.routes.store(std::make_shared<const RouteTable>(
      std::vector<std::string>{}, std::vector<std::shared_ptr<const AppStatus>>{}));
  int threads = impl_->listen.threads > 0 ? impl_->listen.threads
                                          : static_cast<int>(std::thread::hardware_concurrency());
  for (int i = 0; i < std::max(threads, 1); ++i) {
    impl_->workers.push_back(std::make_unique<Worker>(impl_->shared));
  }
}

Server::~Server() {
  stop();
}

bool Server::listen(std::string& error) {
  impl_->http_bound = impl_->bind(impl_->listen.port, &Worker::acceptors, error);
  return impl_->http_bound;
}

bool Server::listen_tls(int port, std::shared_ptr<tls::TlsContext> tls, std::string& error) {
  if (!impl_->bind(port, &Worker::tls_acceptors, error)) return false;
  impl_->tls_port = port;
  impl_->tls = std::move(tls);
  impl_->shared.tls = impl_->tls.get();
  impl_->shared.settings.https_display_port = port;
  return true;
}

bool Server::Impl::bind(int port, std::vector<tcp::acceptor> Worker::*list, std::string& error) {
  std::string failures;
  bool any = false;
  for (const auto& text : listen.addresses) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(text, ec);
    if (ec) {
      failures += fmt::format("{}{}: not an address", failures.empty() ? "" : "; ", text);
      continue;
    }
    tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
    if (!port_is_free(workers.front()->io, endpoint, ec)) {
      failures +=
          fmt::format("{}{}:{}: {}", failures.empty() ? "" : "; ", text, port, ec.message());
      continue;
    }
    bool bound_here = true;
    for (auto& worker : workers) {
      tcp::acceptor acceptor(worker->io);
      acceptor.open(endpoint.protocol(), ec);
      if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
      if (!ec) {
        int one = 1;
        ::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        if (address.is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
      }
      if (!ec) acceptor.bind(endpoint, ec);
      if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
      if (ec) {
        failures +=
            fmt::format("{}{}:{}: {}", failures.empty() ? "" : "; ", text, port, ec.message());
        bound_here = false;
        break;
      }
      ((*worker).*list).push_back(std::move(acceptor));
    }
    if (!bound_here) {
      // All threads or none: a half-bound address would take only some connections.
      for (auto& worker : workers) {
        std::erase_if((*worker).*list, [&](tcp::acceptor& a) {
          boost::system::error_code e;
          return a.local_endpoint(e).address() == address;
        });
      }
      continue;
    }
    any = true;
  }
  error = failures;
  return any;
}

int Server::port() const {
  return impl_->http_bound ? impl_->listen.port : 0;
}

int Server::tls_port() const {
  return impl_->tls_port;
}

void Server::set_routes(std::shared_ptr<const RouteTable> routes) {
  impl_->shared.routes.store(std::move(routes));
}

void Server::start(SupervisorLink& supervisor, AcceptShortage& shortage) {
  impl_->shared.supervisor = &supervisor;
  for (auto& worker : impl_->workers) {
    worker->thread.access_log.attach(&supervisor);
    for (auto& acceptor : worker->acceptors) {
      asio::co_spawn(worker->io, accept_loop(*worker, acceptor, false, shortage), asio::detached);
    }
    for (auto& acceptor : worker->tls_acceptors) {
      asio::co_spawn(worker->io, accept_loop(*worker, acceptor, true, shortage), asio::detached);
    }
    asio::co_spawn(worker->io, tidy_up(*worker), asio::detached);
    worker->runner = std::thread([w = worker.get()] { run_worker(*w); });
  }
}

namespace {

asio::awaitable<void> drain_worker(Worker& worker, std::chrono::milliseconds limit) {
  boost::system::error_code ec;
  for (auto& acceptor : worker.acceptors) acceptor.close(ec);
  for (auto& acceptor : worker.tls_acceptors) acceptor.close(ec);
  for (Drainable* connection : worker.thread.drainable) connection->drain();
  const auto deadline = std::chrono::steady_clock::now() + limit;
  asio::steady_timer pause(worker.io);
  while (!worker.thread.drainable.empty() && std::chrono::steady_clock::now() < deadline) {
    pause.expires_after(std::chrono::milliseconds(20));
    co_await pause.async_wait(nothrow);
  }
}

}  // namespace

void Server::drain(std::chrono::milliseconds limit, std::function<void()> done) {
  auto finish = std::make_shared<std::function<void()>>(std::move(done));
  auto left = std::make_shared<std::atomic<int>>(0);
  for (auto& worker : impl_->workers) {
    if (worker->runner.joinable()) left->fetch_add(1);
  }
  if (left->load() == 0) {
    (*finish)();
    return;
  }
  for (auto& worker : impl_->workers) {
    if (!worker->runner.joinable()) continue;
    asio::co_spawn(worker->io, drain_worker(*worker, limit), [left, finish](std::exception_ptr) {
      if (left->fetch_sub(1) == 1) (*finish)();
    });
  }
}

void Server::stop() {
  for (auto& worker : impl_->workers) {
    std::lock_guard lock(worker->renewal);
    worker->stopping = true;
    worker->io.stop();
  }
  for (auto& worker : impl_->workers) {
    if (worker->runner.joinable()) worker->runner.join();
  }
}

}  // namespace rp::proxy
