#include "actors/known_users.hpp"

#include <caf/all.hpp>

#include "actors/messages.hpp"

namespace mk {

namespace {

struct known_users_state {
  config::known_users store;
  std::filesystem::path file;
  std::string last_error;
  static inline const char* name = "mk.known_users";

  void persist() {
    if (file.empty())
      return;
    if (auto r = store.save(file); !r)
      last_error = r.error().message;  // the in-memory pins stay authoritative; the next change retries
  }
};

caf::behavior known_users_actor(caf::stateful_actor<known_users_state>* self, config::known_users initial,
                                std::filesystem::path file) {
  self->state.store = std::move(initial);
  self->state.file = std::move(file);
  return {
    [self](key_get_atom, const std::string& user) {
      auto key = self->state.store.key_of(user);
      return std::make_tuple(key.has_value(), key.value_or(std::string{}));
    },
    [self](key_info_atom, const std::string& user) {
      auto key = self->state.store.key_of(user);
      return std::make_tuple(key.has_value(), key.value_or(std::string{}), self->state.store.speaks_envelope(user));
    },
    [self](key_envelope_atom, const std::string& user, const std::string& key) {
      if (self->state.store.mark_envelope(user, key))
        self->state.persist();
    },
    [self](key_pin_atom, const std::string& user, const std::string& key) {
      if (self->state.store.pin(user, key))
        self->state.persist();
      return self->state.store.key_of(user).value_or(std::string{});
    },
    [self](key_set_atom, const std::string& user, const std::string& key) {
      if (self->state.store.key_of(user) == key)
        return true;  // unchanged: no rewrite of the file (the own key is set at every start)
      bool ok = self->state.store.set(user, key);
      if (ok)
        self->state.persist();
      return ok;
    },
    [self](key_del_atom, const std::string& user) {
      bool ok = self->state.store.erase(user);
      if (ok)
        self->state.persist();
      return ok;
    },
    [self](key_list_atom) {
      std::vector<key_entry> out;
      for (auto& [user, key] : self->state.store.entries())
        out.push_back({user, key});
      return out;
    },
  };
}

}  // namespace

caf::actor spawn_known_users(caf::actor_system& sys, config::known_users initial, std::filesystem::path file) {
  return sys.spawn(known_users_actor, std::move(initial), std::move(file));
}

}  // namespace mk
