// Big-endian field access for CDBs and parameter data: util/big_endian.h.
#pragma once

#include <cstdint>

#include "util/big_endian.h"

namespace sharedisk::scsi {

using util::get_be16;
using util::get_be24;
using util::get_be32;
using util::get_be64;
using util::put_be16;
using util::put_be24;
using util::put_be32;
using util::put_be64;

}  // namespace sharedisk::scsi
