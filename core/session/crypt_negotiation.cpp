#include "core/session/crypt_negotiation.hpp"

#include <array>

#include "core/limits.hpp"
#include "core/session/signature.hpp"
#include "core/wire/base64.hpp"
#include "core/wire/datagram.hpp"
#include "core/wire/record.hpp"

namespace mk::session {

namespace {

std::uint64_t iv_value(std::span<const std::uint8_t> iv) {
  std::uint64_t v = 0;
  for (auto b : iv)
    v = (v << 8) | b;
  return v;
}

}  // namespace

crypt_negotiation::crypt_negotiation(crypto::identity me, crypto::public_key peer)
  : me_(std::move(me)), peer_(std::move(peer)) {}

crypt_negotiation::output crypt_negotiation::refuse(std::string why) {
  output out;
  out.problem = std::move(why);
  out.refused = true;
  return out;
}

std::string crypt_negotiation::signed_line(std::string_view keyword, const std::string& pub,
                                           Botan::RandomNumberGenerator& rng) {
  if (keyword == wire::crypt_start_msg::keyword) {
    wire::crypt_start_msg m{pub, {}};
    m.signature = me_.sign(wire::signed_text(m), rng);
    return wire::serialize(m);
  }
  wire::crypt_accept_msg m{pub, {}};
  m.signature = me_.sign(wire::signed_text(m), rng);
  return wire::serialize(m);
}

void crypt_negotiation::clear() {
  encrypting_ = false;
  eph_.reset();
  cipher_.reset();  // §14 FIX: the original keeps the key and later crashes
  last_accept_.clear();
  last_start_.clear();
  answered_start_.clear();
  iv_start_.reset();
  next_iv_.reset();
  seen_ivs_.clear();
  seen_order_.clear();
  envelope_active_ = false;
  rekey_eph_.reset();
  rekey_start_.clear();
  rekey_peer_pub_.clear();
  rekey_accept_.clear();
  channel_.reset();  // the transcript binding stays; the next key makes a fresh channel
}

void crypt_negotiation::bind_transcript(bool we_initiated, const crypto::channel_transcript& t) {
  we_initiated_ = we_initiated;
  transcript_ = t;
}

void crypt_negotiation::key_with(const crypto::agreement& a) {
  cipher_.emplace(a.legacy_key);
  iv_start_.reset();
  next_iv_.reset();
  seen_ivs_.clear();
  seen_order_.clear();
  if (transcript_) {
    if (!channel_)
      channel_.emplace(we_initiated_, *transcript_);
    channel_->reset(a.secret);  // the CRYPT exchange restarts the channel at epoch 0 (both ends agree on it)
  }
}

crypt_negotiation::output crypt_negotiation::start(Botan::RandomNumberGenerator& rng) {
  output out;
  if (eph_ || encrypting_)  // §11: only if no ephemeral key is held
    return out;
  eph_ = crypto::ephemeral_key::generate(rng);
  last_start_ = signed_line(wire::crypt_start_msg::keyword, eph_->public_base64(), rng);
  out.plaintext_lines.push_back(last_start_);
  return out;
}

crypt_negotiation::output crypt_negotiation::stop() {
  output out;
  bool was = encrypting_;
  // A peer that seals everything refuses a plaintext CRYPTSTOP (anyone could forge one): seal it, then forget the
  // key. §13.8 for the original: clear first, so CRYPTSTOP goes out in plaintext.
  if (sealing_envelopes() && envelope_active_)
    out.datagrams.push_back(seal_envelope(wire::serialize(wire::crypt_stop_msg{})));
  clear();
  if (out.datagrams.empty())
    out.plaintext_lines.push_back(wire::serialize(wire::crypt_stop_msg{}));
  if (was)
    out.encryption_changed = false;
  return out;
}

crypt_negotiation::output crypt_negotiation::on_crypt_start(const wire::crypt_start_msg& m, std::string_view raw,
                                                            bool sealed, Botan::RandomNumberGenerator& rng) {
  // §14 FIX: the original runs stop on a bad signature; a forger could switch encryption off that way.
  if (!verify_signed(peer_, raw))
    return refuse("CRYPTSTART with a bad signature dropped");
  if (encrypting_) {
    if (!sealed || !envelope_active_)
      // An original only starts again after CRYPTSTOP; while encrypted this is a replay (signatures carry no nonce).
      return refuse("plaintext CRYPTSTART while encrypted dropped");
    // In-channel rekey: answer with a fresh key for the next epoch; keep sealing with the current one until the
    // peer's first datagram of the new epoch shows it holds it too. A resent CRYPTSTART gets the same answer.
    output out;
    if (m.pubkey == rekey_peer_pub_ && !rekey_accept_.empty()) {
      out.sealed_lines.push_back(rekey_accept_);
      return out;
    }
    auto fresh = crypto::ephemeral_key::generate(rng);
    auto a = fresh.agree_full(m.pubkey);
    if (!a)
      return refuse("rekey CRYPTSTART with an unusable key: " + a.error().message);
    channel_->rekey(a->secret, false);
    rekey_peer_pub_ = m.pubkey;
    rekey_accept_ = signed_line(wire::crypt_accept_msg::keyword, fresh.public_base64(), rng);
    out.sealed_lines.push_back(rekey_accept_);
    return out;
  }
  output out;
  if (cipher_ && eph_ && !last_accept_.empty() && m.pubkey == answered_start_) {
    out.plaintext_lines.push_back(last_accept_);  // key valid, not encrypting: resend CRYPTACCEPT
    return out;
  }
  // Crossing CRYPTSTARTs (both ends start right after connecting, the usual case): §11 answers both, so each end
  // first keys with an answer of its own and only then moves to the key both end with; a DISCONNECT sent in that
  // window was refused. One negotiation runs instead: the CRYPTSTART with the greater key wins, the other end
  // answers it (and ours is still resent every 2 s). An original always answers ours, so it ends on ours too.
  if (eph_ && !cipher_ && !last_start_.empty() && eph_->public_base64() > m.pubkey)
    return out;
  // (A CRYPTSTART with another key means the peer began again: answering it with our old CRYPTACCEPT, as §11
  // says, would leave the two ends with different keys — seen with bench/peers_bench. Start fresh instead.)
  // No key yet (or the peer restarted the negotiation): fresh ephemeral key, replacing any pending one.
  auto fresh = crypto::ephemeral_key::generate(rng);
  auto a = fresh.agree_full(m.pubkey);
  if (!a)
    return refuse("CRYPTSTART with an unusable key: " + a.error().message);
  eph_ = fresh;
  key_with(*a);
  answered_start_ = m.pubkey;
  last_start_.clear();
  last_accept_ = signed_line(wire::crypt_accept_msg::keyword, eph_->public_base64(), rng);
  out.plaintext_lines.push_back(last_accept_);
  return out;
}

crypt_negotiation::output crypt_negotiation::on_crypt_accept(const wire::crypt_accept_msg& m, std::string_view raw,
                                                             bool sealed) {
  if (!verify_signed(peer_, raw))
    return refuse("CRYPTACCEPT with a bad signature dropped");
  output out;
  if (encrypting_) {
    if (sealed && rekey_eph_) {
      auto a = rekey_eph_->agree_full(m.pubkey);
      if (!a)
        return refuse("rekey CRYPTACCEPT with an unusable key: " + a.error().message);
      channel_->rekey(a->secret, true);  // the peer holds the new epoch already: seal with it at once
      rekey_eph_.reset();
      rekey_start_.clear();
      return out;
    }
    if (envelope_active_)
      return refuse("CRYPTACCEPT outside a rekey dropped");
    // §14 FIX: our CRYPTACK was lost and the responder resends CRYPTACCEPT. The original answers with an
    // encrypted CRYPTACK the responder cannot read (deadlock); answer in plaintext instead. Changes nothing here.
    out.plaintext_lines.push_back(wire::serialize(wire::crypt_ack_msg{}));
    return out;
  }
  if (!eph_)
    return out;  // we never started: ignore
  auto a = eph_->agree_full(m.pubkey);  // §11: derive from our CURRENT ephemeral key
  if (!a)
    return refuse("CRYPTACCEPT with an unusable key: " + a.error().message);
  key_with(*a);
  out.plaintext_lines.push_back(wire::serialize(wire::crypt_ack_msg{}));  // §13.8: CRYPTACK first, in plaintext
  encrypting_ = true;
  last_start_.clear();
  last_accept_.clear();
  out.encryption_changed = true;
  return out;
}

crypt_negotiation::output crypt_negotiation::on_crypt_ack(bool sealed) {
  output out;
  if (encrypting_)
    return out;
  (void)sealed;
  if (cipher_) {
    encrypting_ = true;
    last_accept_.clear();
    out.encryption_changed = true;
    return out;
  }
  // §11 says run stop; but a CRYPTACK is unauthenticated, and stopping would let anyone abort our negotiation.
  return refuse("CRYPTACK without a key dropped");
}

crypt_negotiation::output crypt_negotiation::on_crypt_stop(bool sealed) {
  if (envelope_active_ && !sealed)
    return refuse("plaintext CRYPTSTOP from a peer that seals everything dropped");
  output out;
  bool was = encrypting_;
  clear();
  if (was)
    out.encryption_changed = false;
  return out;
}

crypt_negotiation::output crypt_negotiation::on_resend_tick() {
  output out;
  if (encrypting_) {
    if (rekey_eph_)
      out.sealed_lines.push_back(rekey_start_);
    return out;
  }
  if (!eph_)
    return out;
  if (!last_accept_.empty())
    out.plaintext_lines.push_back(last_accept_);
  else if (!last_start_.empty())
    out.plaintext_lines.push_back(last_start_);
  return out;
}

crypt_negotiation::output crypt_negotiation::start_rekey(Botan::RandomNumberGenerator& rng) {
  output out;
  if (!sealing_envelopes() || !envelope_active_ || rekey_eph_)
    return out;
  rekey_eph_ = crypto::ephemeral_key::generate(rng);
  rekey_start_ = signed_line(wire::crypt_start_msg::keyword, rekey_eph_->public_base64(), rng);
  out.sealed_lines.push_back(rekey_start_);
  return out;
}

std::string crypt_negotiation::seal_envelope(std::string_view line) {
  std::string record, out;
  wire::record_of_line(line, record);
  channel_->seal(record, out);
  return out;
}

std::string crypt_negotiation::seal(std::string_view line, Botan::RandomNumberGenerator& rng) {
  if (sealing_envelopes())
    return seal_envelope(line);
  return seal_legacy(line, rng);
}

std::optional<std::string> crypt_negotiation::seal_pending(std::string_view line, Botan::RandomNumberGenerator& rng) {
  if (encrypting_)
    return seal(line, rng);
  if (!cipher_)
    return std::nullopt;
  if (peer_envelope_ && channel_ && channel_->ready())
    return seal_envelope(line);
  return seal_legacy(line, rng);
}

std::string crypt_negotiation::seal_legacy(std::string_view line, Botan::RandomNumberGenerator& rng) {
  wire::crypt_msg c;
  if (!next_iv_) {
    std::array<std::uint8_t, 8> seed{};
    rng.randomize(seed.data(), seed.size());
    next_iv_ = iv_value(seed);
    iv_start_ = next_iv_;
  }
  std::uint64_t iv = (*next_iv_)++;
  for (std::size_t i = c.iv.size(); i-- > 0; iv >>= 8)
    c.iv[i] = static_cast<std::uint8_t>(iv & 0xff);
  cipher_->seal(line, c.iv, c.ciphertext, c.tag);
  return wire::into_datagram(wire::serialize(c));
}

crypt_negotiation::opened crypt_negotiation::accept_authentic() {
  opened o;
  if (!encrypting_) {
    // §14 FIX: the CRYPTACK was lost or overtaken; an authentic C proves the initiator switched on.
    encrypting_ = true;
    last_accept_.clear();
    o.switched_on = true;
  }
  return o;
}

crypt_negotiation::opened crypt_negotiation::open(const wire::crypt_msg& m, std::string& line_out) {
  line_out.clear();
  if (!cipher_)
    return {refusal::no_key};
  if (envelope_active_)
    return {refusal::downgrade};  // the peer seals in envelopes: a legacy C is a replay or a forgery
  const std::uint64_t iv = iv_value(m.iv);
  // Reflected: an IV from the range we issued under this key (ours count up from iv_start_).
  if (iv_start_ && iv - *iv_start_ < *next_iv_ - *iv_start_)
    return {refusal::reflected};
  if (seen_ivs_.count(iv) != 0)
    return {refusal::replayed};
  if (!cipher_->open_into(m.ciphertext, m.iv, m.tag, line_out))
    return {refusal::forged};
  seen_ivs_.insert(iv);
  seen_order_.push_back(iv);
  if (seen_order_.size() > limits::legacy_iv_memory) {
    seen_ivs_.erase(seen_order_.front());
    seen_order_.pop_front();
  }
  return accept_authentic();
}

crypt_negotiation::opened crypt_negotiation::open_envelope(std::string_view d, std::string& record_out) {
  record_out.clear();
  if (!channel_ || !channel_->ready() || !cipher_)
    return {refusal::no_key};
  auto r = channel_->open({reinterpret_cast<const std::uint8_t*>(d.data()), d.size()}, record_out);
  switch (r) {
    case crypto::secure_channel::refusal::none: break;
    case crypto::secure_channel::refusal::replayed:
    case crypto::secure_channel::refusal::too_old: return {refusal::replayed};
    default: return {refusal::forged};
  }
  envelope_active_ = true;
  peer_envelope_ = true;  // it seals for us, so it opens ours
  return accept_authentic();
}

}  // namespace mk::session
