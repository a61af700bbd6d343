#!/bin/sh
# peerops check of a pull request against a state repo, for any CI (github-pr.yml and
# forgejo-pr.yml next to this script do the same on GitHub and Forgejo Actions).
#
# usage: check-pr.sh BASE [HEAD]     run in the state repo's work tree (with full history)
#
#   BASE  the target branch's commit, e.g. origin/main
#   HEAD  the pull request's commit (default: HEAD)
#
# 1. peerops check-pr: validate the head and review the change (standard output);
# 2. peerops plan of every router the change touches, from a simulated fleet converged at
#    BASE, appended to the summary.
#
# Environment:
#   PEEROPS_FORMAT    text (default), markdown, github or json: the review on standard output
#   PEEROPS_SUMMARY   a file that receives the review and the plans as Markdown
#   PEEROPS_PACKAGE   what `pip install` installs when peerops is not on PATH (default: peerops)
#
# Exit status is peerops check-pr's: 0 fine, 1 invalid (or a link would not come up),
# 3 the change needs an operator's eye (key takeover, router file, more than one peering).
set -eu

usage() {
	echo "usage: check-pr.sh BASE [HEAD]" >&2
	exit 1
}
[ $# -ge 1 ] && [ $# -le 2 ] || usage
base=$1
head=${2:-HEAD}
summary=${PEEROPS_SUMMARY:-/dev/null}

if ! command -v peerops >/dev/null 2>&1; then
	python3 -m pip install --quiet "${PEEROPS_PACKAGE:-peerops}"
fi

status=0
peerops check-pr --base "$base" --head "$head" --format "${PEEROPS_FORMAT:-text}" \
	--summary "$summary" . || status=$?

# Routers whose directory or file the change touches and that exist at the head.
routers=$(git diff --name-only "$base" "$head" -- peers routers |
	sed -n -e 's#^peers/\([a-z][a-z0-9-]*\)/.*#\1#p' -e 's#^routers/\([a-z][a-z0-9-]*\)\.yaml$#\1#p' |
	sort -u)
if [ "$status" -ne 1 ]; then
	for router in $routers; do
		git cat-file -e "$head:routers/$router.yaml" 2>/dev/null || continue
		rc=0
		peerops plan --repo . --router "$router" --base "$base" --head "$head" \
			--format markdown >>"$summary" || rc=$?
		[ "$rc" -eq 0 ] || [ "$rc" -eq 2 ] || echo "peerops plan --router $router: exit $rc" >&2
	done
fi
exit "$status"
