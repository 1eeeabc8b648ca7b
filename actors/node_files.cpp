#include "actors/node_files.hpp"

#include <system_error>

namespace mk {

mk::result<node_files> load_node_files(const std::filesystem::path& private_key,
                                       const std::filesystem::path& known_users,
                                       Botan::RandomNumberGenerator& rng) {
  std::error_code ec;
  bool existed = std::filesystem::exists(private_key, ec);
  auto id = crypto::identity::load_or_create(private_key, rng);
  if (!id)
    return mk::make_error(id.error().code, "Identity key " + private_key.string() + ": " + id.error().message);
  node_files f{std::move(*id), !existed, {}, {}, {}};
  load_pins(f, known_users);
  return f;
}

void load_pins(node_files& f, const std::filesystem::path& known_users) {
  f.known_users_file = known_users;
  if (known_users.empty())
    return;
  auto pins = config::known_users::load(known_users);
  if (pins) {
    f.known_users = std::move(*pins);
    return;
  }
  f.warnings.push_back(pins.error().message);
  f.warnings.push_back("WARNING: " + known_users.string() +
                       " is kept as it is and NOT updated: keys pinned in this session live in memory only. "
                       "Fix or remove the file to pin keys permanently.");
  f.known_users_file.clear();
}

}  // namespace mk
