#pragma once
// Result<T>: a value or an Error, for expected failures on any path where an
// exception would be wrong (STYLE.md §8). Error carries a typed code (one
// name table: common/enum_names.hpp; its name is what tests, metrics, JSON
// replies and haesctl see) and a message written for an operator.

#include <cassert>
#include <string>
#include <utility>
#include <variant>

#include "common/enum_names.hpp"

namespace haes {

// Every way an operation can fail that a caller, a metric or an operator
// tells apart. Grouped by who raises them; the names are stable (replies,
// journal, tests).
#define HAES_ERROR_CODE_LIST(X)                                                        \
  /* state store */                                                                    \
  X(kConflict, "conflict") /* CAS lost: someone else wrote first */                    \
  X(kCorrupt, "corrupt")   /* stored bytes unusable: refuse to guess */                \
  X(kIoError, "io_error")                                                              \
  X(kLocked, "locked")          /* another agent holds the local state file */         \
  X(kStoreError, "store_error") /* a change could not be persisted */                  \
  X(kStoreUnreachable, "store_unreachable")                                            \
  X(kNotLeader, "not_leader") /* the change must run on the leader */                  \
  X(kStale, "stale")          /* this agent's view of the store is too old */          \
  /* Elasticsearch transport (es::NodeClient, ClusterClient) */                        \
  X(kConnect, "connect")                                                               \
  X(kTimeout, "timeout")                                                               \
  X(kTls, "tls")                                                                       \
  X(kTooLarge, "too_large")                                                            \
  X(kBadResponse, "bad_response")                                                      \
  X(kBadRequest, "bad_request")                                                        \
  X(kUnreachable, "unreachable") /* no node of the cluster answered */                 \
  X(kEsError, "es_error")        /* an HTTP error answer from Elasticsearch */         \
  X(kCancelled, "cancelled")     /* the client was shut down: the agent is stopping */ \
  /* start-up settings */                                                              \
  X(kConfig, "config")                                                                 \
  X(kTlsConfig, "tls_config")                                                          \
  X(kSecretUnreadable, "secret_unreadable")                                            \
  X(kSecretEmpty, "secret_empty")                                                      \
  X(kSecretUnset, "secret_unset")                                                      \
  X(kSecretInvalid, "secret_invalid")                                                  \
  X(kListen, "listen")                                                                 \
  X(kInUse, "in_use")                                                                  \
  X(kExists, "exists")                                                                 \
  /* admin commands */                                                                 \
  X(kUsage, "usage") /* bad command line: haesctl exits 2 */                           \
  X(kInternal, "internal")                                                             \
  X(kBusy, "busy")                                                                     \
  X(kSyncOff, "sync_off")                                                              \
  X(kForbidden, "forbidden")                                                           \
  /* controller refusals */                                                            \
  X(kAlreadyActive, "already_active")                                                  \
  X(kUnhealthyTarget, "unhealthy_target")                                              \
  X(kNoHealthYet, "no_health_yet")                                                     \
  X(kNotReady, "not_ready") /* the target failed passive readiness (--force) */        \
  /* snapshot sync */                                                                  \
  X(kRolesChanged, "roles_changed")                                                    \
  X(kSyncHeld, "sync_held")                                                            \
  X(kNotPermitted, "not_permitted") /* automatic work refused by MayRunNow */          \
  X(kNoActive, "no_active")                                                            \
  X(kSourceUnhealthy, "source_unhealthy")                                              \
  X(kTargetUnhealthy, "target_unhealthy")                                              \
  X(kNeverSynced, "never_synced")                                                      \
  X(kTargetActive, "target_active")                                                    \
  X(kVerifyFailed, "verify_failed")                                                    \
  X(kSnapshotPartial, "snapshot_partial")                                              \
  X(kSnapshotFailed, "snapshot_failed")                                                \
  X(kRestoreFailed, "restore_failed")                                                  \
  X(kRestoreUnusable, "restore_unusable")                                              \
  X(kCopyFailed, "copy_failed") /* rsync between two repositories */                   \
  X(kRepositoryDisabled, "repository_disabled")                                        \
  /* cross-cluster replication (agent/ccr) */                                          \
  X(kPromotionFailed, "promotion_failed")                                              \
  X(kCcrOff, "ccr_off")
HAES_ENUM(ErrorCode, uint8_t, "code", HAES_ERROR_CODE_LIST)

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;  // one line, says what was wrong and, where known, what to do
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }

  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Error> v_;
};

struct Ok {};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Ok) {}                                                  // NOLINT
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace haes
