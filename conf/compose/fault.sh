#!/usr/bin/env bash
# Faults for the compose lab, the counterpart of `failover lab fault` (run on the Docker host, as
# root, from the repo root, with the lab up):
#
#   conf/compose/fault.sh wan-carrier   # the router's WAN loses carrier
#   conf/compose/fault.sh wan-path      # carrier stays up, the ISP stops forwarding
#   conf/compose/fault.sh target-silence  # icmp1 (192.0.2.53) stops answering echo: a target fault
#   conf/compose/fault.sh target-clear
#   conf/compose/fault.sh clear
#
# wan-carrier sets the host-side end of the router's wan0 veth down: in Docker the router's
# peer is a port of the host's bridge, not the ISP container, so downing isp0 inside the ISP
# would not touch wan0's carrier. Needs a rootful Docker on Linux (not Docker Desktop's VM).
set -euo pipefail

die() { echo "fault: $*" >&2; exit 2; }

wan_peer() {
	local idx
	idx=$(docker compose exec -T router cat /sys/class/net/wan0/iflink) || die "is the router up?"
	idx=${idx//[^0-9]/}
	ip -o link show | awk -F': ' -v i="$idx" '$1 == i { sub(/@.*/, "", $2); print $2 }'
}

peer_set() {
	local peer
	peer=$(wan_peer)
	[[ -n $peer ]] || die "no host interface is the router's wan0 peer (run this on the Docker host, as root)"
	ip link set dev "$peer" "$1"
	echo "host $peer (router wan0's peer) $1"
}

isp_forward() {
	if [[ $1 == off ]]; then
		docker compose exec -T isp nft -f - <<'NFT'
table ip fault {
	chain forward {
		type filter hook forward priority 0; policy drop;
	}
}
NFT
	else
		docker compose exec -T isp sh -c 'nft delete table ip fault 2>/dev/null || true'
	fi
	echo "isp forwarding $1"
}

# The path check's first echo-only target drops echo requests (as `failover lab fault target-silence`).
target() {
	if [[ $1 == silence ]]; then
		docker compose exec -T icmp1 nft -f - <<'NFT'
table ip labfault {
	chain input {
		type filter hook input priority 0;
		icmp type echo-request drop
	}
}
NFT
	else
		docker compose exec -T icmp1 sh -c 'nft delete table ip labfault 2>/dev/null || true'
	fi
	echo "target icmp1 $1"
}

case "${1:-}" in
wan-carrier) peer_set down ;;
wan-path) isp_forward off ;;
target-silence) target silence ;;
target-clear) target answers ;;
clear) peer_set up; isp_forward on; target answers ;;
*) die "usage: $0 wan-carrier|wan-path|target-silence|target-clear|clear" ;;
esac
