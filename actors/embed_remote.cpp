// Remote control of a node over CAF's middleman (include/mokaccino/node.hpp: publish_node, attach_node).

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "mokaccino/node.hpp"

namespace mokaccino {

caf::expected<std::uint16_t> publish_node(caf::actor_system& sys, const node_actor& node, std::uint16_t port) {
  if (!sys.has_middleman())
    return caf::make_error(caf::sec::invalid_argument, std::string{"the actor system has no middleman (load caf::io::middleman)"});
  // Loopback only: the interface has no authentication of its own.
  return sys.middleman().publish(node, port, "127.0.0.1", true);
}

caf::expected<node_actor> attach_node(caf::actor_system& sys, const std::string& host, std::uint16_t port) {
  if (!sys.has_middleman())
    return caf::make_error(caf::sec::invalid_argument, std::string{"the actor system has no middleman (load caf::io::middleman)"});
  return sys.middleman().remote_actor<node_actor>(host, port);
}

}  // namespace mokaccino
