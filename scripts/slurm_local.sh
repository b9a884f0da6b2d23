#!/usr/bin/env bash
# A real one-node Slurm cluster on this machine, for tests and for trying `executor: {kind: slurm}`.
#
#   scripts/slurm_local.sh start DIR   # writes DIR/slurm.conf + a munge key, starts munged, slurmctld, slurmd
#   export SLURM_CONF=DIR/slurm.conf   # then sinfo / sbatch / squeue / `curate run` talk to it
#   scripts/slurm_local.sh stop DIR    # stops the daemons it started (by the pids in DIR), leaves DIR
#
# Everything lives in DIR (config, spool, state, logs) and a /tmp/rootstock-munge.* folder (munge key,
# socket, log; removed by stop): nothing in /etc is touched, and the daemons bind 127.0.0.1 only (CommunicationParameters=NoInAddrAny,NoCtldInAddrAny). One node,
# `localhost`, with this machine's CPUs; proctrack/linuxproc and task/none (no cgroups needed); no
# accounting. Needs root (slurmd runs jobs as their user) and Debian's `slurmctld slurmd slurm-client
# munge` packages. Ports: free ones are picked (SLURM_LOCAL_PORT sets the first of the two).
set -euo pipefail

cmd="${1:-}"
dir="${2:-}"
if [[ -z "$cmd" || -z "$dir" ]]; then
  echo "usage: $0 start|stop DIR" >&2
  exit 2
fi

stop() {
  local name pid
  for name in slurmd slurmctld munged; do
    [[ -f "$dir/$name.pid" ]] || continue
    pid="$(cat "$dir/$name.pid")"
    if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/$name.pid"
  done
  if [[ -f "$dir/munge_dir" ]]; then
    local mdir
    mdir="$(cat "$dir/munge_dir")"
    [[ "$mdir" == /tmp/rootstock-munge.* && -d "$mdir" ]] && rm -rf -- "$mdir"
    rm -f "$dir/munge_dir"
  fi
}

free_port() {  # a free TCP port on 127.0.0.1 (and the next one free too)
  python3 - "$@" <<'EOF'
import socket
for _ in range(100):
    with socket.socket() as a, socket.socket() as b:
        a.bind(("127.0.0.1", 0))
        p = a.getsockname()[1]
        try:
            b.bind(("127.0.0.1", p + 1))
        except OSError:
            continue
        print(p)
        break
EOF
}

start() {
  local missing=()
  for bin in munged slurmctld slurmd sinfo; do
    command -v "$bin" >/dev/null || missing+=("$bin")
  done
  if (( ${#missing[@]} )); then
    echo "not installed: ${missing[*]} (apt-get install slurmctld slurmd slurm-client munge)" >&2
    exit 3
  fi
  if [[ "$(id -u)" != 0 ]]; then
    echo "slurmd must run as root" >&2
    exit 3
  fi
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  stop  # a previous start in the same DIR
  mkdir -p "$dir/spool" "$dir/state" "$dir/log"
  # munged runs as the munge user, who may not be able to enter DIR (pytest's tmp is 0700 root):
  # its key, socket and log live in a folder of its own, removed by `stop`
  local mdir
  mdir="$(mktemp -d /tmp/rootstock-munge.XXXXXX)"
  echo "$mdir" >"$dir/munge_dir"
  chown munge:munge "$mdir"
  chmod 0700 "$mdir"
  # a fresh key per cluster: 1 KiB of randomness, readable by munge only
  dd if=/dev/urandom bs=1 count=1024 status=none | install -m 0400 -o munge -g munge /dev/stdin "$mdir/munge.key"
  local sock="$mdir/munge.socket"
  runuser -u munge -- munged --force --key-file="$mdir/munge.key" --socket="$sock" \
    --pid-file="$mdir/munged.pid" --log-file="$mdir/munged.log" --seed-file="$mdir/seed"
  for _ in $(seq 50); do [[ -S "$sock" && -s "$mdir/munged.pid" ]] && break; sleep 0.1; done
  cp "$mdir/munged.pid" "$dir/munged.pid"

  local port="${SLURM_LOCAL_PORT:-$(free_port)}"
  local cpus mem_mb user
  cpus="$(nproc)"
  mem_mb="$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)"
  user="$(id -un)"
  cat >"$dir/slurm.conf" <<EOF
# written by scripts/slurm_local.sh: a one-node test cluster on 127.0.0.1
ClusterName=rootstock-local
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=$user
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
MinJobAge=600
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF="$dir/slurm.conf"
  # foreground daemons (-D) in the background: their pids are the ones `stop` kills
  setsid slurmctld -D -i -f "$SLURM_CONF" >"$dir/log/slurmctld.out" 2>&1 &
  echo $! >"$dir/slurmctld.pid"
  setsid slurmd -D -N localhost -f "$SLURM_CONF" >"$dir/log/slurmd.out" 2>&1 &
  echo $! >"$dir/slurmd.pid"
  for _ in $(seq 100); do
    if sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
      echo "export SLURM_CONF=$SLURM_CONF"
      return 0
    fi
    sleep 0.2
  done
  echo "slurm did not come up in 20 s; logs: $dir/log/" >&2
  tail -n 5 "$dir/log/"*.log "$mdir/munged.log" >&2 2>/dev/null || true
  stop
  exit 1
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
