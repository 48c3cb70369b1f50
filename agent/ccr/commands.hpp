#pragma once
// The CCR mode's admin command (docs/admin.md): `ccr refollow [--dry-run]
// [--no-snapshot]`. Outside CCR mode it answers ccr_off.
#include "admin/command_table.hpp"
#include "ccr/service.hpp"

namespace haes {

// Adds the ccr commands to `table` (before seal()); `service` (null outside
// CCR mode) outlives it. `on_leader` (several agents; empty with one): the
// command runs on the leader, as the planned moves do (docs/admin.md).
void register_ccr_commands(admin::CommandTable& table, CcrService* service, const admin::ToLeader& on_leader);

}  // namespace haes
