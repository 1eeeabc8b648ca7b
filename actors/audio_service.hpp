#pragma once
// The audio service of a node: the voice-call state machine of PROTOCOL §9 (one call at a time; AUDIOSTART /
// AUDIOACCEPT / AUDIOSTOP with network.audio whitelist / default_action / prompt; the call ends when the peer
// disconnects). A running call's audio_pipeline lives on its own media thread (call_media.hpp); this actor
// decides when it starts and stops.
//
// Messages (actors/messages.hpp): (peer_msg_atom, user, session, peer_is_mokaccino, wire::message) from sessions,
// (peer_gone_atom, user), and the commands (voice_start_atom, user), (voice_stop_atom), (voice_devices_atom),
// each answered with a command_reply. Call events go to the node as event_kind::call with a "state" field:
// calling, incoming, started, ended, refused, failed. "started" also carries "profile" (modern/legacy) and the
// steady-clock origins of capture and playback ("capture_t0_us", "playback_t0_us") so a test can measure the
// end-to-end latency; "ended" carries the call's counters.
//
// It runs detached (its own thread): a device probe never blocks a scheduler worker. It quits when the node goes.

#include <memory>

#include <caf/fwd.hpp>

namespace mk {

struct node_context;

caf::actor spawn_audio_service(caf::actor_system& sys, std::shared_ptr<node_context> ctx);

}  // namespace mk
