#include "actors/prompt_registry.hpp"

#include "core/limits.hpp"

namespace mk {

prompt_registry::asked prompt_registry::ask(pending_prompt p, asker who, time_point now) {
  if (prompts_.size() >= limits::max_pending_prompts)
    return {0, refusal::full};
  if (who == asker::peer && !allowed(p.kind, p.user, p.source))
    return {0, refusal::flood_guard};
  auto id = next_id_++;
  p.deadline = now + limits::handshake_timeout;
  prompts_.emplace(id, std::move(p));
  return {id, refusal::none};
}

bool prompt_registry::allowed(prompt_kind kind, const std::string& user, const std::optional<endpoint>& source) const {
  std::size_t same_peer = 0;
  for (auto& [id, p] : prompts_) {
    if (kind == prompt_kind::connect) {
      if (source && p.source && p.kind == prompt_kind::connect &&
          (p.user == user || address_of(*p.source) == address_of(*source)))
        return false;
    } else if (p.kind != prompt_kind::connect && p.user == user && ++same_peer >= limits::max_prompts_per_peer) {
      return false;
    }
  }
  return true;
}

std::optional<closed_prompt> prompt_registry::answer(std::uint64_t id, bool yes) {
  auto it = prompts_.find(id);
  if (it == prompts_.end())
    return std::nullopt;
  closed_prompt out{id, yes, std::move(it->second)};
  prompts_.erase(it);
  return out;
}

std::vector<closed_prompt> prompt_registry::expire(time_point now) {
  std::vector<closed_prompt> out;
  for (auto it = prompts_.begin(); it != prompts_.end();) {
    if (it->second.deadline <= now) {
      out.push_back(closed_prompt{it->first, false, std::move(it->second)});
      it = prompts_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

std::vector<std::uint64_t> prompt_registry::open(prompt_kind kind, std::string_view user) const {
  std::vector<std::uint64_t> out;
  for (auto& [id, p] : prompts_)
    if (p.kind == kind && p.user == user)
      out.push_back(id);
  return out;
}

std::vector<pending_prompt> prompt_registry::take_all() {
  std::vector<pending_prompt> out;
  for (auto& [id, p] : prompts_)
    out.push_back(std::move(p));
  prompts_.clear();
  return out;
}

}  // namespace mk
