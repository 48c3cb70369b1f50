#include "ccr/commands.hpp"

#include <spdlog/spdlog.h>

namespace haes {

void register_ccr_commands(admin::CommandTable& table, CcrService* service, const admin::ToLeader& on_leader) {
  admin::CommandSpec spec{
      {"ccr", "refollow"},
      "ccr refollow [--dry-run] [--no-snapshot]",
      "make the passive cluster's indices of the patterns followers of the active one again: snapshot them "
      "(sync.repository.name), delete them, follow (a full re-copy)",
      {admin::FlagSpec{"--dry-run", false, "list the indices it would delete, change nothing"},
       admin::FlagSpec{"--no-snapshot", false,
                       "delete without a snapshot first (their post-failover writes are lost)"}},
      0,
      true,
      nullptr};
  CcrService* s = service;
  spec.async_handler = [s, on_leader](admin::Args a, admin::Peer p) -> boost::asio::awaitable<admin::Reply> {
    if (s == nullptr) {
      co_return admin::Reply::error(ErrorCode::kCcrOff, "CCR mode is not configured (sync.mode: ccr; docs/ccr.md)");
    }
    const bool dry = a.has("--dry-run");
    const bool no_snapshot = a.has("--no-snapshot");
    const std::string actor = p.actor();
    if (on_leader) {
      std::string line = "ccr refollow";
      line += dry ? " --dry-run" : "";
      line += no_snapshot ? " --no-snapshot" : "";
      if (auto fwd = co_await on_leader(line, p)) {
        co_return *fwd;
      }
    }
    spdlog::info("admin: {} ran 'ccr refollow{}{}'", actor, dry ? " --dry-run" : "",
                 no_snapshot ? " --no-snapshot" : "");
    auto r = co_await s->refollow(dry, no_snapshot, actor);
    if (!r) {
      co_return admin::Reply::error(r.error().code, r.error().message);
    }
    admin::Reply reply;
    reply.text = *r;
    reply.json = {{"ok", true}, {"dry_run", dry}, {"reply", *r}};
    co_return reply;
  };
  table.add(std::move(spec));
}

}  // namespace haes
