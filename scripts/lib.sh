# Shared by the scripts in this directory: installs what they need from
# Debian's packages when it is missing.

# ensure_packages COMMAND:PACKAGE... installs PACKAGE when COMMAND is not on
# the PATH, with apt-get (through sudo when not root).
ensure_packages() {
    missing=""
    for pair in "$@"; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || missing="$missing ${pair#*:}"
    done
    [ -z "$missing" ] && return 0
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    echo "installing$missing" >&2
    $sudo apt-get update -qq
    # shellcheck disable=SC2086 # one word per package
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
}
