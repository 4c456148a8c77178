// Example: a provisioning step that builds the odoo cluster.conf with the library, checks it
// and prints it as ocfs2-tools would write it.
#include <sharedisk/ocfs2/ocfs2.h>

#include <iostream>

int main() {
  namespace o = sharedisk::ocfs2;
  o::ClusterConf conf;
  o::Diagnostics d = o::add_cluster(conf, "ocfs2");
  for (const auto& [name, ip, number] :
       {std::tuple{"odoo1", "192.168.55.111", 1u}, std::tuple{"odoo2", "192.168.55.112", 2u}}) {
    o::NewNode node;
    node.cluster = "ocfs2";
    node.name = name;
    node.ip_address = ip;
    node.number = number;
    for (auto& x : o::add_node(conf, node)) d.push_back(x);
  }
  o::ValidateOptions options;
  options.local_node = "odoo1";
  for (auto& x : o::validate_cluster_conf(conf, options)) d.push_back(x);
  for (const auto& x : d) std::cerr << x.to_string() << "\n";
  if (o::has_errors(d)) return 1;

  const o::ParseResult again = o::parse_cluster_conf(o::format_cluster_conf(conf));
  std::cout << "sharedisk-ocfs2 " << SHAREDISK_OCFS2_VERSION << ": fstab-ready cluster "
            << again.conf.clusters.at(0).name << " with " << again.conf.nodes.size() << " nodes\n";
  return again.ok() ? 0 : 1;
}
