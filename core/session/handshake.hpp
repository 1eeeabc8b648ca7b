#pragma once
// PROTOCOL §5, the CONNECT / HANDSHAKE / CONNECTED exchange with one peer, as a pure state machine (beside
// keepalive and crypt_negotiation). Time and randomness are passed in; nothing here waits. Each input returns an
// `output`: the lines to send now and, when the session must ask someone before going on, one `step` (check the
// pin, ask the user, pin a new key, register with the node); the session feeds the answer back in.
// The §14 fixes that keep interop:
//  - signatures verify before anything is pinned or asked, and a HANDSHAKE from another name than the one we
//    connect to is refused;
//  - CONNECT and our HANDSHAKE are resent while pending (4 sends in the 10 s window; the original sends once);
//  - a repeated CONNECT is a retransmission: answered with the same HANDSHAKE, never a second prompt;
//  - a lost CONNECTED is answered again on a repeated HANDSHAKE;
//  - an established peer's new CONNECT (a restart, or a replay of an old one) is answered with a fresh challenge,
//    and only a CONNECTED signed over it restarts the session; unanswered within 10 s, it counts as a replay;
//  - MKCOOKIE echoes (the loaded node's address proof) are bounded per attempt.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <botan/rng.h>

#include "core/config/config.hpp"
#include "core/crypto/identity.hpp"
#include "core/crypto/public_key.hpp"
#include "core/wire/messages.hpp"

namespace mk::session {

class handshake {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  enum class phase {
    idle,                // responder: spawned for a CONNECT not yet handled
    connecting,          // initiator: CONNECT sent, waiting for HANDSHAKE
    deciding,            // responder: checking the pin / asking the user
    awaiting_connected,  // responder: HANDSHAKE sent, waiting for CONNECTED
    established,
  };

  struct settings {
    std::string my_name;
    std::string peer_address;   // ip:port, for the texts of the events
    std::string expected_user;  // we connect to this name: any other is refused (empty: anyone)
    bool preapproved = false;   // we asked for this peer (an introduction we requested): no question
  };
  handshake(crypto::identity me, settings s, time_point now);

  // A verified key on its way to being accepted: the session hands it back with the answer to a step.
  struct candidate {
    bool as_initiator = false;  // completing our CONNECT (HANDSHAKE) or accepting theirs (CONNECT)
    crypto::public_key key;
    bool known = false;  // a pin exists for the name (filled in by the pin check)
  };
  enum class step {
    none,
    check_pin,      // look the name up: blacklisted or another key pinned = the session closes; else on_pin_checked
    ask_user,       // prompt `question`; then on_answer
    pin_key,        // pin the candidate's key (trust on first use); then on_pinned
    register_peer,  // the handshake completed: register with the node; then on_registered
    restarted,      // the established peer proved a restart: end what its old run did, then register again
  };
  struct close_order {
    std::string reason_to_peer;  // DISCONNECT reason (empty: none sent)
    std::string text;            // the event's text
    bool as_error = true;
  };
  struct output {
    std::vector<std::string> lines;  // send now, in order, unencrypted
    step next = step::none;
    std::optional<candidate> cand;  // check_pin, ask_user, pin_key
    std::string question;           // ask_user
    std::optional<close_order> close;
    const char* dropped = nullptr;  // dropped an input, why (log and counters)
    bool unproven_restart = false;  // a challenge to a new CONNECT went unanswered: count it as a replay
  };

  // -- inputs ---------------------------------------------------------------------------------------------
  output start(Botan::RandomNumberGenerator& rng);  // we connect: CONNECT
  output on_cookie(const wire::cookie_msg& m, bool sealed);
  output on_connect(const wire::connect_msg& m, std::string_view raw, time_point now,
                    Botan::RandomNumberGenerator& rng);
  output on_handshake(const wire::handshake_msg& m, std::string_view raw, Botan::RandomNumberGenerator& rng);
  output on_connected(const wire::connected_msg& m, std::string_view raw);
  // The pin check passed (c.known filled in). `policy` is config::decide for the name: used only when the
  // connection is theirs and nobody asked for it.
  output on_pin_checked(candidate c, config::action policy, time_point now, Botan::RandomNumberGenerator& rng);
  output on_answer(candidate c, std::optional<bool> yes, time_point now, Botan::RandomNumberGenerator& rng);
  output on_pinned(candidate c, time_point now, Botan::RandomNumberGenerator& rng);
  void on_registered();
  // Every session tick (limits::keepalive_tick), established or not: timeout, resends, unanswered challenges.
  output on_tick(time_point now);

  // -- what the session reads -----------------------------------------------------------------------------
  phase current() const { return phase_; }
  bool established() const { return phase_ == phase::established; }
  const std::string& user() const { return user_; }  // the peer's name (claimed until established)
  const std::optional<crypto::public_key>& peer_key() const { return peer_key_; }
  bool we_initiated() const { return we_initiated_; }
  // The nonces the envelope's keys are bound to, by role: the initiator's CONNECT and the responder's HANDSHAKE.
  std::string initiator_nonce() const { return we_initiated_ ? initiator_nonce_ : their_nonce_; }
  std::string responder_nonce() const { return we_initiated_ ? their_nonce_ : our_nonce_; }

 private:
  output accept(candidate c, time_point now, Botan::RandomNumberGenerator& rng);
  output restart_challenge(const wire::connect_msg& m, std::string_view raw, time_point now,
                           Botan::RandomNumberGenerator& rng);
  std::string connected_line(Botan::RandomNumberGenerator& rng) const;
  std::string handshake_line(const std::string& nonce, const std::string& peer_nonce,
                             Botan::RandomNumberGenerator& rng) const;
  bool seen(const std::string& nonce);
  static output close(std::string reason_to_peer, std::string text, bool as_error);
  static output drop(const char* why);

  crypto::identity me_;
  settings s_;
  phase phase_ = phase::idle;
  time_point started_;  // the 10 s window (§5): from the session's start, and again from our HANDSHAKE
  int ticks_ = 0;       // session ticks so far: resends fall on every limits::crypt_resend worth of them

  std::string user_;
  std::optional<crypto::public_key> peer_key_;
  std::string our_nonce_;        // nonceA as initiator, nonceB as responder
  std::string initiator_nonce_;  // nonceA, kept while switching roles (simultaneous connect)
  std::string their_nonce_;
  std::vector<std::string> seen_connects_;  // nonces of the CONNECTs this peer sent (bounded)
  std::string connect_line_;    // our CONNECT, resent while pending
  std::string handshake_line_;  // our HANDSHAKE, resent on a repeated CONNECT and by the timer
  int sends_ = 0;               // CONNECT or HANDSHAKE sends in this attempt
  int cookie_echoes_ = 0;       // MKCOOKIEs answered in this attempt
  bool we_initiated_ = false;   // whose CONNECT made the session: the envelope's keys are bound to the roles
  bool completing_ = false;     // verified and being registered: repeats of its last line wait

  // Restart: our HANDSHAKE to an established peer's new CONNECT; only its CONNECTED restarts.
  std::string restart_nonce_;
  std::string restart_their_nonce_;
  time_point restart_asked_{};
};

}  // namespace mk::session
