// One entry of `luns:`: backing, geometry, caching and the stable identity.
#include <atomic>
#include <climits>

#include "config/config_internal.h"
#include "config/sections.h"

namespace sharedisk::config::detail {
namespace {

constexpr uint64_t kMaxLunNumber = 16383;  // SAM flat addressing, single level
constexpr size_t kMaxSerial = 32;
constexpr size_t kMaxProduct = 16;

std::atomic<bool> fault_injection{false};

}  // namespace

Lun read_lun(const Reader& r, const Field& f, const std::string& iqn, Uniques& numbers,
             FileWideUniques& unique) {
  MapView m(r, f,
            {"number", "type", "path", "size", "block_size", "read_only", "write_cache", "direct",
             "thin", "serial", "naa", "product", "fault"});
  Lun l;
  l.line = f.line;
  Field number = m.require("number");
  l.number = r.number(number, 0, kMaxLunNumber);
  numbers.add(r, number, std::to_string(l.number), "LUN");

  auto path = m.get("path");
  if (path) {
    l.path = r.text(*path);
    if (l.path.empty()) r.fail(*path, "must not be empty");
    if (l.path.size() >= PATH_MAX) r.fail(*path, "is longer than PATH_MAX");
  }
  if (auto t = m.get("type")) {
    std::string v = r.text(*t);
    if (v == "file")
      l.type = BackingType::kFile;
    else if (v == "block")
      l.type = BackingType::kBlock;
    else if (v == "memory")
      l.type = BackingType::kMemory;
    else
      r.fail(*t, "must be file, block or memory (got '" + v + "')");
  } else if (l.path.rfind("/dev/", 0) == 0) {
    l.type = BackingType::kBlock;
  }
  if (l.type == BackingType::kMemory && path) r.fail(*path, "a memory LUN has no backing path");
  if (l.type != BackingType::kMemory && !path)
    r.fail(f.line, join_path(f.path, "path"),
           std::string("is required for a ") + to_string(l.type) + " LUN");
  if (path && l.type != BackingType::kMemory) {
    unique.backing_paths.add(r, *path, l.path, "backing path");
  }

  if (auto b = m.get("block_size")) {
    uint64_t v = r.number(*b, 0, UINT32_MAX);
    if (v != 512 && v != 4096) r.fail(*b, "must be 512 or 4096 (got " + r.text(*b) + ")");
    l.block_size = static_cast<uint32_t>(v);
  }
  if (auto s = m.get("size")) {
    if (l.type == BackingType::kBlock)
      r.fail(*s, "a block device's size comes from the device; remove size");
    uint64_t v = r.size(*s);
    if (v == 0) r.fail(*s, "must be greater than 0");
    if (v % l.block_size != 0)
      r.fail(*s, "must be a multiple of block_size " + std::to_string(l.block_size) + " (got " +
                     std::to_string(v) + ")");
    l.size = v;
  } else if (l.type == BackingType::kMemory) {
    r.fail(f.line, join_path(f.path, "size"), "is required for a memory LUN");
  }

  if (auto v = m.get("read_only")) l.read_only = r.flag(*v);
  if (auto v = m.get("write_cache")) l.write_cache = r.flag(*v);
  if (auto v = m.get("direct")) l.direct = r.flag(*v);
  if (auto v = m.get("thin")) {
    std::string t = r.text(*v);
    bool on = false;
    if (t == "auto")
      l.thin = Thin::kAuto;
    else if (parse_bool(t, on).empty())
      l.thin = on ? Thin::kOn : Thin::kOff;
    else
      r.fail(*v, "must be auto, on or off (got '" + t + "')");
  }

  if (auto v = m.get("fault")) {
    if (!fault_injection_allowed())
      r.fail(*v,
             "fault injection is for tests only: sharedisk-target refuses it (the test build "
             "sharedisk-target-faults accepts it)");
    MapView fm(r, *v, {"control"});
    Field c = fm.require("control");
    l.fault_control = r.text(c);
    if (l.fault_control.empty() || l.fault_control[0] != '/')
      r.fail(c, "must be an absolute path (got '" + l.fault_control + "')");
  }

  if (auto s = m.get("serial")) {
    l.serial = r.text(*s);
    if (l.serial.empty() || l.serial.size() > kMaxSerial || !printable_ascii(l.serial, 0x21))
      r.fail(*s,
             "must be 1 to 32 printable ASCII characters without spaces (got '" + l.serial + "')");
    unique.serials.add(r, *s, l.serial, "serial");
  } else {
    l.serial = default_serial(iqn, l.number);
    unique.serials.add(r, number, l.serial, "derived serial");
  }
  if (auto n = m.get("naa")) {
    if (auto err = check_naa(r.text(*n), l.naa); !err.empty()) r.fail(*n, err);
    unique.naas.add(r, *n, l.naa, "naa");
  } else {
    l.naa = default_naa(iqn, l.number);
    unique.naas.add(r, number, l.naa, "derived naa");
  }
  if (auto p = m.get("product")) {
    l.product = r.text(*p);
    if (l.product.empty() || l.product.size() > kMaxProduct || !printable_ascii(l.product, 0x20))
      r.fail(*p, "must be 1 to 16 printable ASCII characters (got '" + l.product + "')");
  }
  return l;
}

}  // namespace sharedisk::config::detail

namespace sharedisk::config {

void allow_fault_injection() {
  detail::fault_injection.store(true);
}

bool fault_injection_allowed() {
  return detail::fault_injection.load();
}

}  // namespace sharedisk::config
