#pragma once
// The first state of a start, written through the pipeline like every other
// change: the store is read, the controller decides (the stored state, or on
// a store that was never initialised the preferred cluster active), the
// decision is applied (stored, journaled, published).

#include <utility>  // before Asio 1.74 awaitable.hpp, which uses std::exchange without it

#include <chrono>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "common/result.hpp"
#include "controller/controller.hpp"
#include "transitions/pipeline.hpp"

namespace haes {

// One agent. Returns the controller's reply ("started: dc1 active ..."), or
// an error for operators that names the store and what to do: an unreadable
// or corrupt store (the agent refuses to guess roles), a stored state the
// config cannot hold, a failed first write.
boost::asio::awaitable<Result<std::string>> start_local_state(TransitionPipeline& pipeline,
                                                              const FailoverController& controller);

// Several agents (the shared store). Reads until the store answers (every
// `retry`); when the store holds no state, this agent's first state competes
// in the compare-and-swap: on a conflict another agent created it, and it
// is read again and adopted. This agent's start is journaled with `agent`
// as the actor. Errors: the controller refuses the stored state (it names a
// cluster this config does not know), or the store failed `attempts` times.
boost::asio::awaitable<Result<std::string>> start_shared_state(TransitionPipeline& pipeline,
                                                               const FailoverController& controller, std::string agent,
                                                               std::chrono::milliseconds retry, int attempts = 100);

}  // namespace haes
