#include "core/session/crypt_negotiation.hpp"

#include <array>

#include "core/wire/base64.hpp"
#include "core/wire/signed_line.hpp"

namespace mk::session {

crypt_negotiation::crypt_negotiation(crypto::identity me, crypto::public_key peer)
  : me_(std::move(me)), peer_(std::move(peer)) {}

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
  clear();  // §13.8: clear first, so CRYPTSTOP goes out in plaintext
  out.plaintext_lines.push_back(wire::serialize(wire::crypt_stop_msg{}));
  if (was)
    out.encryption_changed = false;
  return out;
}

crypt_negotiation::output crypt_negotiation::on_crypt_start(const wire::crypt_start_msg& m, std::string_view raw,
                                                            Botan::RandomNumberGenerator& rng) {
  auto parts = wire::split_signed(raw);
  if (!parts || !peer_.verify(parts->text, parts->signature)) {
    auto out = stop();  // §11: a bad signature runs stop
    out.problem = "bad CRYPTSTART signature";
    return out;
  }
  output out;
  if (cipher_ && !encrypting_ && eph_ && !last_accept_.empty()) {
    out.plaintext_lines.push_back(last_accept_);  // key valid, not encrypting: resend CRYPTACCEPT
    return out;
  }
  // No key yet (or the peer restarted the negotiation): fresh ephemeral key, replacing any pending one.
  auto fresh = crypto::ephemeral_key::generate(rng);
  auto key = fresh.agree(m.pubkey);
  if (!key) {
    auto o = stop();
    o.problem = "bad CRYPTSTART key: " + key.error().message;
    return o;
  }
  bool was = encrypting_;
  eph_ = fresh;
  cipher_.emplace(*key);
  next_iv_.reset();
  encrypting_ = false;
  last_start_.clear();
  last_accept_ = signed_line(wire::crypt_accept_msg::keyword, eph_->public_base64(), rng);
  out.plaintext_lines.push_back(last_accept_);
  if (was)
    out.encryption_changed = false;
  return out;
}

crypt_negotiation::output crypt_negotiation::on_crypt_accept(const wire::crypt_accept_msg& m, std::string_view raw) {
  output out;
  auto parts = wire::split_signed(raw);
  if (!parts || !peer_.verify(parts->text, parts->signature)) {
    out = stop();
    out.problem = "bad CRYPTACCEPT signature";
    return out;
  }
  if (encrypting_) {
    // §14 FIX: our CRYPTACK was lost and the responder resends CRYPTACCEPT. The original answers with an
    // encrypted CRYPTACK the responder cannot read (deadlock); answer in plaintext instead.
    out.plaintext_lines.push_back(wire::serialize(wire::crypt_ack_msg{}));
    return out;
  }
  if (!eph_)
    return out;  // we never started: ignore
  auto key = eph_->agree(m.pubkey);  // §11: derive from our CURRENT ephemeral key
  if (!key) {
    out = stop();
    out.problem = "bad CRYPTACCEPT key: " + key.error().message;
    return out;
  }
  cipher_.emplace(*key);
  next_iv_.reset();
  out.plaintext_lines.push_back(wire::serialize(wire::crypt_ack_msg{}));  // §13.8: CRYPTACK first, in plaintext
  encrypting_ = true;
  last_start_.clear();
  last_accept_.clear();
  out.encryption_changed = true;
  return out;
}

crypt_negotiation::output crypt_negotiation::on_crypt_ack() {
  output out;
  if (encrypting_)
    return out;
  if (cipher_) {
    encrypting_ = true;
    last_accept_.clear();
    out.encryption_changed = true;
    return out;
  }
  return stop();  // §11: CRYPTACK without a valid key runs stop
}

crypt_negotiation::output crypt_negotiation::on_crypt_stop() {
  output out;
  bool was = encrypting_;
  clear();
  if (was)
    out.encryption_changed = false;
  return out;
}

crypt_negotiation::output crypt_negotiation::on_resend_tick() {
  output out;
  if (encrypting_ || !eph_)
    return out;
  if (!last_accept_.empty())
    out.plaintext_lines.push_back(last_accept_);
  else if (!last_start_.empty())
    out.plaintext_lines.push_back(last_start_);
  return out;
}

std::string crypt_negotiation::seal(std::string_view line, Botan::RandomNumberGenerator& rng) {
  wire::crypt_msg c;
  if (!next_iv_) {
    std::array<std::uint8_t, 8> seed{};
    rng.randomize(seed.data(), seed.size());
    next_iv_ = 0;
    for (auto b : seed)
      *next_iv_ = (*next_iv_ << 8) | b;
  }
  std::uint64_t iv = (*next_iv_)++;
  for (std::size_t i = c.iv.size(); i-- > 0; iv >>= 8)
    c.iv[i] = static_cast<std::uint8_t>(iv & 0xff);
  cipher_->seal(line, c.iv, c.ciphertext, c.tag);
  return wire::serialize(c);
}

mk::result<std::string> crypt_negotiation::open(const wire::crypt_msg& m, bool& switched_on) {
  switched_on = false;
  if (!cipher_)
    return mk::make_error(errc::state_error, "C received while no session key is valid");
  auto plain = cipher_->open(m.ciphertext, m.iv, m.tag);
  if (plain && !encrypting_) {
    // §14 FIX: the CRYPTACK was lost or overtaken; an authentic C proves the initiator switched on.
    encrypting_ = true;
    last_accept_.clear();
    switched_on = true;
  }
  return plain;
}

}  // namespace mk::session
