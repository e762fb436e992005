#!/usr/bin/env bash
echo "demo: the echo demo is not built yet" >&2
exit 1
