// One entry of `luns:`: backing, geometry, caching and the stable identity.
#include <sys/stat.h>

#include <atomic>
#include <climits>

#include "config/config_internal.h"
#include "config/sections.h"

namespace sharedisk::config::detail {
namespace {

constexpr uint64_t kMaxLunNumber = 16383;  // SAM flat addressing, single level
constexpr size_t kMaxSerial = 32;
constexpr size_t kMaxProduct = 16;
constexpr uint64_t kMaxRbdTimeout = 3600;

// A name librados / librbd takes as it is: printable, no spaces or slashes.
void check_rbd_name(const Reader& r, const Field& f, const std::string& v, bool slash_ok = false) {
  if (v.empty()) r.fail(f, "must not be empty");
  if (!printable_ascii(v, 0x21) || (!slash_ok && v.find('/') != std::string::npos) ||
      v.find('@') != std::string::npos)
    r.fail(f, "must be printable ASCII without spaces" + std::string(slash_ok ? "" : ", '/'") +
                  " or '@' (got '" + v + "')");
}

KeyLocation at(const Field& f) {
  return {f.line, f.path};
}

// type: rbd — pool, image and how to reach the cluster.
void read_rbd(const Reader& r, const Field& f, const MapView& m, Lun& l, FileWideUniques& unique) {
  RbdBacking& b = l.rbd;
  const KeyLocation lun_at{f.line, f.path};
  b.at_pool = b.at_image = b.at_cluster = b.at_auth = lun_at;
  for (const char* refused : {"path", "size", "direct"}) {
    if (auto v = m.get(refused)) {
      const std::string k = refused;
      r.fail(*v, k == "size"   ? "an rbd LUN has the size of its image; remove size"
                 : k == "path" ? "an rbd LUN has no path; give pool and image"
                               : "applies to file and block LUNs only");
    }
  }
  Field pool = m.require("pool");
  b.pool = r.text(pool);
  check_rbd_name(r, pool, b.pool);
  b.at_pool = at(pool);
  Field image = m.require("image");
  b.image = r.text(image);
  check_rbd_name(r, image, b.image);
  b.at_image = at(image);
  if (auto v = m.get("namespace")) {
    b.ns = r.text(*v);
    check_rbd_name(r, *v, b.ns);
    b.at_pool = at(*v);
  }
  if (auto v = m.get("ceph_conf")) {
    b.ceph_conf = r.text(*v);
    if (b.ceph_conf.empty()) r.fail(*v, "must not be empty");
    if (b.ceph_conf.size() >= PATH_MAX) r.fail(*v, "is longer than PATH_MAX");
    b.at_cluster = at(*v);
  }
  if (auto v = m.get("client")) {
    b.client = r.text(*v);
    if (b.client.rfind("client.", 0) == 0) b.client.erase(0, 7);
    check_rbd_name(r, *v, b.client);
    b.at_auth = at(*v);
  }
  if (auto v = m.get("keyring")) {
    b.keyring = r.text(*v);
    if (b.keyring.empty()) r.fail(*v, "must not be empty");
    if (b.keyring.size() >= PATH_MAX) r.fail(*v, "is longer than PATH_MAX");
    b.at_auth = at(*v);
  }
  if (auto v = m.get("rbd_timeout")) b.timeout_s = uint32_t(r.number(*v, 1, kMaxRbdTimeout));
  // One image, one LUN: two LUNs writing the same image through one gateway
  // would only corrupt each other.
  unique.backing_paths.add(r, image,
                           "rbd:" + b.ceph_conf + ":" + b.pool + "/" + b.ns + "/" + b.image,
                           "RBD image", b.pool + "/" + (b.ns.empty() ? "" : b.ns + "/") + b.image);
}

// Without `type`, what the path is decides: a block device is block, anything else that
// exists is file. A path that does not exist (yet) is a block device when it is under
// /dev/ outside /dev/shm (a disk not plugged in: never create a file there), else a file.
BackingType kind_of_path(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0)
    return S_ISBLK(st.st_mode) ? BackingType::kBlock : BackingType::kFile;
  bool under_dev = path.rfind("/dev/", 0) == 0 && path.rfind("/dev/shm/", 0) != 0;
  return under_dev ? BackingType::kBlock : BackingType::kFile;
}

std::atomic<bool> fault_injection{false};

}  // namespace

Lun read_lun(const Reader& r, const Field& f, const std::string& iqn, Uniques& numbers,
             FileWideUniques& unique) {
  MapView m(r, f, {"number",    "type",        "path",    "size",        "block_size",
                   "read_only", "write_cache", "direct",  "thin",        "serial",
                   "naa",       "product",     "pool",    "image",       "namespace",
                   "ceph_conf", "client",      "keyring", "rbd_timeout", "fault"});
  Lun l;
  l.line = f.line;
  Field number = m.require("number");
  l.number = r.number(number, 0, kMaxLunNumber);
  numbers.add(r, number, std::to_string(l.number), "LUN");

  auto path = m.get("path");
  if (path && !(m.get("type") && r.text(*m.get("type")) == "rbd")) {
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
    else if (v == "rbd")
      l.type = BackingType::kRbd;
    else
      r.fail(*t, "must be file, block, memory or rbd (got '" + v + "')");
  } else if (path) {
    l.type = kind_of_path(l.path);
  }
  if (l.type == BackingType::kRbd) {
    read_rbd(r, f, m, l, unique);
  } else {
    for (const char* k :
         {"pool", "image", "namespace", "ceph_conf", "client", "keyring", "rbd_timeout"})
      if (auto v = m.get(k)) r.fail(*v, "applies to rbd LUNs only (type: rbd)");
  }
  if (l.type == BackingType::kMemory && path) r.fail(*path, "a memory LUN has no backing path");
  if (l.type != BackingType::kMemory && l.type != BackingType::kRbd && !path)
    r.fail(f.line, join_path(f.path, "path"),
           std::string("is required for a ") + to_string(l.type) + " LUN");
  if (path && l.type != BackingType::kMemory && l.type != BackingType::kRbd) {
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
    l.serial_pinned = true;
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
    l.naa_pinned = true;
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
