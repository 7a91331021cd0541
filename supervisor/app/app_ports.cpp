// An app's instances and their ports: built from its definition, each service instance on the
// port its (app, process, instance) hashes to, unless another app or a foreign process holds it;
// and the snapshot the proxy reads, published anew whenever a port moves.
#include <fmt/format.h>

#include "supervisor/app/app_impl.hpp"
#include "supervisor/app/ports.hpp"
#include "supervisor/app/process_host.hpp"

namespace rp {

void App::Impl::build_instances() {
  release_ports();
  ++boot;  // a readiness round under way asks about instances that are gone
  tasks.clear();
  services.clear();
  int color = 0;
  auto add = [&](const ProcessSpec& spec, std::vector<std::unique_ptr<Instance>>& into) {
    for (int n = 1; n <= spec.count; ++n) {
      into.push_back(std::make_unique<Instance>(io, spec, n, color));
    }
    ++color;
  };
  for (const auto& t : project.tasks) add(t, tasks);
  for (const auto& s : project.services) add(s, services);
  for (auto& inst : services) {
    int port = preferred_port(project.name, inst->spec.name, inst->number, ctx.port_range);
    if (ctx.ports_in_use.contains(port)) port = next_port(*inst, port);
    inst->status->port = port;
    ctx.ports_in_use.insert(port);
  }
  for (auto& inst : tasks) inst->status->port = 0;
  publish();
}

int App::Impl::next_port(const Instance& inst, int taken) {
  auto port = assign_port(project.name, inst.spec.name, inst.number, ctx.port_range,
                          ctx.ports_in_use, [this](int p) { return ctx.processes.port_free(p); });
  return port ? *port : taken;
}

void App::Impl::release_ports() {
  for (auto& inst : services) ctx.ports_in_use.erase(inst->status->port);
}

// Ports stay what they were unless something else took one since: then the instance moves, and
// the holder is named where /proc shows it.
void App::Impl::check_ports() {
  bool moved = false;
  for (auto& inst : services) {
    const int port = inst->status->port;
    if (ctx.processes.port_free(port)) continue;
    ctx.ports_in_use.erase(port);
    int replacement = next_port(*inst, port);
    ctx.ports_in_use.insert(replacement);
    event(fmt::format("port {} of {} is held by {}; {} uses port {} this time", port, inst->label,
                      ctx.processes.port_holder(port).value_or("another process"), inst->label,
                      replacement));
    if (replacement != port) {
      // The proxy reads ports without a lock: a moved port needs a new snapshot.
      auto fresh = std::make_shared<InstanceStatus>();
      fresh->process = inst->status->process;
      fresh->label = inst->label;
      fresh->port = replacement;
      fresh->state = inst->state();
      inst->status = fresh;
      moved = true;
    }
  }
  if (moved) publish();
}

void App::Impl::publish() {
  auto app = std::make_shared<AppStatus>();
  app->name = project.name;
  app->aliases = project.aliases;
  app->web = project.web;
  app->https_redirect = project.https_redirect;
  app->boot_page = project.boot_page;
  app->logs_url = ctx.url_of("rp") + "/#logs=" + project.name;
  for (auto& inst : services) app->instances.push_back(inst->status);
  app->activity = activity;
  app->restart_file = restart_file().string();
  status = app;
  if (ctx.on_status_change) ctx.on_status_change();
}

}  // namespace rp
