// The public embedding API (include/mokaccino/node.hpp): converts the public configuration to the internal one,
// loads the node's files (actors/node_files.hpp) and starts the node (actors/node.hpp). The CLI starts its node
// through here too.

#include <algorithm>
#include <thread>

#include <botan/auto_rng.h>
#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "actors/node.hpp"
#include "actors/embed_config.hpp"
#include "actors/node_files.hpp"
#include "core/config/config.hpp"
#include "mokaccino/node.hpp"

namespace mokaccino {

// What node_files keeps out of the public header: the private key and the pins.
struct detail::loaded_files {
  mk::node_files files;
};

namespace {

caf::error invalid(std::string text) { return caf::make_error(caf::sec::invalid_argument, std::move(text)); }

caf::error username_error(const node_config& c) {
  if (auto problem = mk::config::username_problem(c.username))
    return invalid("invalid username: " + *problem);
  return {};
}

// The identity and pins, as node_config describes them.
mk::result<mk::node_files> load_files(const node_config& c, Botan::RandomNumberGenerator& rng) {
  if (!c.private_key.empty())
    return mk::load_node_files(c.private_key, c.known_users, rng);
  auto id = c.private_key_pem.empty() ? mk::result<mk::crypto::identity>{mk::crypto::identity::generate(rng)}
                                      : mk::crypto::identity::from_pem(c.private_key_pem);
  if (!id)
    return mk::make_error(id.error().code, "private_key_pem: " + id.error().message);
  mk::node_files f{std::move(*id), false, {}, {}, {}};
  mk::load_pins(f, c.known_users);
  return f;
}

}  // namespace

caf::expected<node_files> load_node_files(const node_config& cfg) {
  Botan::AutoSeeded_RNG rng;
  auto files = load_files(cfg, rng);
  if (!files)
    return invalid(files.error().message);
  auto key = files->identity.public_key();
  node_files f{key.base64(), key.fingerprint(), files->created_key, files->warnings, nullptr};
  f.loaded = std::make_shared<const detail::loaded_files>(detail::loaded_files{std::move(*files)});
  return f;
}

caf::expected<node> spawn_node(caf::actor_system& sys, const node_config& cfg, const node_files& files) {
  if (auto e = username_error(cfg))
    return e;
  if (!files.loaded)
    return invalid("no identity: node_files did not come from load_node_files");
  const auto& f = files.loaded->files;
  mk::node_options o{mk::internal_config(cfg), f.identity, f.known_users, f.known_users_file,
                     cfg.download_dir.empty() ? std::filesystem::path{"."} : cfg.download_dir, cfg.debug, cfg.ipv6};
  auto h = mk::spawn_node(sys, std::move(o));
  if (!h)
    return caf::make_error(caf::sec::cannot_open_port, h.error().message);
  return node{caf::actor_cast<node_actor>(h->node), h->port, files.public_key, files.fingerprint, files.created_key,
              files.warnings};
}

caf::expected<node> spawn_node(caf::actor_system& sys, const node_config& cfg) {
  if (auto e = username_error(cfg))
    return e;
  auto files = load_node_files(cfg);
  if (!files)
    return std::move(files.error());
  return spawn_node(sys, cfg, *files);
}

void add_message_types(caf::actor_system_config& cfg) {
  // add_message_type<T> also registers std::vector<T> (the replies of user_list, key_list, file_list).
  cfg.add_message_type<command_reply>("mokaccino::command_reply");
  cfg.add_message_type<key_entry>("mokaccino::key_entry");
  cfg.add_message_type<peer_info>("mokaccino::peer_info");
  cfg.add_message_type<node_stats>("mokaccino::node_stats");
  cfg.add_message_type<transfer_info>("mokaccino::transfer_info");
  cfg.add_message_type<event>("mokaccino::event");
  cfg.add_message_type<audio_device>("mokaccino::audio_device");
  cfg.add_message_type<audio_devices>("mokaccino::audio_devices");
  cfg.add_message_type<node_actor>("mokaccino::node_actor");
  cfg.add_message_type<remote_gate>("mokaccino::remote_gate");
}

void configure_scheduler(caf::actor_system_config& cfg) {
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("scheduler.max-threads", std::max<std::size_t>(2, std::thread::hardware_concurrency()));
}

}  // namespace mokaccino
