# Shared by setup.sh and setup-test.sh (sourced, not run): install Debian packages quietly, and
# on failure print apt's whole output so the reason is visible.
apt_install() {
  command -v apt-get >/dev/null || return 0
  local sudo="" log
  [ "$(id -u)" = 0 ] || sudo="sudo"
  log="$(mktemp)"
  if ! { $sudo apt-get update -qq \
      && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@"; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "setup: apt-get install $* failed (apt's output above)" >&2
    return 1
  fi
  rm -f "$log"
}
