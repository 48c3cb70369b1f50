#pragma once
// Test support: runs a coroutine to completion on a private io_context and
// returns its value (unit tests of asynchronous components).
#include <utility>  // before Asio 1.74 awaitable.hpp

#include <exception>
#include <optional>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

namespace haes::test {

template <class T>
T sync_wait(boost::asio::awaitable<T> aw) {
  boost::asio::io_context ctx;
  std::optional<T> out;
  std::exception_ptr failure;
  // A void coroutine around `aw`: co_spawn's handler would need T to be
  // default-constructible, which Result<T> is not.
  auto body = [&out](boost::asio::awaitable<T> inner) -> boost::asio::awaitable<void> {
    out.emplace(co_await std::move(inner));
  };
  boost::asio::co_spawn(ctx, body(std::move(aw)), [&](std::exception_ptr e) { failure = std::move(e); });
  ctx.run();
  if (failure) {
    std::rethrow_exception(failure);
  }
  return std::move(*out);
}

}  // namespace haes::test
