#!/usr/bin/env bash
# Throwaway Samba AD domain controllers on loopback, for the LDAP integration tests and benchmarks.
#
#   scripts/samba-ad-dc.sh start   install Samba when missing, provision, start, wait; write $DIR/env
#   scripts/samba-ad-dc.sh stop    stop the servers started from $DIR and remove $DIR
#
# Two servers come up from one provision (the schema is what differs):
#   plain     a fresh AD schema: no Exchange attributes (no mailNickname, no targetAddress)
#   exchange  the same domain with mailNickname, targetAddress and msExchRecipientTypeDetails added, as the
#             Exchange schema extension adds them (same attribute OIDs, on the mailRecipient class)
# Each listens on its own loopback address (Samba's ports are fixed: 389, 636, 3268, 3269), chosen
# free under a lock, so several test runs on one machine don't collide.
#
# $DIR is DUPFIX_SAMBA_DIR (default /tmp/dupfix-samba). `start` writes $DIR/env, which exports
# DUPFIX_TEST_LDAP_URL, DUPFIX_TEST_LDAP_EXCHANGE_URL, DUPFIX_TEST_LDAP_BASE, DUPFIX_TEST_LDAP_USER,
# DUPFIX_TEST_LDAP_PASSWORD, DUPFIX_TEST_LDAP_CA_FILE (the CA that signed the servers' TLS
# certificates) and DUPFIX_TEST_SAMBA_DIR. Needs root: the Debian packages, port 389, and
# `samba-tool domain provision` (it chowns sysvol) all do.
set -euo pipefail

DIR="${DUPFIX_SAMBA_DIR:-/tmp/dupfix-samba}"
REALM=EXAMPLE.TEST
DOMAIN=EXAMPLE
BASE="DC=example,DC=test"
ADMIN_PASSWORD="${DUPFIX_SAMBA_ADMIN_PASSWORD:-Dupfix-Test-0nly!}"
LOCK=/tmp/dupfix-samba-ports.lock
PACKAGES=(samba-ad-dc samba-ad-provision samba-vfs-modules openssl)

say() { echo "samba-ad-dc: $*" >&2; }
die() { say "error: $*"; exit 1; }

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ "${#missing[@]}" -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "Debian packages ${missing[*]} are missing and installing them needs root (run as root, or install them first)"
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$DIR/apt.log" 2>&1 \
    || { tail -20 "$DIR/apt.log" >&2; die "apt-get install ${missing[*]} failed"; }
}

port_open() { (echo >"/dev/tcp/$1/$2") 2>/dev/null; }

# A loopback address on which none of Samba's fixed ports is taken.
free_address() {
  local n addr
  for n in $(seq 1 60); do
    addr="127.0.0.$n"
    grep -qx "$addr" "$DIR/addresses" 2>/dev/null && continue
    if ! port_open "$addr" 389 && ! port_open "$addr" 636 && ! port_open "$addr" 3268 && ! port_open "$addr" 3269; then
      echo "$addr" >>"$DIR/addresses"
      echo "$addr"
      return 0
    fi
  done
  return 1
}

make_ca() {
  local t="$DIR/tls"
  mkdir -p "$t"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=dupfix test CA" \
    -keyout "$t/ca.key" -out "$t/ca.pem" >/dev/null 2>&1 || die "openssl could not make the test CA"
}

# A server certificate for one address, signed by the test CA (so tests can verify it for real).
make_cert() {
  local name=$1 addr=$2 t="$DIR/tls"
  printf 'subjectAltName=IP:%s,DNS:localhost,DNS:dc1.example.test\nextendedKeyUsage=serverAuth\n' "$addr" >"$t/$name.ext"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$addr" -keyout "$t/$name.key" -out "$t/$name.csr" >/dev/null 2>&1
  openssl x509 -req -in "$t/$name.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial -days 2 \
    -extfile "$t/$name.ext" -out "$t/$name.pem" >/dev/null 2>&1 || die "openssl could not sign the $name certificate"
  chmod 600 "$t/$name.key"
}

write_conf() {
  local name=$1 addr=$2
  local d="$DIR/$name"
  mkdir -p "$d/run" "$d/log" "$d/etc"
  cat >"$d/etc/smb.conf" <<CONF
[global]
	netbios name = DC1
	workgroup = $DOMAIN
	realm = $REALM
	server role = active directory domain controller
	private dir = $d/private
	lock directory = $d
	state directory = $d/state
	cache directory = $d/cache
	binddns dir = $d/bind-dns
	pid directory = $d/run
	ncalrpc dir = $d/run/ncalrpc
	log file = $d/log/log.%m
	interfaces = $addr/8
	bind interfaces only = yes
	server services = ldap
	ldap server require strong auth = no
	dsdb:schema update allowed = true
	tls enabled = yes
	tls keyfile = $DIR/tls/$name.key
	tls certfile = $DIR/tls/$name.pem
	tls cafile = $DIR/tls/ca.pem
CONF
}

start_server() {
  local name=$1 addr=$2 pid i
  local d="$DIR/$name"
  samba -s "$d/etc/smb.conf" -i -M single --maximum-runtime=7200 </dev/null >"$d/samba.out" 2>&1 &
  pid=$!
  echo "$pid" >"$d/samba.pid"
  for i in $(seq 1 200); do
    port_open "$addr" 389 && port_open "$addr" 3268 && port_open "$addr" 636 && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$d/samba.out" >&2; die "samba ($name) exited during start-up"; }
    sleep 0.2
  done
  cat "$d/samba.out" >&2
  die "samba ($name) did not open $addr:389/636/3268 within 40 s"
}

# mailNickname, targetAddress and msExchRecipientTypeDetails as the Exchange schema extension
# defines them (same OIDs), on
# mailRecipient (the auxiliary class of user, contact and group), and proxyAddresses in the Global
# Catalog as Exchange puts it there. Written offline, through Samba's own module stack (Debian's
# python3-samba), before the server starts.
extend_schema() {
  local d="$DIR/$1"
  /usr/bin/python3 - "$d/private/sam.ldb" "$d/etc/smb.conf" "$BASE" <<'PY' >"$d/schema.log" 2>&1 \
    || { cat "$d/schema.log" >&2; die "extending the schema failed"; }
import sys

import ldb
from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB

url, conf, base = sys.argv[1:4]
lp = LoadParm()
lp.load(conf)
db = SamDB(url=url, session_info=system_session(), lp=lp)
schema = "CN=Schema,CN=Configuration," + base
for cn, name, oid, upper in (
    ("ms-Exch-Mail-Nickname", "mailNickname", "1.2.840.113556.1.2.447", "64"),
    ("ms-Exch-Target-Address", "targetAddress", "1.2.840.113556.1.2.352", "1123"),
):
    db.add({
        "dn": f"CN={cn},{schema}", "objectClass": "attributeSchema", "lDAPDisplayName": name,
        "attributeID": oid, "attributeSyntax": "2.5.5.12", "oMSyntax": "64", "isSingleValued": "TRUE",
        "rangeLower": "1", "rangeUpper": upper, "searchFlags": "1", "isMemberOfPartialAttributeSet": "TRUE",
    })
# msExchRecipientTypeDetails (a LargeInteger), for IdFix's skips of Exchange system recipients.
db.add({
    "dn": f"CN=ms-Exch-Recipient-Type-Details,{schema}", "objectClass": "attributeSchema",
    "lDAPDisplayName": "msExchRecipientTypeDetails", "attributeID": "1.2.840.113556.1.4.7000.102.50855",
    "attributeSyntax": "2.5.5.16", "oMSyntax": "65", "isSingleValued": "TRUE", "searchFlags": "1",
    "isMemberOfPartialAttributeSet": "TRUE",
})
m = ldb.Message(ldb.Dn(db, ""))
m["schemaUpdateNow"] = ldb.MessageElement("1", ldb.FLAG_MOD_REPLACE, "schemaUpdateNow")
db.modify(m)
m = ldb.Message(ldb.Dn(db, f"CN=Mail-Recipient,{schema}"))
m["mayContain"] = ldb.MessageElement(
    ["mailNickname", "targetAddress", "msExchRecipientTypeDetails"], ldb.FLAG_MOD_ADD, "mayContain"
)
db.modify(m)
# Exchange also puts proxyAddresses into the Global Catalog's partial attribute set.
m = ldb.Message(ldb.Dn(db, f"CN=Proxy-Addresses,{schema}"))
m["isMemberOfPartialAttributeSet"] = ldb.MessageElement("TRUE", ldb.FLAG_MOD_REPLACE, "isMemberOfPartialAttributeSet")
db.modify(m)
PY
}

cmd_start() {
  [ "$(id -u)" -eq 0 ] || die "needs root (Samba's port 389 and its provision both do)"
  mkdir -p "$DIR"
  install_packages
  local t0=$SECONDS
  stop_one "$DIR/plain/samba.pid"   # a start over a running pair replaces it
  stop_one "$DIR/exchange/samba.pid"
  rm -rf "$DIR/template" "$DIR/plain" "$DIR/exchange" "$DIR/env" "$DIR/addresses"
  samba-tool domain provision --realm="$REALM" --domain="$DOMAIN" --host-name=DC1 --server-role=dc \
    --dns-backend=NONE --adminpass="$ADMIN_PASSWORD" --targetdir="$DIR/template" >"$DIR/provision.log" 2>&1 \
    || { tail -30 "$DIR/provision.log" >&2; die "samba-tool domain provision failed"; }
  cp -a "$DIR/template" "$DIR/plain"
  mv "$DIR/template" "$DIR/exchange"
  make_ca
  local plain_addr exchange_addr
  exec 9>"$LOCK"
  flock 9
  plain_addr=$(free_address) || die "no free loopback address for Samba's ports"
  exchange_addr=$(free_address) || die "no free loopback address for Samba's ports"
  make_cert plain "$plain_addr"
  make_cert exchange "$exchange_addr"
  write_conf plain "$plain_addr"
  write_conf exchange "$exchange_addr"
  extend_schema exchange
  start_server plain "$plain_addr"
  start_server exchange "$exchange_addr"
  flock -u 9
  cat >"$DIR/env" <<ENV
export DUPFIX_TEST_LDAP_URL='ldap://$plain_addr:389/$BASE'
export DUPFIX_TEST_LDAP_EXCHANGE_URL='ldap://$exchange_addr:389/$BASE'
export DUPFIX_TEST_LDAP_BASE='$BASE'
export DUPFIX_TEST_LDAP_USER='Administrator@$REALM'
export DUPFIX_TEST_LDAP_PASSWORD='$ADMIN_PASSWORD'
export DUPFIX_TEST_LDAP_CA_FILE='$DIR/tls/ca.pem'
export DUPFIX_TEST_SAMBA_DIR='$DIR'
ENV
  say "ready in $((SECONDS - t0)) s: plain $plain_addr, exchange schema $exchange_addr (env: $DIR/env)"
}

stop_one() {
  local f=$1 pid i
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$f"
}

cmd_stop() {
  [ -d "$DIR" ] || return 0
  stop_one "$DIR/plain/samba.pid"
  stop_one "$DIR/exchange/samba.pid"
  case "$DIR" in /tmp/*) rm -rf "$DIR" ;; *) say "left $DIR in place (not under /tmp)" ;; esac
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  *) echo "usage: $0 start|stop   (directory: \$DUPFIX_SAMBA_DIR, default /tmp/dupfix-samba)" >&2; exit 2 ;;
esac
