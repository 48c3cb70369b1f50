#include "http/agent_check_server.hpp"

#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace haes {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;

namespace {

// A reason as one agent-check word list: no newline, no '#'.
std::string clean(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '#') {
      c = ' ';
    }
  }
  return s;
}

}  // namespace

std::string agent_check_reply(const Verdict& v, std::string_view request, std::string_view local_node,
                              HealthCounters* counters) {
  while (!request.empty() && (request.back() == '\n' || request.back() == '\r' ||
                              request.back() == ' ')) {
    request.remove_suffix(1);
  }
  while (!request.empty() && request.front() == ' ') {
    request.remove_prefix(1);
  }
  std::string_view who = request.empty() ? local_node : request;
  if (who.empty()) {
    return "down #no node named: set agent-send \"cluster/node\\n\" on the server line\n";
  }
  size_t sep = who.find_first_of("/ ");
  std::string_view cluster = who.substr(0, sep);
  std::string_view node = sep == std::string_view::npos ? std::string_view() : who.substr(sep + 1);
  NodeAnswer a = answer_for(v, cluster, node);
  switch (a.kind) {
    case NodeAnswer::kUp:
      if (counters) counters->agentcheck_up++;
      return "up ready\n";
    case NodeAnswer::kFenced:
      if (counters) counters->agentcheck_maint++;
      return "maint #" + clean(a.text) + "\n";
    case NodeAnswer::kDown:
      if (counters) counters->agentcheck_down++;
      return "down ready #" + clean(a.text) + "\n";
    case NodeAnswer::kUnknown:
      if (counters) counters->agentcheck_down++;
      return "down #" + clean(a.text) + "\n";
  }
  return "down\n";
}

AgentCheckServer::AgentCheckServer(asio::io_context& ctx, AgentCheckOptions options,
                                   const VerdictView& view, HealthCounters& counters)
    : ctx_(ctx), options_(std::move(options)), view_(view), counters_(counters), acceptor_(ctx) {}

void AgentCheckServer::start() {
  asio::ip::tcp::endpoint ep(asio::ip::make_address(options_.listen.host), options_.listen.port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen();
  port_ = acceptor_.local_endpoint().port();
  asio::co_spawn(ctx_, accept_loop(), asio::detached);
}

void AgentCheckServer::stop() {
  boost::system::error_code ec;
  acceptor_.close(ec);
}

awaitable<void> AgentCheckServer::accept_loop() {
  boost::system::error_code ec;
  while (acceptor_.is_open()) {
    asio::ip::tcp::socket socket =
        co_await acceptor_.async_accept(asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (!acceptor_.is_open()) {
        co_return;
      }
      continue;
    }
    if (connections_ >= options_.max_connections) {
      socket.close(ec);
      continue;
    }
    asio::co_spawn(ctx_, serve(std::move(socket)), asio::detached);
  }
}

awaitable<void> AgentCheckServer::serve(asio::ip::tcp::socket socket) {
  ++connections_;
  // Read what HAProxy sends (its agent-send string, if any) until a newline
  // or until send_wait passes: the timer closes the read side by cancelling.
  asio::steady_timer wait(socket.get_executor());
  wait.expires_after(options_.send_wait);
  bool timed_out = false;
  wait.async_wait([&](const boost::system::error_code& ec) {
    if (!ec) {
      timed_out = true;
      boost::system::error_code ignore;
      socket.cancel(ignore);
    }
  });
  std::string line;
  char chunk[512];
  boost::system::error_code ec;
  while (line.find('\n') == std::string::npos && line.size() < 256) {
    size_t n = co_await socket.async_read_some(asio::buffer(chunk),
                                               asio::redirect_error(use_awaitable, ec));
    if (ec) {
      break;
    }
    line.append(chunk, n);
  }
  wait.cancel();
  if (!ec || timed_out) {
    line = line.substr(0, line.find('\n'));
    std::string reply = agent_check_reply(*view_.current(), line, options_.local_node, &counters_);
    wait.expires_after(options_.send_wait * 10);
    wait.async_wait([&](const boost::system::error_code& e) {
      if (!e) {
        boost::system::error_code ignore;
        socket.close(ignore);
      }
    });
    co_await asio::async_write(socket, asio::buffer(reply), asio::redirect_error(use_awaitable, ec));
    wait.cancel();
  }
  socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket.close(ec);
  --connections_;
}

}  // namespace haes
