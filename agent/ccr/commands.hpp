#pragma once
// The CCR mode's admin command (docs/admin.md): `ccr refollow [--dry-run]
// [--no-snapshot]`. Outside CCR mode it answers ccr_off.
#include "admin/command_table.hpp"
#include "ccr/service.hpp"

namespace haes {

// Adds the ccr commands to `table` (before seal()); `service` (null outside
// CCR mode) outlives it.
void register_ccr_commands(admin::CommandTable& table, CcrService* service);

}  // namespace haes
