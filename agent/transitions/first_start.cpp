#include "transitions/first_start.hpp"

#include <utility>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "common/time.hpp"

namespace haes {
namespace {

boost::asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, d);
  boost::system::error_code ec;
  co_await t.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
}

}  // namespace

boost::asio::awaitable<Result<std::string>> start_local_state(TransitionPipeline& pipeline,
                                                              const FailoverController& controller) {
  const std::string store = "state store " + pipeline.store().describe() + ": ";
  auto loaded = co_await pipeline.load();
  if (!loaded) {
    co_return Error{loaded.error().code,
                    store + loaded.error().message +
                        " — the agent refuses to guess roles; restore the file from a backup or, if you know which "
                        "cluster is active, move it aside and start with preferred set to it"};
  }
  auto decision = controller.on_start(*loaded, now_sys());
  if (!decision) {
    co_return Error{decision.error().code, store + decision.error().message};
  }
  if (loaded->has_value()) {
    pipeline.adopt(**loaded);
  }
  if (auto r = co_await pipeline.apply(*decision); !r) {
    co_return Error{r.error().code, store + "cannot write the first state: " + r.error().message};
  }
  co_return decision->reply;
}

boost::asio::awaitable<Result<std::string>> start_shared_state(TransitionPipeline& pipeline,
                                                               const FailoverController& controller, std::string agent,
                                                               std::chrono::milliseconds retry, int attempts) {
  const std::string store = "state store " + pipeline.store().describe() + ": ";
  Error last{ErrorCode::kStoreUnreachable, "not tried"};
  for (int attempt = 0; attempt < attempts; ++attempt) {
    auto loaded = co_await pipeline.load();
    if (!loaded) {
      last = loaded.error();
      spdlog::warn("{}{} (retrying)", store, last.message);
      co_await sleep_for(retry);
      continue;
    }
    auto decision = controller.on_start(*loaded, now_sys());
    if (!decision) {
      co_return Error{decision.error().code, store + decision.error().message};
    }
    for (auto& e : decision->events) {
      e.actor = "agent " + agent;
    }
    if (loaded->has_value()) {
      pipeline.adopt(**loaded);
    }
    auto r = co_await pipeline.apply(*decision);
    if (!r && r.error().code == ErrorCode::kConflict) {
      continue;  // another agent created the first state: read it again
    }
    if (!r) {
      last = r.error();
      spdlog::warn("{}{} (retrying)", store, last.message);
      co_await sleep_for(retry);
      continue;
    }
    co_return "agent " + agent + ": " + decision->reply;
  }
  co_return Error{last.code, store + "gave up after " + std::to_string(attempts) + " attempts: " + last.message};
}

}  // namespace haes
