#pragma once
// "1.5 MB"-style sizes for people (file list, progress lines, transfer events).

#include <string>

namespace mk::transfer {

std::string human_bytes(double bytes);

}  // namespace mk::transfer
