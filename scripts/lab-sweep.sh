#!/bin/sh
# Removes what a crashed lab test left behind: namespaces named mdlab-<pid>-* whose test
# process <pid> is gone (and every process still inside them), and their /tmp/mdlab-*
# directories.  Labs of tests still running are left alone.
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^mdlab-'); do
	owner=$(echo "$ns" | sed -n 's/^mdlab-\([0-9]*\)-.*/\1/p')
	[ -n "$owner" ] && kill -0 "$owner" 2>/dev/null && continue
	pids=$(ip netns pids "$ns" 2>/dev/null)
	[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
	ip netns delete "$ns" 2>/dev/null
	echo "lab-sweep: removed leftover namespace $ns"
done
for d in /tmp/mdlab-*; do
	[ -d "$d" ] || continue
	owner=$(echo "$d" | sed -n 's|^/tmp/mdlab-\([0-9]*\)-.*|\1|p')
	[ -n "$owner" ] && kill -0 "$owner" 2>/dev/null && continue
	rm -rf "$d"
done
exit 0
