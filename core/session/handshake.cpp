#include "core/session/handshake.hpp"

#include <algorithm>

#include "core/crypto/random.hpp"
#include "core/limits.hpp"
#include "core/session/signature.hpp"

namespace mk::session {

namespace {

// Resends share the CRYPT resend period (§11, 2 s), counted in session ticks so they fall on the same ticks.
constexpr int ticks_per_resend = static_cast<int>(limits::crypt_resend / limits::keepalive_tick);
constexpr std::size_t max_seen_connects = 8;

}  // namespace

handshake::handshake(crypto::identity me, settings s, time_point now)
  : me_(std::move(me)), s_(std::move(s)), started_(now) {}

handshake::output handshake::close(std::string reason_to_peer, std::string text, bool as_error) {
  output out;
  out.close = close_order{std::move(reason_to_peer), std::move(text), as_error};
  return out;
}

handshake::output handshake::drop(const char* why) {
  output out;
  out.dropped = why;
  return out;
}

std::string handshake::connected_line(Botan::RandomNumberGenerator& rng) const {
  wire::connected_msg c{their_nonce_, {}};
  c.signature = me_.sign(wire::signed_text(c), rng);
  return wire::serialize(c);
}

std::string handshake::handshake_line(const std::string& nonce, const std::string& peer_nonce,
                                      Botan::RandomNumberGenerator& rng) const {
  wire::handshake_msg h{s_.my_name, nonce, peer_nonce, me_.public_key().base64(), {}};
  h.signature = me_.sign(wire::signed_text(h), rng);
  return wire::serialize(h);
}

// -- initiator (§5 steps 1 and 3) ---------------------------------------------------------------------------

handshake::output handshake::start(Botan::RandomNumberGenerator& rng) {
  phase_ = phase::connecting;
  our_nonce_ = crypto::make_nonce(rng);
  initiator_nonce_ = our_nonce_;
  wire::connect_msg m{s_.my_name, our_nonce_, me_.public_key().base64(), {}};
  m.signature = me_.sign(wire::signed_text(m), rng);
  connect_line_ = wire::serialize(m);
  sends_ = 1;
  output out;
  out.lines.push_back(connect_line_);
  return out;
}

// The node we connect to is under load and asks us to prove our address (core/crypto/connect_cookie.hpp): echo
// its cookie, then our CONNECT again. Unauthenticated, so bounded: a forger can make us resend our CONNECT to
// the node we are connecting to a few times, nothing more.
handshake::output handshake::on_cookie(const wire::cookie_msg& m, bool sealed) {
  if (sealed || phase_ != phase::connecting || connect_line_.empty() || cookie_echoes_ >= limits::max_cookie_echoes)
    return drop("MKCOOKIE out of place");
  ++cookie_echoes_;
  output out;
  out.lines = {wire::serialize(m), connect_line_};
  return out;
}

handshake::output handshake::on_handshake(const wire::handshake_msg& m, std::string_view raw,
                                          Botan::RandomNumberGenerator& rng) {
  if (initiator_nonce_.empty() || m.peer_nonce != initiator_nonce_)
    return drop("HANDSHAKE for a nonce we did not send");
  output out;
  if (phase_ == phase::established) {
    if (m.username == user_ && m.nonce == their_nonce_)
      out.lines.push_back(connected_line(rng));  // our CONNECTED was lost: answer the repeat
    return out;
  }
  if (completing_)
    return out;  // a repeated HANDSHAKE while its pin and registration are in flight
  // §14 FIX: verify the signature BEFORE pinning, and check the name we expected.
  auto key = crypto::public_key::from_base64(m.pubkey);
  if (!key)
    return drop("HANDSHAKE with an unusable key");
  if (!verify_signed(*key, raw))
    return drop("HANDSHAKE with a bad signature");
  if (!s_.expected_user.empty() && m.username != s_.expected_user) {
    std::string text = "Refused ";
    text += s_.peer_address + ": it answered as \"" + m.username + "\", expected \"" + s_.expected_user + "\"";
    return close("authentication error", std::move(text), true);
  }
  user_ = m.username;
  their_nonce_ = m.nonce;
  we_initiated_ = true;
  completing_ = true;
  // We asked for this connection ourselves: accepting it is ours to do, so an unknown key is pinned then.
  out.next = step::check_pin;
  out.cand = candidate{true, std::move(*key), false};
  return out;
}

// -- responder (§5 steps 2 and 4) ---------------------------------------------------------------------------

bool handshake::seen(const std::string& nonce) {
  if (std::find(seen_connects_.begin(), seen_connects_.end(), nonce) != seen_connects_.end())
    return true;
  if (seen_connects_.size() >= max_seen_connects)
    seen_connects_.erase(seen_connects_.begin());
  seen_connects_.push_back(nonce);
  return false;
}

handshake::output handshake::on_connect(const wire::connect_msg& m, std::string_view raw, time_point now,
                                        Botan::RandomNumberGenerator& rng) {
  output out;
  // A CONNECT we have seen before is a retransmission (ours are repeated while pending): never a restart.
  if (seen(m.nonce)) {
    if (phase_ == phase::awaiting_connected && m.nonce == their_nonce_ && m.username == user_)
      out.lines.push_back(handshake_line_);  // our HANDSHAKE may have been lost: answer again, no new prompt
    return out;
  }
  // Simultaneous connect: both sides sent CONNECT. The larger nonce stays initiator; the other answers.
  // (We keep our nonce so a HANDSHAKE to our own CONNECT still completes; the first to finish wins.)
  if (phase_ == phase::connecting && !initiator_nonce_.empty() && our_nonce_ > m.nonce)
    return out;
  if (phase_ == phase::deciding)
    return out;  // already checking this peer
  if (!s_.expected_user.empty() && m.username != s_.expected_user)
    return drop("CONNECT from another user than the one we are connecting to");
  if (phase_ == phase::established)
    return restart_challenge(m, raw, now, rng);
  auto key = crypto::public_key::from_base64(m.pubkey);
  if (!key)
    return close("authentication error", "Refused " + s_.peer_address + ": unusable key", true);
  if (!verify_signed(*key, raw)) {  // §14 FIX: before anything is pinned or asked
    std::string text = "Refused ";
    text += s_.peer_address + " claiming \"" + m.username + "\": bad signature";
    return close("authentication error", std::move(text), true);
  }
  user_ = m.username;
  their_nonce_ = m.nonce;
  phase_ = phase::deciding;
  out.next = step::check_pin;
  out.cand = candidate{false, std::move(*key), false};
  return out;
}

// The peer may have restarted (same endpoint, same name, its pinned key) — or someone replays its CONNECT of an
// earlier session. Answer, but change nothing: only a CONNECTED to this HANDSHAKE's fresh nonce, which a
// replayer cannot sign, proves a restart (on_connected).
handshake::output handshake::restart_challenge(const wire::connect_msg& m, std::string_view raw, time_point now,
                                               Botan::RandomNumberGenerator& rng) {
  if (m.username != user_ || !peer_key_ || m.pubkey != peer_key_->base64() || !verify_signed(*peer_key_, raw))
    return drop("CONNECT from an established peer");
  output out;
  out.unproven_restart = !restart_nonce_.empty();  // the previous challenge was never answered
  restart_nonce_ = crypto::make_nonce(rng);
  restart_asked_ = now;
  restart_their_nonce_ = m.nonce;
  out.lines.push_back(handshake_line(restart_nonce_, m.nonce, rng));
  return out;
}

handshake::output handshake::on_connected(const wire::connected_msg& m, std::string_view raw) {
  output out;
  if (phase_ == phase::established && !restart_nonce_.empty() && m.nonce == restart_nonce_) {
    if (!verify_signed(*peer_key_, raw))
      return drop("CONNECTED with a wrong signature");
    // The peer really restarted: a new session with it on the same address, as responder this time.
    our_nonce_ = std::exchange(restart_nonce_, {});
    their_nonce_ = std::exchange(restart_their_nonce_, {});
    initiator_nonce_.clear();
    we_initiated_ = false;
    out.next = step::restarted;
    return out;
  }
  if (phase_ != phase::awaiting_connected)
    return drop("CONNECTED without our HANDSHAKE");
  if (completing_)
    return out;  // a repeated CONNECTED (it answers our repeated HANDSHAKE) while the first one registers
  if (m.nonce != our_nonce_ || !verify_signed(*peer_key_, raw))
    return drop("CONNECTED with a wrong nonce or signature");  // §5: dropped silently
  completing_ = true;
  out.next = step::register_peer;
  return out;
}

// -- accepting a verified key -------------------------------------------------------------------------------

handshake::output handshake::on_pin_checked(candidate c, config::action policy, time_point now,
                                            Botan::RandomNumberGenerator& rng) {
  // We asked for this peer ourselves (our CONNECT, a simultaneous connect, an introduction we requested): no
  // question. Otherwise the policy, or the user. Pinned only once accepted: a refused or unanswered stranger
  // leaves no trace in known_users.toml, so nobody can squat a name by being refused.
  bool we_asked = c.as_initiator || s_.preapproved || !initiator_nonce_.empty();
  if (we_asked || policy == config::action::accept)
    return accept(std::move(c), now, rng);
  if (policy == config::action::refuse)
    return close("connection refused", "Refused connection from \"" + user_ + "\" (" + s_.peer_address + ")",
                 false);
  output out;
  out.next = step::ask_user;
  out.question = "User \"" + user_ + "\" (" + s_.peer_address + ") requested to connect, accept? (y/n)";
  out.cand = std::move(c);
  return out;
}

handshake::output handshake::on_answer(candidate c, std::optional<bool> yes, time_point now,
                                       Botan::RandomNumberGenerator& rng) {
  if (!yes)
    return close("connection refused", "No answer: refused \"" + user_ + "\"", false);
  if (!*yes)
    return close("connection refused", "Refused connection from \"" + user_ + "\"", false);
  return accept(std::move(c), now, rng);
}

handshake::output handshake::on_pinned(candidate c, time_point now, Botan::RandomNumberGenerator& rng) {
  c.known = true;
  return accept(std::move(c), now, rng);
}

// Accepted: an unknown key is pinned first (trust on first use, §3), then our CONNECTED or HANDSHAKE goes out.
handshake::output handshake::accept(candidate c, time_point now, Botan::RandomNumberGenerator& rng) {
  output out;
  if (!c.known) {
    out.next = step::pin_key;
    out.cand = std::move(c);
    return out;
  }
  peer_key_ = std::move(c.key);
  if (c.as_initiator) {
    out.lines.push_back(connected_line(rng));
    out.next = step::register_peer;
    return out;
  }
  our_nonce_ = crypto::make_nonce(rng);
  handshake_line_ = handshake_line(our_nonce_, their_nonce_, rng);
  sends_ = 1;
  phase_ = phase::awaiting_connected;
  started_ = now;
  out.lines.push_back(handshake_line_);
  return out;
}

void handshake::on_registered() {
  phase_ = phase::established;
  completing_ = false;
}

handshake::output handshake::on_tick(time_point now) {
  ++ticks_;
  output out;
  if (phase_ != phase::established) {
    if (now - started_ > limits::handshake_timeout)
      return close({}, "Connection with " + s_.peer_address + " timed out", true);
    // FIX §14: CONNECT (and our HANDSHAKE) are retransmitted while pending; the original sends them once.
    if (ticks_ % ticks_per_resend == 0 && sends_ < limits::connect_attempts) {
      if (phase_ == phase::connecting && !connect_line_.empty()) {
        ++sends_;
        out.lines.push_back(connect_line_);
      } else if (phase_ == phase::awaiting_connected) {
        ++sends_;
        out.lines.push_back(handshake_line_);
      }
    }
    return out;
  }
  if (!restart_nonce_.empty() && now - restart_asked_ > limits::handshake_timeout) {
    restart_nonce_.clear();
    restart_their_nonce_.clear();
    out.unproven_restart = true;
  }
  return out;
}

}  // namespace mk::session
