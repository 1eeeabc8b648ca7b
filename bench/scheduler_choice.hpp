#pragma once
// Both benchmarks run their nodes under the scheduler the CLI node uses (mokaccino::configure_scheduler:
// work sharing), or with --stealing under CAF's default work-stealing policy, tuned as STACK-NOTES §2 says
// (no moderate polling), to compare the two.

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>

#include "mokaccino/node.hpp"

inline void configure_bench_scheduler(caf::actor_system_config& cfg, bool stealing) {
  mokaccino::configure_scheduler(cfg);
  if (stealing) {
    cfg.set("scheduler.policy", caf::atom("stealing"));
    cfg.set("work-stealing.moderate-poll-attempts", std::size_t{0});
  }
}
