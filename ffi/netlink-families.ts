// The netlink protocols a [[socket]] may name in listen_netlink, by systemd's names
// (its netlink_family table, src/basic/socket-util.c). Pure: config code reads it.
//
// Numbers: include/uapi/linux/netlink.h (NETLINK_INET_DIAG is NETLINK_SOCK_DIAG's old
// name; NETLINK_FIREWALL is unused since Linux 3.5 and kept for its number).

export const NETLINK_FAMILIES: Readonly<Record<string, number>> = {
  route: 0,
  firewall: 3,
  "inet-diag": 4,
  nflog: 5,
  xfrm: 6,
  selinux: 7,
  iscsi: 8,
  audit: 9,
  "fib-lookup": 10,
  connector: 11,
  netfilter: 12,
  "ip6-fw": 13,
  dnrtmsg: 14,
  "kobject-uevent": 15,
  generic: 16,
  scsitransport: 18,
  ecryptfs: 19,
  rdma: 20,
};

/** systemd's fallback: a number names a protocol too, up to INT_MAX. */
export const NETLINK_FAMILY_MAX = 2 ** 31 - 1;

/** The name of a protocol number, or the number itself when systemd has no name for it. */
export function netlinkFamilyName(protocol: number): string {
  for (const [name, number] of Object.entries(NETLINK_FAMILIES)) if (number === protocol) return name;
  return String(protocol);
}
