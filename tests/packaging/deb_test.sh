#!/usr/bin/env bash
# tests/packaging/deb_test.sh BUILD_DIR
#
# Builds ghostlog's .deb from BUILD_DIR with cpack (it packages the binary that
# is already built), lints it, then installs, upgrades, removes and purges it on
# this machine and checks what each step leaves behind. It installs a package
# and creates a system user, so it runs only as root (CI machines are
# throwaway); otherwise it prints why and exits 0. Whatever happens, the
# package is purged at the end.
set -euo pipefail

build="${1:?usage: deb_test.sh BUILD_DIR}"
build="$(cd "$build" && pwd)"

if [ "$(id -u)" -ne 0 ]; then
  echo "deb_test: SKIPPED (not root): installing a .deb and creating the ghostlog user need root"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
CONF=/etc/ghostlog/ghostlog.toml
STATE=/var/lib/ghostlog
UNIT=/lib/systemd/system/ghostlog.service

step() { printf '\n== %s\n' "$*"; }
ok() { printf 'ok   %s\n' "$*"; }
fail() { printf 'FAIL %s\n' "$*" >&2; exit 1; }
expect_eq() {  # expect_eq WHAT ACTUAL EXPECTED
  if [ "$2" = "$3" ]; then ok "$1: $2"; else fail "$1: got '$2', want '$3'"; fi
}
pkg_status() { dpkg-query -W -f='${db:Status-Status}' ghostlog 2>/dev/null || true; }

step "preconditions"
for tool in cpack dpkg dpkg-deb dpkg-shlibdeps lintian systemd-analyze adduser runuser; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/install-deps installs it)"
done
[ -f "$build/CPackConfig.cmake" ] || fail "$build/CPackConfig.cmake is missing: configure the build first"
# On a developer's machine an existing ghostlog install is someone's: leave it
# and fail. CI machines are throwaway (CI=true): an image that already carries
# ghostlog is cleaned first, loudly, so the test starts from nothing.
if [ "${CI:-}" = "true" ]; then
  case "$(pkg_status)" in
    ""|not-installed) ;;
    *) echo "note: CI=true and ghostlog is already $(pkg_status) here: purging it first"; dpkg -P ghostlog ;;
  esac
  if getent passwd ghostlog >/dev/null; then echo "note: CI=true: removing leftover user ghostlog"; userdel ghostlog; fi
  if getent group ghostlog >/dev/null; then groupdel ghostlog; fi
  for p in /etc/ghostlog "$STATE"; do
    if [ -e "$p" ]; then echo "note: CI=true: removing leftover $p"; rm -rf "$p"; fi
  done
fi
case "$(pkg_status)" in
  ""|not-installed) ;;
  *) fail "a ghostlog package is already on this machine ($(pkg_status)): refusing to touch it (CI=true purges it)" ;;
esac
getent passwd ghostlog >/dev/null && fail "a user ghostlog exists without the package: refusing to purge it"
for p in /etc/ghostlog "$STATE"; do [ ! -e "$p" ] || fail "$p exists without the package: refusing to purge it"; done
ok "root, tools present, no ghostlog package, user or directories yet"

tmp="$(mktemp -d /tmp/ghostlog-deb-test.XXXXXX)"
cleanup() {
  local rc=$?
  case "$(pkg_status)" in
    ""|not-installed) ;;
    *) echo "cleanup: dpkg -P ghostlog"; dpkg -P ghostlog >/dev/null 2>&1 || echo "cleanup: purge FAILED" >&2 ;;
  esac
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT

build_deb() {  # build_deb OUTDIR [cpack args...]: prints the .deb's path
  local out="$1"; shift
  if ! cpack -G DEB --config "$build/CPackConfig.cmake" -B "$out" "$@" >"$out.log" 2>&1; then
    cat "$out.log" >&2
    fail "cpack -G DEB $*"
  fi
  local debs=("$out"/ghostlog_*.deb)
  [ "${#debs[@]}" -eq 1 ] && [ -f "${debs[0]}" ] || fail "cpack made no single ghostlog_*.deb in $out"
  echo "${debs[0]}"
}

step "cpack -G DEB (from $build)"
deb1="$(build_deb "$tmp/v1")"
version="$(dpkg-deb -f "$deb1" Version)"
arch="$(dpkg --print-architecture)"
expect_eq "file name" "$(basename "$deb1")" "ghostlog_${version}_${arch}.deb"
dpkg-deb -I "$deb1" | sed 's/^/     /'

step "control fields and contents"
depends="$(dpkg-deb -f "$deb1" Depends)"
for d in adduser libc6 libstdc++6 libpq5 liblz4 libzstd libjemalloc2; do
  [[ "$depends" == *"$d"* ]] || fail "Depends lacks $d (dpkg-shlibdeps): $depends"
done
ok "Depends (shlibdeps): $depends"
for f in Maintainer Description Section Priority; do
  [ -n "$(dpkg-deb -f "$deb1" "$f")" ] || fail "control field $f is empty"
done
ok "Maintainer: $(dpkg-deb -f "$deb1" Maintainer), Section: $(dpkg-deb -f "$deb1" Section)"
dpkg-deb -e "$deb1" "$tmp/control"
expect_eq "conffiles" "$(cat "$tmp/control/conffiles")" "$CONF"
for s in postinst prerm postrm; do
  [ -x "$tmp/control/$s" ] || fail "maintainer script $s missing or not executable"
  head -n 5 "$tmp/control/$s" | grep -q '^set -e' || fail "$s does not use set -e"
done
ok "maintainer scripts: postinst prerm postrm (set -e)"
dpkg-deb -c "$deb1" >"$tmp/contents"
sed 's/^/     /' "$tmp/contents"
while read -r mode path; do
  line="$(awk -v p="./$path" '$6 == p' "$tmp/contents")"
  [ -n "$line" ] || fail "the package lacks /$path"
  expect_eq "/$path" "$(awk '{print $1, $2}' <<<"$line")" "$mode root/root"
done <<'LIST'
-rwxr-xr-x usr/bin/ghostlog
-rw-r----- etc/ghostlog/ghostlog.toml
-rw-r--r-- lib/systemd/system/ghostlog.service
-rw-r--r-- usr/share/doc/ghostlog/README.md
-rw-r--r-- usr/share/doc/ghostlog/copyright
-rw-r--r-- usr/share/doc/ghostlog/changelog.gz
-rw-r--r-- usr/share/lintian/overrides/ghostlog
-rw-r--r-- usr/share/ghostlog/mappings/openlmis-v2-v3/README.md
-rw-r--r-- usr/share/man/man1/ghostlog.1.gz
LIST

step "lintian"
lintian_rc=0
# --show-overrides: the package's own overrides (usr/share/lintian/overrides) print as O: lines.
lintian --show-overrides --tag-display-limit 0 "$deb1" >"$tmp/lintian.txt" 2>"$tmp/lintian.err" || lintian_rc=$?
grep -v 'running with root privileges is not recommended' "$tmp/lintian.err" >&2 || true
if [ -s "$tmp/lintian.txt" ]; then sed 's/^/     /' "$tmp/lintian.txt"; else echo "     (no tags)"; fi
errors="$(grep -c '^E: ' "$tmp/lintian.txt" || true)"
warnings="$(grep -c '^W: ' "$tmp/lintian.txt" || true)"
[ "$errors" -eq 0 ] || fail "lintian: $errors error(s)"
[ "$lintian_rc" -eq 0 ] || fail "lintian exited $lintian_rc"
overridden="$(grep -c '^O: ' "$tmp/lintian.txt" || true)"
ok "lintian: 0 errors, $warnings warning(s), $overridden overridden (listed above)"

step "dpkg -i $(basename "$deb1")"
dpkg -i "$deb1" </dev/null
expect_eq "package status" "$(pkg_status)" "installed"

step "installed files, user, directories"
expect_eq "ghostlog --version" "$(/usr/bin/ghostlog --version)" "ghostlog $version"
# The shipped mapping pack loads and every expression compiles.
printf 'data_dir = "%s/d"\n[transform]\nmappings = "/usr/share/ghostlog/mappings/openlmis-v2-v3"\n' "$tmp" >"$tmp/check.toml"
/usr/bin/ghostlog check --config "$tmp/check.toml" || fail "the shipped mapping pack does not pass ghostlog check"
ok "ghostlog check accepts the shipped openlmis-v2-v3 pack"
[ -f "$CONF" ] || fail "$CONF is missing"
expect_eq "$CONF mode owner group" "$(stat -c '%a %U %G' "$CONF")" "640 root ghostlog"
IFS=: read -r _ _ uid gid _ home shell < <(getent passwd ghostlog) || fail "no user ghostlog"
expect_eq "ghostlog shell" "$shell" "/usr/sbin/nologin"
expect_eq "ghostlog home" "$home" "$STATE"
[ "$uid" -lt 1000 ] || fail "ghostlog uid $uid is not a system uid"
expect_eq "ghostlog primary group" "$(getent group "$gid" | cut -d: -f1)" "ghostlog"
ok "ghostlog is system user $uid"
expect_eq "$STATE mode owner group" "$(stat -c '%a %U %G' "$STATE")" "700 ghostlog ghostlog"
[ -f "$UNIT" ] || fail "$UNIT is missing"
ok "$UNIT installed"
zcat /usr/share/doc/ghostlog/changelog.gz | head -n 1 | grep -qF "ghostlog ($version)" \
  || fail "changelog.gz does not start with ghostlog ($version)"
ok "changelog.gz names $version"

step "the shipped config, as the daemon sees it"
# `status` loads the config strictly, then looks for the daemon's status file.
out="$(runuser -u ghostlog -- /usr/bin/ghostlog status --config "$CONF" 2>&1 || true)"
[[ "$out" == *"no status in $STATE"* ]] || fail "ghostlog cannot load $CONF as user ghostlog: $out"
ok "user ghostlog reads and loads $CONF"
# The commented example ([source], [sink], ...) must stay loadable too.
sed -e 's/^#\([a-z[]\)/\1/' -e "s|^data_dir = .*|data_dir = \"$tmp/data\"|" "$CONF" >"$tmp/example.toml"
out="$(/usr/bin/ghostlog status --config "$tmp/example.toml" 2>&1 || true)"
[[ "$out" == *"no status in $tmp/data"* ]] || fail "the config's commented example does not load: $out"
ok "the commented example loads once uncommented"
# As shipped, nothing is configured: run refuses with exit 2, which the unit's
# RestartPreventExitStatus=2 does not retry.
rc=0
out="$(runuser -u ghostlog -- /usr/bin/ghostlog run --config "$CONF" 2>&1)" || rc=$?
[ "$rc" -eq 2 ] && [[ "$out" == *"configures no stage"* ]] || fail "ghostlog run with the shipped config: exit $rc: $out"
ok "ghostlog run --config $CONF as ghostlog: exit 2, configures no stage"

step "the systemd unit (offline)"
verify_rc=0
systemd-analyze verify "$UNIT" >"$tmp/verify.txt" 2>&1 || verify_rc=$?
if [ "$verify_rc" -eq 0 ] && [ ! -s "$tmp/verify.txt" ]; then
  ok "systemd-analyze verify $UNIT: clean"
elif grep -qiE 'ghostlog\.service|/usr/bin/ghostlog|ghostlog\.toml' "$tmp/verify.txt"; then
  cat "$tmp/verify.txt" >&2
  fail "systemd-analyze verify $UNIT"
else
  echo "SKIP systemd-analyze verify: it cannot run here (exit $verify_rc, nothing about ghostlog.service):"
  sed 's/^/     /' "$tmp/verify.txt"
fi
security="$(systemd-analyze security --offline=true --no-pager "$UNIT" 2>&1 | sed -n 's/.*Overall exposure level for ghostlog.service: \([0-9.]*\).*/\1/p')"
[ -n "$security" ] || fail "systemd-analyze security --offline=true printed no exposure level"
awk -v s="$security" 'BEGIN { exit !(s <= 2.0) }' || fail "exposure level $security > 2.0"
ok "systemd-analyze security --offline=true: exposure $security (<= 2.0)"

step "upgrade keeps the edited config and the data"
sed -i 's/^level = "info"/level = "debug"/' "$CONF"
echo "# edited by deb_test" >>"$CONF"
conf_sum="$(sha256sum <"$CONF")"
echo "keep me" >"$STATE/deb_test.marker"
chown ghostlog:ghostlog "$STATE/deb_test.marker"
version2="${version}+debtest1"
deb2="$(build_deb "$tmp/v2" -D CPACK_PACKAGE_VERSION="$version2")"
expect_eq "upgrade file name" "$(basename "$deb2")" "ghostlog_${version2}_${arch}.deb"
dpkg --compare-versions "$version2" gt "$version" || fail "$version2 is not newer than $version"
dpkg -i "$deb2" </dev/null
expect_eq "package version" "$(dpkg-query -W -f='${Version}' ghostlog)" "$version2"
expect_eq "edited config" "$(sha256sum <"$CONF")" "$conf_sum"
for f in "$CONF.dpkg-dist" "$CONF.dpkg-new" "$CONF.dpkg-old"; do [ ! -e "$f" ] || fail "$f appeared"; done
expect_eq "$CONF mode owner group" "$(stat -c '%a %U %G' "$CONF")" "640 root ghostlog"
expect_eq "data marker" "$(cat "$STATE/deb_test.marker")" "keep me"
expect_eq "$STATE mode owner group" "$(stat -c '%a %U %G' "$STATE")" "700 ghostlog ghostlog"
zcat /usr/share/doc/ghostlog/changelog.gz | head -n 1 | grep -qF "ghostlog ($version2)" \
  || fail "changelog.gz does not name $version2"
ok "changelog.gz names $version2"

step "reinstall the same version (maintainer scripts are idempotent)"
dpkg -i "$deb2" </dev/null
expect_eq "package status" "$(pkg_status)" "installed"
expect_eq "edited config" "$(sha256sum <"$CONF")" "$conf_sum"
expect_eq "$CONF mode owner group" "$(stat -c '%a %U %G' "$CONF")" "640 root ghostlog"
expect_eq "$STATE mode owner group" "$(stat -c '%a %U %G' "$STATE")" "700 ghostlog ghostlog"

step "dpkg -r keeps data, config and user"
dpkg -r ghostlog </dev/null
expect_eq "package status" "$(pkg_status)" "config-files"
[ ! -e /usr/bin/ghostlog ] || fail "/usr/bin/ghostlog is still there"
ok "/usr/bin/ghostlog removed"
expect_eq "config kept" "$(sha256sum <"$CONF")" "$conf_sum"
expect_eq "data marker" "$(cat "$STATE/deb_test.marker")" "keep me"
getent passwd ghostlog >/dev/null || fail "dpkg -r removed the user ghostlog"
ok "user ghostlog kept"

step "dpkg -P removes config, data, user and group"
dpkg -P ghostlog </dev/null
case "$(pkg_status)" in
  ""|not-installed) ok "package status: purged" ;;
  *) fail "package status after purge: $(pkg_status)" ;;
esac
for p in /etc/ghostlog "$STATE" "$UNIT"; do [ ! -e "$p" ] || fail "$p survived the purge"; done
ok "/etc/ghostlog, $STATE and the unit are gone"
! getent passwd ghostlog >/dev/null || fail "user ghostlog survived the purge"
! getent group ghostlog >/dev/null || fail "group ghostlog survived the purge"
ok "user and group ghostlog are gone"
for p in /etc/systemd/system/ghostlog.service /var/lib/systemd/deb-systemd-helper-enabled/ghostlog.service.dsh-also \
         /var/lib/systemd/deb-systemd-helper-masked/ghostlog.service; do
  [ ! -e "$p" ] && [ ! -L "$p" ] || fail "$p survived the purge"
done
ok "no systemd enable/mask state left"

printf '\ndeb_test: PASS (%s, upgrade to %s, lintian: %s warning(s))\n' "$version" "$version2" "$warnings"
