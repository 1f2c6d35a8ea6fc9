#!/bin/sh
# sftp.sh: contrib/sftp-chroot.example with a real sshd and sftp client.
#
# A root-owned tree under /run (sshd checks every directory above a
# chroot and above an authorized keys file, and /tmp is world-writable)
# holds the spool, two partners' chroots with their spool directories
# bind-mounted in, one authorized keys file per partner and an sshd_config
# whose Match block is the recipe's own. sshd listens on a loopback port.
# Partner A uploads with sftp -b, one file with mode 0600; spoold, run as
# an unprivileged user with CAP_DAC_READ_SEARCH as the recipe says,
# accepts it as A's. A's key does not log in as B, A cannot write into
# B's directory, and A fetches spoold's answer from /outgoing.
#
# Needs root (users, bind mounts, sshd) and openssh-server; skips (77)
# without them.
. "$(dirname "$0")/lib.sh"

SSHD=/usr/sbin/sshd
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: sftp.sh needs root (users, bind mounts, sshd)"
	exit 77
fi
for p in "$SSHD" /usr/bin/sftp /usr/bin/ssh-keygen; do
	[ -x "$p" ] || {
		echo "SKIP: no $p: install openssh-server and openssh-client" \
		    "(contrib/scripts/install-deps)"
		exit 77
	}
done
for p in setpriv useradd userdel groupadd groupdel mount umount; do
	command -v "$p" >/dev/null || fail "no $p"
done

# The test's users and group; the partner names are the login names.
A=sfa$$
B=sfb$$
SU=sfd$$
G=sfg$$
R=
SSHD_PID=
MOUNTS=
MADE_RUN_SSHD=

sftp_cleanup() {
	if [ -n "$SSHD_PID" ]; then
		kill -TERM "$SSHD_PID" 2>/dev/null
		wait "$SSHD_PID" 2>/dev/null
	fi
	for m in $MOUNTS; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	for u in "$A" "$B" "$SU"; do
		id "$u" >/dev/null 2>&1 && userdel "$u" 2>/dev/null
	done
	for g in "$A" "$B" "$SU" "$G"; do
		getent group "$g" >/dev/null && groupdel "$g" 2>/dev/null
	done
	[ -z "$MADE_RUN_SSHD" ] || rmdir /run/sshd 2>/dev/null
	# Nothing is mounted below $R any more; never leave the tree if
	# something still is.
	if [ -n "$R" ] && ! findmnt -rn -o TARGET | grep -q "^$R/"; then
		rm -rf --one-file-system "$R"
	fi
	cleanup
}
trap sftp_cleanup EXIT

# wait_for FILE SECONDS 'CONDITION': re-check as FILE changes.
wait_for() {
	end=$(($(date +%s) + $2))
	while ! eval "$3"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		inotifywait -qq -t 1 -e modify,close_write "$1" \
		    2>/dev/null || true
	done
}

# as_spoold [CAPS] CMD...: run CMD as the unprivileged spoold user, with
# CAP_DAC_READ_SEARCH when CAPS is "cap".
as_spoold() {
	if [ "$1" = cap ]; then
		shift
		setpriv --reuid="$SU" --regid="$SU" --init-groups \
		    --inh-caps=+dac_read_search \
		    --ambient-caps=+dac_read_search "$@"
	else
		setpriv --reuid="$SU" --regid="$SU" --init-groups "$@"
	fi
}

groupadd "$G"
useradd -U -G "$G" -M -d / -s /usr/sbin/nologin -p '*' "$A"
useradd -U -G "$G" -M -d / -s /usr/sbin/nologin -p '*' "$B"
useradd -r -U -M -d / -s /usr/sbin/nologin "$SU"

R=$(mktemp -d /run/spoold-sftp.XXXXXX)
chmod 0755 "$R"

# The spool, spoold's, created by spoold itself.
install -d -o "$SU" -g "$SU" -m 0750 "$R/spool"
cat >"$T/spoold.conf" <<CONF
[spool]
directory = $R/spool
schemas = $top_srcdir/schemas
[processing]
settle_time = 0s
[route PurchaseOrderCreate]
handler = orders
auto_ack = yes
[route InventoryMovement]
handler = ledger
[route CapCheck]
handler = exec
command = $R/caps.sh
[log]
level = debug
CONF
chmod 0644 "$T/spoold.conf"
chmod 0755 "$T"
as_spoold $SPOOLD -c "$T/spoold.conf" --init >>"$T/log" 2>&1 ||
    fail "spoold --init as $SU"

# The recipe, steps 1 to 4, with $R for / and the test's names.
install -d -m 0755 "$R/etc" "$R/keys" "$R/sftp" "$R/client"
for p in "$A" "$B"; do
	ssh-keygen -q -t ed25519 -N '' -C "$p" -f "$R/client/$p"
	install -m 0644 "$R/client/$p.pub" "$R/keys/$p"
	install -d -m 0755 "$R/sftp/$p" "$R/sftp/$p/incoming" \
	    "$R/sftp/$p/outgoing"
	install -d -o "$SU" -g "$p" -m 0770 "$R/spool/incoming/$p"
	install -d -o "$SU" -g "$p" -m 2770 "$R/spool/outgoing/$p"
	for d in incoming outgoing; do
		mount --bind "$R/spool/$d/$p" "$R/sftp/$p/$d" ||
		    fail "bind mounts do not work here (mount --bind)"
		MOUNTS="$R/sftp/$p/$d $MOUNTS"
	done
done
ssh-keygen -q -t ed25519 -N '' -f "$R/etc/host_key"

# sshd_config: a loopback port, the temp tree, then the recipe's Match
# block as it stands.
recipe="$top_srcdir/contrib/sftp-chroot.example"
sed -n '/^Match Group edi-partners/,$p' "$recipe" |
    grep -v '^[[:space:]]*#' |
    sed -e "s|/etc/ssh/authorized_keys/|$R/keys/|" \
	-e "s|/srv/sftp/|$R/sftp/|" -e "s|edi-partners|$G|" >"$R/match"
for k in "AuthorizedKeysFile $R/keys/%u" "ChrootDirectory $R/sftp/%u" \
    "ForceCommand internal-sftp"; do
	grep -q "^[[:space:]]*$k" "$R/match" || fail "recipe lacks: $k"
done
[ ! -e /run/sshd ] && MADE_RUN_SSHD=1
mkdir -p /run/sshd
chmod 0755 /run/sshd

start_sshd() {
	cat >"$R/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $1
HostKey $R/etc/host_key
PidFile $R/sshd.pid
UsePAM no
AuthorizedKeysFile none
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AllowGroups $G
StrictModes yes
LogLevel VERBOSE
Subsystem sftp internal-sftp
$(cat "$R/match")
CONF
	"$SSHD" -t -f "$R/sshd_config" >"$T/out" 2>&1 ||
	    { cat "$T/out" >&2; fail "sshd -t refuses the config"; }
	: >"$T/sshd.log"
	"$SSHD" -D -f "$R/sshd_config" -e >>"$T/sshd.log" 2>&1 &
	SSHD_PID=$!
	wait_for "$T/sshd.log" 20 'grep -q "Server listening" "$T/sshd.log" ||
	    ! kill -0 $SSHD_PID 2>/dev/null'
	grep -q "Server listening" "$T/sshd.log" && return 0
	kill -TERM "$SSHD_PID" 2>/dev/null
	wait "$SSHD_PID" 2>/dev/null
	SSHD_PID=
	grep -q "Address already in use" "$T/sshd.log" && return 1
	cat "$T/sshd.log" >&2
	fail "sshd did not start"
}
tries=0
until start_sshd "$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))"; do
	tries=$((tries + 1))
	[ "$tries" -lt 10 ] || fail "no free port for sshd"
done
PORT=$(sed -n 's/.*Server listening on 127.0.0.1 port \([0-9]*\).*/\1/p' \
    "$T/sshd.log" | head -n 1)
ok "sshd accepts the recipe's Match block and layout (port $PORT)"

# sftp_as KEY USER: run the sftp commands on stdin as USER with KEY;
# output in $T/out, the exit status returned.
sftp_as() {
	cat >"$T/batch"
	set +e
	# A connection reset before the key exchange (sshd or the machine
	# under load) says nothing about the recipe: try again, 3 times.
	for try in 1 2 3; do
		sftp -F /dev/null -b "$T/batch" -i "$R/client/$1" -P "$PORT" \
		    -o StrictHostKeyChecking=no \
		    -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes \
		    -o BatchMode=yes -o ConnectTimeout=20 \
		    "$2@127.0.0.1" >"$T/out" 2>&1
		rc=$?
		grep -q 'kex_exchange_identification' "$T/out" || break
		sleep 1
	done
	set -e
	return $rc
}

# message PARTNER TYPE TX BODY: a native message from PARTNER.
message() {
	cat <<XML
<?xml version="1.0" encoding="UTF-8"?>
<$2>
  <Header>
    <Sender>$1</Sender>
    <TransactionId>$3</TransactionId>
    <SenderSequence>1</SenderSequence>
    <ReceiverSequence>0</ReceiverSequence>
  </Header>
  <Body>$4</Body>
</$2>
XML
}
mkdir -p "$T/up"
message "$A" PurchaseOrderCreate PO-1 '<OrderNumber>4711</OrderNumber>
    <Line number="1"><Item>SKU-1</Item><Quantity>3</Quantity></Line>' \
    >"$T/up/po.xml"
message "$A" InventoryMovement MV-1 '<Item>SKU-1</Item>
    <Warehouse>W1</Warehouse><Quantity>5</Quantity>' >"$T/up/mv.xml"
message "$B" InventoryMovement MV-1 '<Item>SKU-1</Item>
    <Warehouse>W1</Warehouse><Quantity>5</Quantity>' >"$T/up/spoof.xml"
message "$B" InventoryMovement MV-2 '<Item>SKU-2</Item>
    <Warehouse>W1</Warehouse><Quantity>7</Quantity>' >"$T/up/b.xml"
message "$A" CapCheck CAP-1 '<Check/>' >"$T/up/cap.xml"
chmod 0600 "$T/up/po.xml"
chmod 0644 "$T/up/mv.xml" "$T/up/spoof.xml" "$T/up/b.xml" "$T/up/cap.xml"
# The exec program notes the capabilities it runs with: spoold keeps
# CAP_DAC_READ_SEARCH for itself, its children must not inherit it.
cat >"$R/caps.sh" <<'SH'
#!/bin/sh
cat >/dev/null
grep -E '^Cap(Eff|Amb):' /proc/self/status >"${0%/*}/caps.out"
SH
chmod 0755 "$R/caps.sh"
install -o "$SU" -g "$SU" -m 0644 /dev/null "$R/caps.out"

# A uploads: the order with mode 0600 under a dot-name, renamed when
# done; a movement in place; a movement that claims to come from B.
sftp_as "$A" "$A" <<EOF || { cat "$T/out" >&2; fail "A's upload"; }
pwd
put -p $T/up/po.xml .po.xml
rename .po.xml po.xml
put $T/up/mv.xml mv.xml
put $T/up/spoof.xml spoof.xml
put $T/up/cap.xml cap.xml
EOF
grep -q 'Remote working directory: /incoming' "$T/out" ||
    { cat "$T/out" >&2; fail "A does not start in /incoming"; }
in_a="$R/spool/incoming/$A"
[ "$(stat -c '%a %U' "$in_a/po.xml")" = "600 $A" ] ||
    fail "po.xml is $(stat -c '%a %U' "$in_a/po.xml"), want 600 $A"
ok "A logs in with its key and uploads, po.xml with mode 0600"

# B with its own key: in; with A's key: not, and not A with B's key.
sftp_as "$B" "$B" <<EOF || { cat "$T/out" >&2; fail "B's upload"; }
put $T/up/b.xml b.xml
EOF
sftp_as "$A" "$B" <<EOF && fail "A's key logs in as B"
put $T/up/mv.xml a-as-b.xml
EOF
grep -q 'Permission denied' "$T/out" ||
    { cat "$T/out" >&2; fail "A's key as B: not refused by sshd"; }
sftp_as "$B" "$A" <<EOF && fail "B's key logs in as A"
ls
EOF
ok "each partner's key logs in as that partner only"

# A cannot write into B's directory: it cannot see it, cannot write in
# its chroot's root, and the spool's modes keep it out as well.
sftp_as "$A" "$A" <<EOF || { cat "$T/out" >&2; fail "A's ls"; }
ls -1 /
ls -1 /incoming/..
EOF
! grep -q "$B" "$T/out" || { cat "$T/out" >&2; fail "A sees B"; }
for target in "/x.xml" "/../$B/incoming/x.xml" "../../$B/incoming/x.xml" \
    "/incoming/../../$B/incoming/x.xml" "$R/spool/incoming/$B/x.xml"; do
	sftp_as "$A" "$A" <<EOF && fail "A wrote $target"
put $T/up/mv.xml $target
EOF
done
setpriv --reuid="$A" --regid="$A" --init-groups \
    sh -c "echo x >'$R/spool/incoming/$B/x.xml'" 2>/dev/null &&
    fail "A's uid can write into incoming/$B/ of the spool"
[ "$(ls -A "$R/spool/incoming/$B")" = b.xml ] ||
    fail "incoming/$B holds: $(ls -A "$R/spool/incoming/$B")"
ok "A cannot write into B's directory, nor outside its incoming/"

# spoold's user cannot read the 0600 upload without the capability; with
# CAP_DAC_READ_SEARCH it can.
as_spoold cat "$in_a/po.xml" >/dev/null 2>&1 &&
    fail "$SU reads the 0600 upload without CAP_DAC_READ_SEARCH"
as_spoold cap cat "$in_a/po.xml" >/dev/null ||
    fail "$SU cannot read the 0600 upload with CAP_DAC_READ_SEARCH"
ok "the 0600 upload: unreadable to spoold's user, readable with the capability"

# spoold, unprivileged, with the capability: everything accepted as the
# partner whose directory it came from, the spoofed one rejected.
as_spoold cap $SPOOLD -c "$T/spoold.conf" --once >>"$T/log" 2>&1 ||
    fail "spoold --once exited $?"
q() {
	sqlite3 "$R/spool/spool.db" "$1"
}
for f in po.xml mv.xml; do
	[ "$(q "SELECT partner || ' ' || state FROM messages WHERE \
	    orig_name = '$f'")" = "$A done" ] ||
	    fail "$f: $(q "SELECT partner, state, reason FROM messages \
		WHERE orig_name = '$f'")"
done
[ "$(q "SELECT partner || ' ' || state FROM messages WHERE \
    orig_name = 'b.xml'")" = "$B done" ] || fail "b.xml is not B's, done"
[ "$(q "SELECT state FROM messages WHERE orig_name = 'spoof.xml'")" = \
    rejected ] || fail "spoof.xml (A's upload, Sender $B) not rejected"
[ -z "$(ls -A "$in_a")" ] || fail "left in incoming/$A: $(ls -A "$in_a")"
ls "$R/spool/done/" | grep -q "^$A,PO-1,1,PurchaseOrderCreate," ||
    fail "po.xml not in done/"
[ "$(q "SELECT state FROM messages WHERE orig_name = 'cap.xml'")" = \
    done ] || fail "cap.xml not done"
grep -q '^CapEff:[[:space:]]*0*$' "$R/caps.out" &&
    grep -q '^CapAmb:[[:space:]]*0*$' "$R/caps.out" ||
    fail "an exec program inherits capabilities: $(cat "$R/caps.out")"
ok "spoold with CAP_DAC_READ_SEARCH, unprivileged: A's files done as A's"
ok "its exec programs run without the capability"

# A fetches spoold's Ack from /outgoing and removes it.
ack=$(ls "$R/spool/outgoing/$A")
[ -n "$ack" ] || fail "no Ack in outgoing/$A"
sftp_as "$A" "$A" <<EOF || { cat "$T/out" >&2; fail "A's get"; }
get /outgoing/$ack $T/ack.xml
rm /outgoing/$ack
EOF
grep -q '<PurchaseOrderAck' "$T/ack.xml" || fail "A did not get the Ack"
[ -z "$(ls -A "$R/spool/outgoing/$A")" ] || fail "the Ack is still there"
ok "A fetches and removes spoold's answer in /outgoing"
