// embedded_default(): the README demo, used when the daemon runs without --config.
#include "config/config.h"
#include "config/config_internal.h"

namespace sharedisk::config {

Config embedded_default(const std::string& demo_backing_path) {
  Config c;
  c.source = "<embedded default>";
  c.portals.push_back(Endpoint{"127.0.0.1", 3260});
  Target t;
  t.iqn = "iqn.2019-02.lb2:odcfs2";
  Lun l;
  l.number = 1;
  l.type = BackingType::kFile;
  l.path = demo_backing_path;
  l.size = uint64_t{1} << 30;
  l.serial = detail::default_serial(t.iqn, l.number);
  l.naa = detail::default_naa(t.iqn, l.number);
  t.luns.push_back(l);
  c.targets.push_back(t);
  // Demo state (APTPL reservations) beside the demo disk, not in /var/lib.
  std::string dir = demo_backing_path.substr(0, demo_backing_path.find_last_of('/'));
  c.state_dir = demo_backing_path.find('/') == std::string::npos || dir.empty() || dir[0] != '/'
                    ? c.state_dir
                    : dir;
  c.admin_socket = dir.empty() || dir[0] != '/' ? c.admin_socket : dir + "/admin.sock";
  return c;
}

}  // namespace sharedisk::config
