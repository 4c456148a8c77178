// Shared inputs for the OCFS2 unit tests.
#pragma once

namespace sharedisk::ocfs2::test {

// /etc/ocfs2/cluster.conf of the odoo deployment, as written by hand (docs/deployment.md).
inline constexpr const char* kDeploymentConf =
    "cluster:\n"                       // 1
    "\tnode_count = 2\n"               // 2
    "\tname = ocfs2\n"                 // 3
    "\n"                               // 4
    "node:\n"                          // 5
    "\tip_port = 7777\n"               // 6
    "\tip_address = 192.168.55.111\n"  // 7
    "\tnumber = 1\n"                   // 8
    "\tname = odoo1\n"                 // 9
    "\tcluster = ocfs2\n"              // 10
    "\n"                               // 11
    "node:\n"                          // 12
    "\tip_port = 7777\n"               // 13
    "\tip_address = 192.168.55.112\n"  // 14
    "\tnumber = 2\n"                   // 15
    "\tname = odoo2\n"                 // 16
    "\tcluster = ocfs2\n";             // 17

// The same topology as `o2cb add-cluster ocfs2; o2cb add-node ...` writes it.
inline constexpr const char* kO2cbWrittenConf =
    "cluster:\n"
    "\tname = ocfs2\n"
    "\theartbeat_mode = local\n"
    "\tnode_count = 2\n"
    "\n"
    "node:\n"
    "\tcluster = ocfs2\n"
    "\tnumber = 1\n"
    "\tip_port = 7777\n"
    "\tip_address = 192.168.55.111\n"
    "\tname = odoo1\n"
    "\n"
    "node:\n"
    "\tcluster = ocfs2\n"
    "\tnumber = 2\n"
    "\tip_port = 7777\n"
    "\tip_address = 192.168.55.112\n"
    "\tname = odoo2\n"
    "\n";

}  // namespace sharedisk::ocfs2::test
