// Portals (parse_endpoint), CIDR networks (parse_network, Network::contains)
// and the per-target access check built on them.
#include <gtest/gtest.h>

#include "config/config.h"

namespace sharedisk::config {
namespace {

Endpoint endpoint(const std::string& text, uint16_t default_port = 3260) {
  Endpoint e;
  std::string err = parse_endpoint(text, default_port, e);
  EXPECT_EQ(err, "") << text;
  return e;
}

Network network(const std::string& text) {
  Network n;
  std::string err = parse_network(text, n);
  EXPECT_EQ(err, "") << text;
  return n;
}

std::string endpoint_error(const std::string& text, uint16_t default_port = 3260) {
  Endpoint e;
  return parse_endpoint(text, default_port, e);
}

std::string network_error(const std::string& text) {
  Network n;
  return parse_network(text, n);
}

TEST(Endpoint, ParsesIpv4AndIpv6WithAndWithoutPort) {
  Endpoint a = endpoint("127.0.0.1:3261");
  EXPECT_EQ(a.address, "127.0.0.1");
  EXPECT_EQ(a.port, 3261);
  EXPECT_FALSE(a.v6());
  EXPECT_EQ(a.to_string(), "127.0.0.1:3261");

  Endpoint b = endpoint("192.168.55.102");
  EXPECT_EQ(b.port, 3260);

  Endpoint c = endpoint("[::1]:3260");
  EXPECT_EQ(c.address, "::1");
  EXPECT_TRUE(c.v6());
  EXPECT_EQ(c.to_string(), "[::1]:3260");

  // Stored canonical, so duplicates spelled differently are still found.
  Endpoint d = endpoint("[fd00:0:0:0::0001]");
  EXPECT_EQ(d.address, "fd00::1");
  EXPECT_EQ(d.port, 3260);
  EXPECT_EQ(endpoint("[::]:65535").port, 65535);
}

TEST(Endpoint, RejectsNamesBadPortsAndBareIpv6) {
  EXPECT_NE(endpoint_error("lb2:3260").find("not a numeric IPv4"), std::string::npos);
  EXPECT_NE(endpoint_error("::1").find("brackets"), std::string::npos);
  EXPECT_NE(endpoint_error("[::1").find("missing ']'"), std::string::npos);
  EXPECT_NE(endpoint_error("[::1]3260").find("':port'"), std::string::npos);
  EXPECT_NE(endpoint_error("[127.0.0.1]:3260").find("IPv6"), std::string::npos);
  EXPECT_NE(endpoint_error("1.2.3.4:0").find("between 1 and 65535"), std::string::npos);
  EXPECT_NE(endpoint_error("1.2.3.4:65536").find("between 1 and 65535"), std::string::npos);
  EXPECT_NE(endpoint_error("1.2.3.4:-1").find("not a number"), std::string::npos);
  EXPECT_NE(endpoint_error("1.2.3.4:").find("empty port"), std::string::npos);
  EXPECT_NE(endpoint_error("1.2.3.4", 0).find("port is required"), std::string::npos);
  EXPECT_NE(endpoint_error(""), "");
}

TEST(Network, ParsesCidrAndBareAddresses) {
  Network n = network("192.168.55.0/24");
  EXPECT_FALSE(n.v6);
  EXPECT_EQ(n.prefix, 24);
  EXPECT_EQ(n.text, "192.168.55.0/24");
  EXPECT_EQ(network("10.1.2.3").prefix, 32);
  EXPECT_EQ(network("fd00::1").prefix, 128);
  EXPECT_TRUE(network("fd00::/8").v6);
  EXPECT_EQ(network("0.0.0.0/0").prefix, 0);
}

TEST(Network, RejectsHostBitsAndBadPrefixes) {
  std::string err = network_error("192.168.55.1/24");
  EXPECT_NE(err.find("host bits"), std::string::npos) << err;
  EXPECT_NE(err.find("192.168.55.0/24"), std::string::npos) << err;  // the fix is suggested
  EXPECT_NE(network_error("fd00::1/64").find("fd00::/64"), std::string::npos);
  EXPECT_NE(network_error("10.0.0.0/33").find("0..32"), std::string::npos);
  EXPECT_NE(network_error("fd00::/129").find("0..128"), std::string::npos);
  EXPECT_NE(network_error("10.0.0.0/").find("prefix length"), std::string::npos);
  EXPECT_NE(network_error("lan/24").find("not a numeric"), std::string::npos);
}

TEST(Network, ContainsIpv4) {
  Network n = network("192.168.55.0/24");
  EXPECT_TRUE(n.contains("192.168.55.111"));
  EXPECT_TRUE(n.contains("192.168.55.0"));
  EXPECT_TRUE(n.contains("192.168.55.255"));
  EXPECT_FALSE(n.contains("192.168.56.1"));
  EXPECT_FALSE(n.contains("192.168.54.255"));
  EXPECT_FALSE(n.contains("fd00::1"));
  EXPECT_FALSE(n.contains("not an address"));
  EXPECT_FALSE(n.contains(""));

  Network odd = network("10.0.0.0/13");  // prefix not on a byte boundary
  EXPECT_TRUE(odd.contains("10.7.255.255"));
  EXPECT_FALSE(odd.contains("10.8.0.0"));

  Network host = network("192.168.55.111");
  EXPECT_TRUE(host.contains("192.168.55.111"));
  EXPECT_FALSE(host.contains("192.168.55.112"));

  Network all = network("0.0.0.0/0");
  EXPECT_TRUE(all.contains("8.8.8.8"));
  EXPECT_FALSE(all.contains("::1"));
}

TEST(Network, ContainsIpv6) {
  Network n = network("fd00:55::/32");
  EXPECT_TRUE(n.contains("fd00:55::1"));
  EXPECT_TRUE(n.contains("fd00:55:ffff::1"));
  EXPECT_TRUE(n.contains("[fd00:55::1]"));
  EXPECT_TRUE(n.contains("fd00:55::1%eth0"));  // a zone index does not matter
  EXPECT_FALSE(n.contains("fd00:56::1"));
  EXPECT_FALSE(n.contains("192.168.55.1"));

  Network odd = network("fe80::/10");
  EXPECT_TRUE(odd.contains("febf::1"));
  EXPECT_FALSE(odd.contains("fec0::1"));
}

TEST(Network, V4MappedPeersMatchIpv4Rules) {
  // A dual-stack [::] portal reports IPv4 peers as ::ffff:a.b.c.d.
  Network v4 = network("192.168.55.0/24");
  EXPECT_TRUE(v4.contains("::ffff:192.168.55.111"));
  EXPECT_TRUE(v4.contains("::FFFF:c0a8:376f"));  // the same, in hex
  EXPECT_FALSE(v4.contains("::ffff:192.168.56.1"));
  EXPECT_FALSE(v4.contains("::192.168.55.111"));  // deprecated v4-compatible, not mapped

  // And a mapped network matches plain IPv4 peers.
  Network mapped = network("::ffff:192.168.55.0/120");
  EXPECT_TRUE(mapped.contains("192.168.55.7"));
  EXPECT_FALSE(mapped.contains("192.168.56.7"));
}

TEST(TargetAccess, BothListsMustAllow) {
  Target open;
  EXPECT_TRUE(open.allows("iqn.2004-10.com.ubuntu:01:abc", "10.9.8.7"));

  Target t;
  t.allowed_networks.push_back(network("192.168.55.0/24"));
  EXPECT_TRUE(t.allows("iqn.2004-10.com.ubuntu:01:abc", "192.168.55.111"));
  EXPECT_TRUE(t.allows("iqn.2004-10.com.ubuntu:01:abc", "::ffff:192.168.55.111"));
  EXPECT_FALSE(t.allows("iqn.2004-10.com.ubuntu:01:abc", "192.168.1.5"));

  t.allowed_initiators.push_back("iqn.2004-10.com.ubuntu:01:odoo1");
  EXPECT_TRUE(t.allows("iqn.2004-10.com.ubuntu:01:odoo1", "192.168.55.111"));
  EXPECT_TRUE(t.allows("IQN.2004-10.COM.UBUNTU:01:ODOO1", "192.168.55.111"));
  EXPECT_FALSE(t.allows("iqn.2004-10.com.ubuntu:01:odoo2", "192.168.55.112"));
  EXPECT_FALSE(t.allows("iqn.2004-10.com.ubuntu:01:odoo1", "10.0.0.1"));
}

}  // namespace
}  // namespace sharedisk::config
