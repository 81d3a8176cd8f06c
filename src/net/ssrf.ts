import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import { AppError } from '../errors.js';

/** The `code` of the error a connection refused by `outboundAgent` fails with. */
export const SSRF_REFUSED = 'ERR_AIRLOCK_SSRF';

/** The fix a refusal names; private targets are for development. */
const ALLOW_HINT = 'set deliver.allowPrivateNetwork: true for development';

/** IPv4 ranges Airlock does not POST to, most specific first: the first match names the reason. */
const IPV4_RANGES: readonly (readonly [reason: string, network: string, prefix: number])[] = [
  // AWS/GCP/Azure/OCI (169.254.169.254), AWS ECS task (169.254.170.2), Alibaba (100.100.100.200).
  ['metadata', '169.254.169.254', 32],
  ['metadata', '169.254.170.2', 32],
  ['metadata', '100.100.100.200', 32],
  ['unspecified', '0.0.0.0', 8],
  ['loopback', '127.0.0.0', 8],
  ['private', '10.0.0.0', 8],
  ['private', '172.16.0.0', 12],
  ['private', '192.168.0.0', 16],
  ['link-local', '169.254.0.0', 16],
  ['cgnat', '100.64.0.0', 10],
  ['reserved', '192.0.0.0', 24],
  ['reserved', '198.18.0.0', 15],
  ['multicast', '224.0.0.0', 4],
  ['broadcast', '255.255.255.255', 32],
  ['reserved', '240.0.0.0', 4],
];

const IPV6_RANGES: readonly (readonly [reason: string, network: string, prefix: number])[] = [
  ['metadata', 'fd00:ec2::254', 128],
  ['unspecified', '::', 128],
  ['loopback', '::1', 128],
  ['unique-local', 'fc00::', 7],
  ['link-local', 'fe80::', 10],
  ['site-local', 'fec0::', 10],
  ['multicast', 'ff00::', 8],
  ['private', '64:ff9b:1::', 48],
  // An IPv4 address embedded in the NAT64 well-known prefix reaches that IPv4 address.
  ...IPV4_RANGES.map(
    ([reason, network, prefix]) => [reason, `64:ff9b::${network}`, 96 + prefix] as const,
  ),
];

/** One BlockList per range, in the order above: a reason's ranges are not contiguous. */
const BLOCKS: readonly (readonly [reason: string, list: BlockList])[] = [
  ...IPV4_RANGES.map(([reason, network, prefix]) => block(reason, network, prefix, 'ipv4')),
  ...IPV6_RANGES.map(([reason, network, prefix]) => block(reason, network, prefix, 'ipv6')),
];

function block(reason: string, network: string, prefix: number, type: 'ipv4' | 'ipv6') {
  const list = new BlockList();
  list.addSubnet(network, prefix, type);
  return [reason, list] as const;
}

/**
 * Why Airlock must not connect to `ip`, or null when it is a public address: `loopback`,
 * `private`, `link-local`, `unique-local`, `site-local`, `cgnat`, `unspecified`, `multicast`,
 * `broadcast`, `reserved` or `metadata`. IPv4-mapped IPv6 (`::ffff:127.0.0.1`) and the NAT64
 * prefix (`64:ff9b::a00:1`) count as the IPv4 address they carry; a zone (`%eth0`) is ignored.
 * Anything that is not an IP address is `not an IP address`.
 */
export function forbiddenAddress(ip: string): string | null {
  // BlockList does not match a scoped address (`fe80::1%eth0`) against its subnet.
  const address = ip.replace(/%.*$/, '');
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  // An IPv4 rule also matches the IPv4-mapped IPv6 form (documented BlockList behaviour).
  for (const [reason, list] of BLOCKS) if (list.check(address, type)) return reason;
  return null;
}

function ssrfRefusal(host: string, address: string, reason: string): AppError {
  return new AppError(
    SSRF_REFUSED,
    502,
    `refused to connect to ${host}: address ${address} is forbidden (${reason})`,
    { details: { host, address, reason } },
  );
}

/**
 * `dns.lookup` that resolves every address of `hostname` and refuses the lot when any is
 * forbidden, then answers the socket with exactly the addresses it checked, so a second
 * resolution (DNS rebinding) cannot slip a private address in.
 */
const checkedLookup: LookupFunction = (hostname, options: LookupOptions, callback) => {
  dnsLookup(
    hostname,
    { family: options.family, hints: options.hints, all: true },
    (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '');
      for (const { address } of addresses) {
        const reason = forbiddenAddress(address);
        if (reason) return callback(ssrfRefusal(hostname, address, reason), '');
      }
      const [first] = addresses;
      if (options.all) return callback(null, addresses);
      if (!first) return callback(new Error(`${hostname} has no address`), '');
      callback(null, first.address, first.family);
    },
  );
};

/** A connector that checks literal IP hosts itself (Node does not look those up) and names. */
function checkedConnector(): buildConnector.connector {
  const connect = buildConnector({ lookup: checkedLookup });
  return (options, callback) => {
    const reason = isIP(options.hostname) ? forbiddenAddress(options.hostname) : null;
    if (reason) {
      const refusal = ssrfRefusal(options.hostname, options.hostname, reason);
      // Asynchronously, as a real connection attempt fails: undici resumes its queue on it.
      queueMicrotask(() => callback(refusal, null));
      return;
    }
    connect(options, callback);
  };
}

const agents = new Map<boolean, Agent>();

/**
 * The undici dispatcher for POSTs to URLs an agent's config names. Unless
 * `allowPrivateNetwork`, a connection to a forbidden address (`forbiddenAddress`), by literal
 * IP or by any address its name resolves to, fails with an AppError of code
 * `ERR_AIRLOCK_SSRF` naming host, address and reason. One pooled Agent per setting.
 */
export function outboundAgent(options: { allowPrivateNetwork: boolean }): Dispatcher {
  const allow = options.allowPrivateNetwork;
  let agent = agents.get(allow);
  if (!agent) {
    agent = allow ? new Agent() : new Agent({ connect: checkedConnector() });
    agents.set(allow, agent);
  }
  return agent;
}

/**
 * What is wrong with `url` as a delivery target, judged from the URL alone at start-up, or
 * null: credentials in it, or (unless `allowPrivateNetwork`) a literal forbidden IP or
 * `localhost`/`*.localhost`. Other names are checked when connecting (`outboundAgent`).
 */
export function urlProblem(url: string, allowPrivateNetwork: boolean): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a valid URL';
  }
  if (parsed.username || parsed.password)
    return 'has credentials in it; remove them (the Standard Webhooks signature authenticates Airlock)';
  if (allowPrivateNetwork) return null;
  // The URL parser has already normalised `0x7f.1` and `2130706433` to `127.0.0.1`.
  const host = parsed.hostname
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '')
    .toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost'))
    return `${host} is a loopback name; ${ALLOW_HINT}`;
  const reason = isIP(host) ? forbiddenAddress(host) : null;
  return reason ? `${host} is a forbidden address (${reason}); ${ALLOW_HINT}` : null;
}
