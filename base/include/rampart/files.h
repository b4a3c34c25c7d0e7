// Reading and writing whole files, with errors that name the file.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "rampart/error.h"

namespace rampart {

// The whole file; kIo "cannot read PATH" when it cannot be opened or read.
Result<std::string> readFile(const std::filesystem::path& path);

// Writes `content` to PATH.tmp and renames it over `path`, so that a reader
// sees the old file or the new one, never half of one. kIo on failure.
Result<void> writeFileAtomically(const std::filesystem::path& path, std::string_view content);

}  // namespace rampart
