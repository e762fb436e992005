#!/usr/bin/env bash
# docs/benchmarks.md: the latest run of every comparison of `make bench` in one page (each
# report's headings one level down), with the machine it ran on. Run by `make bench` after the
# others, from their fresh reports in docs/bench-runs/. The history of each comparison and what
# the figures say are in the hand-written docs/benchmarks-*.md pages, linked from here.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "# lfdb against its peers"
echo
echo "Assembled by \`make bench\` on $(date -u +%F) from the reports below (each says when and how it ran): $(nproc) cores, $(uname -sr),"
echo "$(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo) RAM,"
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) when it was assembled."
echo "Every figure below is a median of interleaved rounds measured in the same run as the peer"
echo "it is compared with; client and servers share the machine's cores (see each section)."
echo "Peers: redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'), nutcracker (twemproxy) 0.5.0,"
echo "ACE 7.0.8 (TP_Reactor, Dev_Poll_Reactor), Asio 1.22, all as Debian ships them."
echo
echo "What each comparison has measured over time, and why the figures moved: docs/benchmarks-server.md,"
echo "benchmarks-durability.md, benchmarks-oltp.md, benchmarks-gateway.md, benchmarks-echo-peers.md and"
echo "benchmarks-echo.md (the handle sets)."
echo
for part in server durability oltp gateway echo-peers; do
  f=docs/bench-runs/$part.md
  [ -f "$f" ] || continue
  echo "---"
  echo
  echo "_From \`$f\`:_"
  echo
  # The report's image links are relative to docs/bench-runs/; this page is in docs/.
  sed -e 's/^#/##/' -e 's#](\.\./#](#g' "$f"
  echo
done
