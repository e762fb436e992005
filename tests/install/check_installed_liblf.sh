#!/usr/bin/env bash
# liblf as another project sees it: installed from the build tree into a fresh prefix
# (cmake --install; liblf is the only thing with install rules), then the program in
# examples/installed_liblf built against that copy twice, with find_package(liblf) and with
# pkg-config, and run. Only the prefix is visible to those builds: nothing of the source tree.
#   check_installed_liblf.sh BUILD_DIR SOURCE_DIR CXX GENERATOR
set -euo pipefail
build=$1 src=$2 cxx=$3 generator=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
example=$src/examples/installed_liblf

cmake --install "$build" --prefix "$prefix" >"$work/install.log"
test -f "$prefix/include/lf/concurrency_model.hpp" || { echo "no headers under $prefix/include/lf"; exit 1; }

echo "== find_package(liblf)"
cmake -S "$example" -B "$work/by-cmake" -G "$generator" -DCMAKE_CXX_COMPILER="$cxx" \
      -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" >"$work/configure.log" ||
  { cat "$work/configure.log"; exit 1; }
cmake --build "$work/by-cmake" >"$work/build.log" || { cat "$work/build.log"; exit 1; }
"$work/by-cmake/uppercase_echo"

echo "== pkg-config liblf"
pc=$(find "$prefix" -name liblf.pc)
flags=$(PKG_CONFIG_LIBDIR="$(dirname "$pc")" pkg-config --cflags --libs liblf)
echo "flags: $flags"
# shellcheck disable=SC2086 # the flags are words
"$cxx" -std=c++20 -O2 "$example/main.cpp" -o "$work/by-pkg-config" $flags
"$work/by-pkg-config"
