// The boot page: a browser that navigates to a sleeping app and is not answered within a second
// gets a page that shows the app's output as it starts and turns into the app once it is ready
// (or shows the failure), instead of a blank wait. Fetches, curl and API clients are held until
// the boot ends, as before. `boot_page: false` in rp.yaml turns it off (README, "The boot page").
//
// The page asks again with the header X-Rp-Boot: while the app is not ready, rp answers that
// itself with the state and the output so far (boot_progress); once it is, the request goes to
// the app like any other, and the page, seeing an answer without X-Rp-Boot-State, reloads.
#pragma once

#include <chrono>
#include <string_view>

#include "proxy/error_pages.hpp"
#include "proxy/http/parser.hpp"

namespace rp::proxy {

// How long a navigation waits for the boot before it is shown the boot page.
constexpr std::chrono::milliseconds kBootPageAfter{1000};

// Whether `request` is a browser's navigation that may be shown the boot page: a GET with
// `Sec-Fetch-Mode: navigate`, or without Sec-Fetch-Mode (an older browser) and preferring HTML.
bool is_navigation(const http::Head& request, bool html);

// Whether `request` is the boot page asking how the boot goes.
bool is_boot_poll(const http::Head& request);

// The page, for `app`, with its output so far. Served with status 503 and no-store.
Page boot_page(const AppStatus& app);

// The boot page's question answered: {"state": "starting"|"stopping"|"failed"|"stopped",
// "log": ["web.1 | ...", ...]}, with the header X-Rp-Boot-State.
Page boot_progress(const AppStatus& app);

}  // namespace rp::proxy
