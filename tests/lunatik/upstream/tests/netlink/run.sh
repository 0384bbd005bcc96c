#!/bin/bash
#
# SPDX-FileCopyrightText: (c) 2026 Ring Zero Desenvolvimento de Software LTDA
# SPDX-License-Identifier: MIT OR GPL-2.0-only
#
# Runs all netlink tests and reports aggregated KTAP results.
#
# Usage: sudo bash tests/netlink/run.sh

DIR="$(dirname "$(readlink -f "$0")")"
FAILED=0

SEP=$'\n'
for t in "$DIR"/socket.sh "$DIR"/message.sh "$DIR"/session.sh "$DIR"/genl_family.sh \
	"$DIR"/link_list.sh "$DIR"/link_updown.sh "$DIR"/addr_list.sh "$DIR"/route_list.sh "$DIR"/route_adddel.sh "$DIR"/rule_adddel.sh \
	"$DIR"/channel.sh "$DIR"/nl80211.sh "$DIR"/nl80211_iface.sh "$DIR"/nl80211_ap.sh "$DIR"/nl80211_station.sh; do
	echo "${SEP}# --- $(basename "$t") ---"
	bash "$t" || FAILED=$((FAILED+1))
done

exit $FAILED

