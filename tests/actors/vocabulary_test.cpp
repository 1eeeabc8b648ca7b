// The message vocabulary (actors/messages.hpp) and the small shared rules next to it: every atom a distinct value
// (CAF 0.17 dispatches on the value, so two names with one value would meet in the same handler), the names of
// prompt kinds and key operations, one host:port -> endpoint rule, grouping a batch by target actor.
#include <doctest/doctest.h>

#include <set>

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "actors/per_actor.hpp"
#include "cli/vocabulary.hpp"

using namespace mk;

// The three lists of a `mokaccino` process: the node's (actors/messages.hpp), the public API's
// (include/mokaccino/types.hpp, used in messages.hpp by name) and the terminal's own (cli/vocabulary.hpp).
TEST_CASE("vocabulary: no two atoms of the process share a value") {
  const std::vector<caf::atom_value> all = {
    datagram_atom::value, peer_lines_atom::value, send_to_atom::value, send_batch_to_atom::value,
    route_atom::value, bound_atom::value, established_atom::value, initiate_atom::value, close_atom::value,
    quit_now_atom::value, prompt_due_atom::value, tick_atom::value, intro_atom::value, mokaccino_peer_atom::value,
    key_get_atom::value, key_pin_atom::value, key_info_atom::value, key_envelope_atom::value, key_set_atom::value,
    key_del_atom::value, key_list_atom::value, connect_host_atom::value, connect_name_atom::value,
    disconnect_atom::value, msg_atom::value, encrypt_atom::value, user_list_atom::value, user_info_atom::value,
    key_cmd_atom::value, stats_atom::value, answer_atom::value, subscribe_atom::value, shutdown_atom::value,
    info_atom::value, prompt_atom::value, send_line_atom::value, send_lines_atom::value, peer_msg_atom::value,
    peer_gone_atom::value, peer_ready_atom::value, session_of_atom::value, peer_caps_atom::value,
    path_budget_atom::value, path_suspect_atom::value, xfer_report_atom::value, xfer_final_atom::value,
    xfer_prepare_atom::value, xfer_hashed_atom::value, xfer_hash_atom::value, xfer_prefix_atom::value,
    xfer_content_atom::value, xfer_partial_atom::value, xfer_rehash_atom::value, xfer_verified_atom::value,
    folder_file_atom::value, xfer_offer_atom::value, xfer_open_atom::value, audio_probe_atom::value, file_send_atom::value, file_list_atom::value,
    file_cancel_atom::value, voice_start_atom::value, voice_stop_atom::value, voice_devices_atom::value,
    event_atom::value, auth_atom::value, cli::line_atom::value, cli::eof_atom::value,
    cli::interrupt_atom::value, cli::wake_atom::value, cli::force_quit_atom::value,
  };
  std::set<caf::atom_value> distinct(all.begin(), all.end());
  CHECK(distinct.size() == all.size());
  // The old names are the new atoms (kept for the transfer actors), not a second meaning.
  CHECK(send_line_atom::value == send_line_atom::value);
  CHECK(send_lines_atom::value == send_lines_atom::value);
}

TEST_CASE("vocabulary: prompt kinds and key operations by name") {
  for (auto k : {prompt_kind::connect, prompt_kind::file, prompt_kind::call})
    CHECK(prompt_kind_of(to_string(k)) == k);
  CHECK(std::string{to_string(prompt_kind::file)} == "file");  // the prompt event's "kind" field
  CHECK_FALSE(prompt_kind_of("voice"));
  CHECK(key_op_of("show") == key_op::show);
  CHECK(key_op_of("add") == key_op::add);
  CHECK(key_op_of("delete") == key_op::remove);
  CHECK_FALSE(key_op_of("remove"));
}

TEST_CASE("endpoint numeric: IPv4 and IPv6 literals with a port, names are not resolved") {
  CHECK(endpoint::numeric("127.0.0.1", 23232)->to_string() == "127.0.0.1:23232");
  CHECK(endpoint::numeric("::1", 5)->to_string() == "[::1]:5");
  CHECK(endpoint::numeric("[::1]", 5)->to_string() == "[::1]:5");
  CHECK_FALSE(endpoint::numeric("localhost", 5));
  CHECK_FALSE(endpoint::numeric("", 5));
}

namespace {
// (An argument: CAF 0.17 dereferences a null argument tuple for a function actor spawned with none, UBSan.)
caf::behavior idle(caf::event_based_actor*, int) { return {[](int) {}}; }
}  // namespace

TEST_CASE("per_actor: a batch is grouped by target in first-seen order, each share in arrival order") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto a = sys.spawn(idle, 1), b = sys.spawn(idle, 2);
  per_actor<int> groups;
  share_of(groups, b).push_back(1);
  share_of(groups, a).push_back(2);
  share_of(groups, b).push_back(3);
  REQUIRE(groups.size() == 2);
  CHECK(groups[0].first == b);
  CHECK(groups[0].second == std::vector<int>{1, 3});
  CHECK(groups[1].first == a);
  CHECK(groups[1].second == std::vector<int>{2});
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
}
