// Private helpers of the config module: value parsers that return an error
// text instead of throwing, so the YAML loader can attach file, line and key.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace sharedisk::config::detail {

// Decimal digits only (no sign, no hex); "" on success.
std::string parse_uint(std::string_view text, uint64_t& out);
// Bytes with an optional binary suffix: 4096, 512K, 1G, 1GiB, 2 TiB.
std::string parse_size(std::string_view text, uint64_t& out);
// true/false, yes/no, on/off in any letter case.
std::string parse_bool(std::string_view text, bool& out);

// Text checks shared by the section readers.
bool printable_ascii(const std::string& s, char lowest);  // every byte in [lowest, 0x7e]
bool valid_utf8(const std::string& s);

// Stable identity of a LUN, the same on every start: FNV-1a 64 of
// "<target iqn>\0<lun number>".
uint64_t lun_hash(const std::string& target_iqn, uint64_t lun_number);
std::string default_serial(const std::string& target_iqn, uint64_t lun_number);
std::string default_naa(const std::string& target_iqn, uint64_t lun_number);
// Validates a user NAA (16 or 32 hex digits, NAA 2/3/5/6 with the matching
// length) and returns it lowercased in `normalized`.
std::string check_naa(const std::string& text, std::string& normalized);

// Levenshtein distance, for "did you mean" hints on unknown keys.
size_t edit_distance(std::string_view a, std::string_view b);
// The closest candidate within a small distance, or "".
std::string closest(std::string_view key, const std::vector<std::string_view>& candidates);

}  // namespace sharedisk::config::detail
