#pragma once
// The public node configuration (include/mokaccino/node.hpp) as the internal one the node runs with. The CLI maps
// its configuration file the other way (cli/startup.cpp: node_config_of); tests/cli/config_mapping_test.cpp checks
// that a field set in the file survives both, so a field added to one side and not the other is caught.

#include "core/config/config.hpp"
#include "mokaccino/node.hpp"

namespace mk {

config::node_config internal_config(const mokaccino::node_config& c);

}  // namespace mk
