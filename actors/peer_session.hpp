#pragma once
// The peer session actor: one per remote endpoint. It runs the handshake (§5) as initiator or responder, pins
// and checks keys, keeps the peer alive (§6), negotiates and applies encryption (§11), carries text (§8) and the
// introduction messages (§7), and reports everything to the node as events.
//
// Messages it handles (see messages.hpp):
//   (initiate_atom)                    initiator: send CONNECT (retransmitted until answered)
//   (route_atom, std::string line)     the first line from its endpoint (a responder's CONNECT, via the node)
//   (peer_lines_atom, std::vector<std::string> lines)  the received lines (datagrams without LF) of one socket
//                                      wake-up from its endpoint, sent by the socket (or the node) via session_table
//   (send_line_atom, std::string line) send a protocol line built by the node (REQUEST, KEY, REQUESTED, FAIL) or a
//                                      service; (send_lines_atom, std::vector<std::string>) several
//   (msg_atom, std::string text)       -> command_reply
//   (encrypt_atom, bool on)            -> command_reply
//   (info_atom)                        -> peer_info
//   (close_atom, std::string reason)   send DISCONNECT <reason> and end
//   (tick_atom)                        internal 500 ms timer

#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "actors/endpoint.hpp"
#include "actors/node_context.hpp"

namespace mk {

enum class session_role { initiator, responder };

struct session_options {
  endpoint peer;
  session_role role = session_role::responder;
  std::string expected_user;  // initiator: the name we expect in HANDSHAKE ("" = whoever answers)
  bool preapproved = false;   // responder: skip the accept policy (we asked for this peer, §7)
  bool first_verify_paid = false;  // responder: the node took the node-wide budget's token for its first CONNECT
};

caf::actor spawn_peer_session(caf::actor_system& sys, std::shared_ptr<const node_context> ctx,
                              session_options opts);

}  // namespace mk
