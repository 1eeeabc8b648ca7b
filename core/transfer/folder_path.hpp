#pragma once
// The path of a file inside a received folder (FOLDERFILE <path>, issue 15), made safe before anything touches the
// disk: a hostile peer must not write outside the folder it offered. Pure string logic; the actor that creates the
// directories also checks, on disk, that no existing symlink leads out of the download directory.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace mk::transfer {

// Splits a '/'-separated relative path into components, each made safe by sanitize_file_name. Refused
// (errc::refused, saying why): an absolute path, a `.` or `..` component (as sent, before any sanitising), an
// empty component (`a//b`, a trailing `/`), a component nothing usable is left of, more than
// limits::max_folder_depth components.
mk::result<std::vector<std::string>> sanitize_folder_path(std::string_view wire_path);

}  // namespace mk::transfer
