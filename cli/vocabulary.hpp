#pragma once
// The terminal's vocabulary. It drives its node through the public API only, like any embedding application
// (include/mokaccino/: the node's commands, events and replies, used here by their short names), and it has a few
// atoms of its own between its input thread, its timers and the terminal actor.

#include <caf/atom.hpp>

#include "mokaccino/types.hpp"

namespace mk::cli {

// -- the node's public types and command atoms (include/mokaccino/types.hpp), by their short names ------------
// The whole public vocabulary rather than a list of using-declarations: the terminal may use any of it and nothing
// else of the node (a name mk::cli declares itself wins over a public one).
using namespace mokaccino;

// -- the terminal's own atoms -------------------------------------------------------------------------------------
// The node never sees them, but CAF 0.17 dispatches on an atom's value in the whole process, so they must differ
// from every atom of actors/messages.hpp and include/mokaccino/types.hpp: tests/actors/vocabulary_test.cpp checks
// all three lists together.
using line_atom = caf::atom_constant<caf::atom("line")>;             // (line_atom, std::string) input -> terminal
using eof_atom = caf::atom_constant<caf::atom("eof")>;               // (eof_atom) input closed
using interrupt_atom = caf::atom_constant<caf::atom("intr")>;        // (interrupt_atom) Ctrl+C / SIGINT / SIGTERM
using wake_atom = caf::atom_constant<caf::atom("wake")>;             // (wake_atom, generation) end of `sleep`
using force_quit_atom = caf::atom_constant<caf::atom("forcequit")>;  // terminal -> itself: the node did not stop in time

}  // namespace mk::cli
